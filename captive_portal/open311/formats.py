"""Open311 GeoReport v2 wire formats: JSON (top-level arrays) and XML, and the error shape.

The spec requires XML and makes JSON optional; both are served from the same Python values.
Errors are ``[{code, description}]`` (``<errors><error>...`` in XML) where ``code`` is the HTTP
status: 400 for bad input, 403 for a bad api_key, 404 for something that does not exist.

Text is stored as the citizen typed it and the JSON carries it exactly. XML 1.0 cannot carry
every character (C0 controls other than tab and newline, lone surrogates, U+FFFE and U+FFFF,
not even as a character reference), so the XML leaves those out, and writes a carriage return
as ``&#13;`` (a parser would read a raw one as a newline): one odd description never makes
the feed unreadable for every consumer.
"""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree as ET

from flask import Response

FORMATS = ("json", "xml")
_MIME = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
#: What XML 1.0 forbids in a document (its production ``Char``), carriage return aside.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


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
            element.text = xml_text(",".join(str(v) for v in value))
            return
        for inner in value:
            _xml_value(element, item_tag, inner)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = xml_text(str(value))


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry."""
    return _NOT_XML.sub("", text)


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
        # Only text holds a carriage return (tags are ours): escape it so it reads back as one.
        body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
            top, encoding="utf-8", xml_declaration=False).replace(b"\r", b"&#13;")
    else:
        # A lone surrogate has no UTF-8: JSON writes it as its escape (what a client sent).
        body = json.dumps(value, ensure_ascii=False).encode("utf-8", "backslashreplace")
    return Response(body, status=status, mimetype=None, content_type=_MIME[fmt])


def render_error(error: Open311Error, fmt: str) -> Response:
    return render([{"code": error.status, "description": error.description}], fmt,
                  root="errors", item="error", status=error.status)


__all__ = ["FORMATS", "Open311Error", "render", "render_error", "xml_text"]
