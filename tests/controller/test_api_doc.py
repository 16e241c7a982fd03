"""docs/api.md's OpenAPI block must describe exactly the routes the app serves."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.controller.web_harness import build_app

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def openapi() -> dict:
    block = re.search(r"```yaml\n(openapi: 3\.1.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert block, "docs/api.md has no OpenAPI 3.1 block"
    return yaml.safe_load(block.group(1))


def test_openapi_paths_match_the_api_routes(config, secrets, store):
    app = build_app(config, secrets)
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            served |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    spec = openapi()
    documented = {(path, method) for path, item in spec["paths"].items()
                  for method in item if method != "parameters"}
    assert documented == served


def test_openapi_references_resolve():
    spec = openapi()
    text = yaml.safe_dump(spec)
    for ref in set(re.findall(r"\$ref: '?#/([\w/]+)'?", text)):
        node = spec
        for part in ref.split("/"):
            node = node[part]
