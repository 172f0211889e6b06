"""The HTTP API fuzzed from its own OpenAPI document (schemathesis): whatever the generated
input, no 500, and every error in the {"error", "detail"} shape."""

from __future__ import annotations

import tempfile
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from live.app import create_app
from live.config import Settings
from tests.conftest import ADMIN_TOKEN

APP = create_app(
    Settings(admin_token=ADMIN_TOKEN, secret_key="openapi", upload_dir=tempfile.mkdtemp())
)
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)


def test_the_document_lists_the_api() -> None:
    from starlette.testclient import TestClient

    with TestClient(APP) as client:
        doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.") and "/api/shows/{id}/orders" in doc["paths"]
    assert set(doc["paths"]["/api/shows/{id}/orders"]) == {"get", "post"}
    assert doc["components"]["schemas"]["OrderBody"]["additionalProperties"] is False
    assert set(doc["paths"]["/api/shows/{id}/lineup"]) == {"put"}
    assert set(doc["paths"]["/api/shows/{id}/toasts"]) == {"post"}
    status = doc["components"]["schemas"]["StatusBody"]["properties"]
    assert status["unpaid"]["type"] == "boolean"
    assert "archived" in doc["components"]["schemas"]["ProductPatch"]["properties"]
    query = doc["paths"]["/api/products"]["get"]["parameters"]
    assert [p["name"] for p in query] == ["archived"]


@SCHEMA.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_a_500_and_errors_keep_their_shape(case: Any) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    response = case.call(headers=headers)
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("error"), str), response.text[:300]
        assert isinstance(body.get("detail"), str) and body["detail"]
