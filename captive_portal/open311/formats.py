"""Open311 GeoReport v2 wire formats: JSON (top-level arrays) and XML, and the error shape.

The spec requires XML and makes JSON optional; both are served from the same Python values.
Errors are ``[{code, description}]`` (``<errors><error>...`` in XML) where ``code`` is the HTTP
status: 400 for bad input, 403 for a bad api_key, 404 for something that does not exist.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from flask import Response

FORMATS = ("json", "xml")
_MIME = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


class Open311Error(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


def _xml_value(parent: ET.Element, tag: str, value) -> None:
    element = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, inner in value.items():
            _xml_value(element, key, inner)
    elif isinstance(value, list):
        item_tag = {"keywords": "keyword", "formats": "format", "endpoints": "endpoint",
                    "attributes": "attribute", "values": "value"}.get(tag, "item")
        if tag == "keywords":
            element.text = ",".join(str(v) for v in value)
            return
        for inner in value:
            _xml_value(element, item_tag, inner)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)


def render(value, fmt: str, *, root: str, item: str | None = None, status: int = 200) -> Response:
    """``value`` (a list of records, or one dict) as JSON or as XML under ``root``/``item``."""
    if fmt == "xml":
        top = ET.Element(root)
        if isinstance(value, list):
            for record in value:
                _xml_value(top, item or "item", record)
        else:
            for key, inner in value.items():
                _xml_value(top, key, inner)
        body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
            top, encoding="utf-8", xml_declaration=False)
    else:
        body = json.dumps(value, ensure_ascii=False).encode("utf-8")
    return Response(body, status=status, mimetype=None, content_type=_MIME[fmt])


def render_error(error: Open311Error, fmt: str) -> Response:
    return render([{"code": error.status, "description": error.description}], fmt,
                  root="errors", item="error", status=error.status)


__all__ = ["FORMATS", "Open311Error", "render", "render_error"]
