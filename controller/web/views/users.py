"""User management (admins only): add users, change roles and passwords, sign users out, API
tokens (each with its expiry, revoked one by one or all at once).

A new API token is shown once, in the response to the request that made it; it is never flashed,
because flashed messages travel in the (signed, not encrypted) session cookie.
"""

from __future__ import annotations

import time

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from controller import auth
from controller.auth import ROLES, AuthError
from controller.web import context
from controller.web.context import SESSION_ID, page_role
from controller.web.formatting import role_name
from controller.web.refusals import refusal_text

bp = Blueprint("users", __name__, url_prefix="/users")


def _lifetimes() -> list[str]:
    """The lifetimes a new token may be given on this page; the first is admin.token_days."""
    default = f"{context.runtime().config.admin.token_days}d"
    return [default, *(x for x in ("30d", "90d", "365d", "never") if x != default)]


def _page(status: int = 200, **extra):
    store = context.store()
    tokens: dict[str, list[auth.Token]] = {}
    for token in auth.list_tokens(store):
        tokens.setdefault(token.username, []).append(token)
    return render_template("users.html", users=auth.list_users(store), roles=ROLES,
                           tokens=tokens, lifetimes=_lifetimes(), now=time.time(),
                           errors=extra.pop("errors", {}), **extra), status


def _actor() -> str:
    return context.actor(context.signed_in_user())


@bp.route("/")
@page_role("admin")
def index():
    return _page()


@bp.route("/new", methods=["POST"])
@page_role("admin")
def create():
    username = request.form.get("username", "")
    locale = request.form.get("locale", "") or None
    try:
        user = auth.create_user(context.store(), username, request.form.get("password", ""),
                                request.form.get("role", ""), _actor(), locale=locale)
    except AuthError as exc:
        return _page(422, errors={exc.field or "_form": refusal_text(exc)},
                     new_user={"username": username, "role": request.form.get("role", ""),
                               "locale": locale})
    flash(_("User %(user)s added as %(role)s.", user=user.username, role=role_name(user.role)))
    return redirect(url_for("users.index"))


@bp.route("/<username>/role", methods=["POST"])
@page_role("admin")
def role(username: str):
    current = context.signed_in_user()
    if username == current.username and request.form.get("role") != "admin":
        flash(_("You cannot lower your own role; ask another admin."), "error")
        return redirect(url_for("users.index"))
    try:
        auth.set_role(context.store(), username, request.form.get("role", ""), _actor())
    except AuthError as exc:
        flash(refusal_text(exc), "error")
        return redirect(url_for("users.index"))
    flash(_("%(user)s is now %(role)s.", user=username,
            role=role_name(request.form.get("role", ""))))
    return redirect(url_for("users.index"))


@bp.route("/<username>/locale", methods=["POST"])
@page_role("admin")
def language(username: str):
    """The language the admin UI speaks to ``username`` (empty: the browser's)."""
    try:
        auth.set_locale(context.store(), username, request.form.get("locale", "") or None,
                        _actor())
    except AuthError as exc:
        flash(refusal_text(exc), "error")
    else:
        flash(_("Language of %(user)s saved.", user=username))
    return redirect(url_for("users.index"))


@bp.route("/<username>/password", methods=["POST"])
@page_role("admin")
def password(username: str):
    """A new password signs the user out everywhere, but for the admin's own session here."""
    try:
        auth.set_password(context.store(), username, request.form.get("password", ""), _actor(),
                          keep_session=session.get(SESSION_ID))
    except AuthError as exc:
        flash(refusal_text(exc), "error")
    else:
        flash(_("Password of %(user)s changed; their other sessions are signed out.",
                user=username))
    return redirect(url_for("users.index"))


@bp.route("/<username>/sessions/end", methods=["POST"])
@page_role("admin")
def end_sessions(username: str):
    count = auth.end_sessions(context.store(), username, _actor(),
                              keep=session.get(SESSION_ID))
    flash(_("Signed %(user)s out of %(count)d session(s).", user=username, count=count))
    return redirect(url_for("users.index"))


@bp.route("/<username>/tokens", methods=["POST"])
@page_role("admin")
def create_token(username: str):
    try:
        lifetime = auth.parse_lifetime(request.form.get("expires_in", "") or _lifetimes()[0])
        token = auth.create_token(context.store(), username, request.form.get("name", ""),
                                  _actor(), lifetime)
    except AuthError as exc:
        return _page(422, errors={"token": refusal_text(exc)})
    return _page(new_token={"username": username, "token": token})


@bp.route("/<username>/tokens/<int:token_id>/revoke", methods=["POST"])
@page_role("admin")
def revoke_token(username: str, token_id: int):
    try:
        auth.revoke_token(context.store(), username, token_id, _actor())
    except AuthError as exc:
        flash(refusal_text(exc), "error")
    else:
        flash(_("Token %(id)d of %(user)s revoked.", id=token_id, user=username))
    return redirect(url_for("users.index"))


@bp.route("/<username>/tokens/revoke", methods=["POST"])
@page_role("admin")
def revoke_tokens(username: str):
    count = auth.revoke_tokens(context.store(), username, _actor())
    flash(_("Revoked %(count)d token(s) of %(user)s.", count=count, user=username))
    return redirect(url_for("users.index"))
