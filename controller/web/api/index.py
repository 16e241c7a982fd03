"""What the API serves at its root: an index of its areas and its OpenAPI 3.1 document.

Both answer without a token: they describe the routes, never the data behind them, and a
newcomer (or a client generator) must be able to read them before having a token. The
document is ``openapi.yaml`` beside this module, the one source of the API's description:
docs/api.md links to it and tests/controller/test_api_doc.py checks it against the routes.
"""

from __future__ import annotations

import functools
from importlib import metadata, resources
from typing import Any

import yaml
from flask import Blueprint, jsonify, request

from controller.web.api.common import public

bp = Blueprint("index", __name__)

#: The OpenAPI document's file, package data of this package.
SPEC_FILE = "openapi.yaml"


@functools.cache
def spec() -> dict[str, Any]:
    """The OpenAPI document, parsed once per process."""
    text = resources.files(__package__).joinpath(SPEC_FILE).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _software_version() -> str:
    try:
        return metadata.version("oasis-edge")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def areas(base: str) -> list[dict[str, Any]]:
    """Each area (a path's first segment) with the URLs of its collections (GET paths without
    parameters) and what each returns, in the document's order."""
    found: dict[str, list[dict[str, str]]] = {}
    for path, item in spec()["paths"].items():
        name = path.strip("/").split("/")[0]
        if not name or name == "openapi.json":
            continue
        entries = found.setdefault(name, [])
        if "{" not in path and "get" in item:
            entries.append({"url": base + path, "summary": item["get"].get("summary", "")})
    return [{"name": name, "resources": entries} for name, entries in found.items()]


@bp.get("/")
@public
def index():
    base = request.host_url.rstrip("/") + "/api/v1"
    document = spec()
    return jsonify({
        "name": document["info"]["title"],
        "api_version": document["info"]["version"],
        "software_version": _software_version(),
        "openapi": base + "/openapi.json",
        "documentation": "docs/api.md",
        "authentication": "Authorization: Bearer <token> (`oasis token create USER --name "
                          "WHAT`); a signed-in admin page's cookie may GET",
        "areas": areas(base),
    })


@bp.get("/openapi.json")
@public
def openapi():
    return jsonify(spec())


__all__ = ["areas", "bp", "spec"]
