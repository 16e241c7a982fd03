"""Pages that need no login: terms of use and the health check."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("pages", __name__)


@bp.get("/terms")
def terms():
    return render_template("terms.html")


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


__all__ = ["bp"]
