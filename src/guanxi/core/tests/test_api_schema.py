"""The OpenAPI description of the REST API: complete, valid, warning-free and served."""

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

PATHS = {
    "/api/auth/token/": {"post"},
    "/api/departments/": {"get", "post"},
    "/api/departments/{id}/": {"get", "put", "patch"},
    "/api/users/": {"get", "post"},
    "/api/users/{id}/": {"get", "put", "patch"},
    "/api/customers/": {"get", "post"},
    "/api/customers/{id}/": {"get", "patch", "delete"},
    "/api/customers/{id}/history/": {"get"},
    "/api/contacts/": {"get", "post"},
    "/api/contacts/{id}/": {"get", "patch", "delete"},
    # issue 3 and 4 contract endpoints
    "/api/customers/{id}/merge/": {"post"},
    "/api/shipments/": {"post"},
    "/api/payments/": {"post"},
    "/api/credit-limits/": {"post"},
    "/api/credit-limits/{id}/approve/": {"post"},
    "/api/customers/{id}/credit/": {"get"},
}


def test_schema_generation_is_valid_and_has_no_warnings(tmp_path):
    # --fail-on-warn turns every drf-spectacular warning or error into a failure.
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert schema["openapi"].startswith("3.")
    documented = {path: set(ops) - {"parameters"} for path, ops in schema["paths"].items()}
    missing = {path: ops - documented.get(path, set()) for path, ops in PATHS.items()}
    assert {path: ops for path, ops in missing.items() if ops} == {}
    customer = schema["components"]["schemas"]["Customer"]["properties"]
    assert {"id", "name", "credit_code", "contacts", "completeness", "tags", "co_owners"} <= set(
        customer
    )
    assert customer["completeness"]["allOf"] == [{"$ref": "#/components/schemas/Completeness"}]
    # ids in paths are documented as integers even though any text gets a structured 404
    detail = schema["paths"]["/api/customers/{id}/"]["get"]
    assert [
        (p["name"], p["schema"]["type"]) for p in detail["parameters"] if p["in"] == "path"
    ] == [("id", "integer")]
    errors = detail["responses"]["404"]["content"]["application/json"]["schema"]
    assert errors == {"$ref": "#/components/schemas/Error"}
    listing = schema["paths"]["/api/customers/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {
        "search",
        "customer_type",
        "region",
        "owner",
        "department",
        "tag",
        "sort",
        "ordering",
        "page",
        "page_size",
    }


@pytest.mark.django_db
def test_schema_and_docs_are_served():
    client = APIClient()
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert set(PATHS) <= set(response.json()["paths"])
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content
    assert b"/api/schema/" in response.content


def test_unknown_api_path_answers_the_json_error_shape(client):
    response = client.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "记录不存在或您无权访问。",
        "detail": {},
    }


def test_swagger_ui_assets_are_served_locally(client, django_user_model):
    user = django_user_model.objects.create_user(username="docs_reader", password="x")
    client.force_login(user)
    html = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
