from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def preflight(api, origin: str, path: str = "/api/v1/plans"):
    return api.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type",
    )


@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:5173", "https://localhost"])
def test_localhost_origins_on_any_port_are_allowed_by_default(api, origin):
    response = api.get("/api/v1/health", HTTP_ORIGIN=origin)
    assert response["Access-Control-Allow-Origin"] == origin
    assert response["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize(
    "origin", ["http://localhost.evil.com", "https://example.com", "http://127.0.0.2:80"]
)
def test_other_origins_are_refused_by_default(api, origin):
    response = api.get("/api/v1/health", HTTP_ORIGIN=origin)
    assert "Access-Control-Allow-Origin" not in response


def test_preflight_is_answered_without_a_token(api, api_token):
    response = preflight(api, "http://localhost:3000")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "POST" in response["Access-Control-Allow-Methods"]
    allowed = {header.strip() for header in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed


def test_401_carries_cors_headers(api, api_token):
    response = api.get("/api/v1/agents", HTTP_ORIGIN="http://localhost:3000")
    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == "http://localhost:3000"


def test_configured_list_overrides_the_default(api, settings):
    settings.CORS_ALLOWED_ORIGIN_REGEXES = []
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    assert api.get("/api/v1/health", HTTP_ORIGIN="https://app.example.com")[
        "Access-Control-Allow-Origin"
    ] == ("https://app.example.com")
    assert "Access-Control-Allow-Origin" not in api.get("/api/v1/health", HTTP_ORIGIN="http://localhost:3000")


def test_star_allows_every_origin(api, settings):
    settings.CORS_ALLOW_ALL_ORIGINS = True
    response = api.get("/api/v1/health", HTTP_ORIGIN="https://anywhere.example")
    assert response["Access-Control-Allow-Origin"] in ("*", "https://anywhere.example")
