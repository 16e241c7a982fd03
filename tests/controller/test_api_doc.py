"""The OpenAPI document (controller/web/api/openapi.yaml) must describe exactly the routes the
app serves; the API serves it, and its index, without a token."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.controller.web_harness import bearer, build_app

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "controller" / "web" / "api" / "openapi.yaml"
DOC = ROOT / "docs" / "api.md"


def openapi() -> dict:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    assert spec["openapi"].startswith("3.1"), "controller/web/api/openapi.yaml is not OpenAPI 3.1"
    return spec


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


def test_docs_point_at_the_one_document():
    text = DOC.read_text(encoding="utf-8")
    assert "controller/web/api/openapi.yaml" in text
    assert "openapi: 3.1" not in text  # no second copy to drift from the served one


def test_the_api_serves_its_document_and_an_index_without_a_token(config, secrets, store):
    client = build_app(config, secrets).test_client()
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert served.get_json() == openapi()
    index = client.get("/api/v1/")
    assert index.status_code == 200
    body = index.get_json()
    assert body["api_version"] == openapi()["info"]["version"]
    assert body["openapi"] == "http://localhost/api/v1/openapi.json"
    areas = {area["name"]: area for area in body["areas"]}
    assert {"sites", "aps", "alerts", "kpi", "provisioning"} <= set(areas)
    assert "http://localhost/api/v1/sites" in [r["url"] for r in areas["sites"]["resources"]]
    # Every collection the index names answers a token (it is a real route, not a guess).
    headers = bearer(store, "ivy", "admin")
    for area in body["areas"]:
        for resource in area["resources"]:
            path = resource["url"].removeprefix("http://localhost")
            assert client.get(path, headers=headers).status_code == 200, path
    # The data behind them still needs a token.
    assert client.get("/api/v1/sites").status_code == 401
