"""Every REST API area is registered the same way: under /api/v1, behind the API's authentication,
exempt from CSRF, and its changes audited on the ``api`` channel."""

from __future__ import annotations

from core import audit
from tests.controller.web_harness import bearer, build_app, error_of


def test_every_api_route_is_a_child_of_the_api_and_needs_authentication(config, secrets):
    app = build_app(config, secrets)
    client = app.test_client()
    api_rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")]
    assert {rule.endpoint.split(".")[1] for rule in api_rules} >= {
        "sites", "aps", "monitoring", "provisioning", "branches"}
    public = {rule.rule for rule in api_rules
              if getattr(app.view_functions[rule.endpoint], "api_public", False)}
    assert public == {"/api/v1/", "/api/v1/openapi.json"}  # they describe routes, not data
    for rule in api_rules:
        assert rule.rule.startswith("/api/v1/") and rule.endpoint.startswith("api."), rule
        if "GET" in rule.methods and not rule.arguments and rule.rule not in public:
            response = client.get(rule.rule)
            assert response.status_code == 401, rule.rule
            assert error_of(response)["code"] == "unauthorized"


def test_branches_area_answers_a_token_like_the_others(config, secrets, store):
    client = build_app(config, secrets).test_client()
    headers = bearer(store, "bea", "viewer")
    assert client.get("/api/v1/branches", headers=headers).status_code == 200
    assert client.get("/api/v1/sites", headers=headers).status_code == 200


def test_api_changes_are_audited_on_the_api_channel(config, secrets, store):
    client = build_app(config, secrets).test_client()
    headers = bearer(store, "olga", "operator")
    response = client.post("/api/v1/sites", headers=headers,
                           json={"slug": "palm-park", "name_ar": "حديقة النخيل", "name_en": "Palm park",
                                 "kind": "park"})
    assert response.status_code == 201, response.get_json()
    assert [e["actor"] for e in audit.entries(store, action_prefix="site.create")] == ["api:olga"]
