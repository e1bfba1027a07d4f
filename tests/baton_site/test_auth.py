from __future__ import annotations

import pytest

from baton_site.auth import bearer_credential, token_matches

pytestmark = pytest.mark.django_db

UNAUTHORIZED = {"error": "unauthorized", "detail": "Valid Bearer token required."}


def test_without_a_token_configured_the_api_is_open(api, settings):
    settings.BATON_API_TOKEN = ""
    response = api.get("/api/v1/nowhere")
    assert response.status_code == 404  # reached routing: no credential check


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong",
        "Basic dGVzdA==",
        "Bearer  test-token-0123456789",
        "test-token-0123456789",
    ],
)
def test_missing_or_wrong_credentials_get_401_with_the_contract_body(api, api_token, header):
    kwargs = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = api.get("/api/v1/nowhere", **kwargs)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == UNAUTHORIZED


def test_valid_token_passes(api, api_token):
    response = api.get("/api/v1/nowhere", HTTP_AUTHORIZATION=f"Bearer {api_token}")
    assert response.status_code == 404
    response = api.get("/api/v1/nowhere", HTTP_AUTHORIZATION=f"bearer {api_token}")
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/ready", "/openapi.json", "/docs", "/redoc"])
def test_exempt_paths_need_no_token(api, api_token, path):
    assert api.get(path).status_code == 200


def test_mutating_requests_are_checked_too(api, api_token):
    response = api.post("/api/v1/plans", {"description": "x"}, format="json")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_admin_uses_session_login_not_the_token(api, api_token):
    response = api.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_token_helpers():
    assert bearer_credential("Bearer abc") == "abc"
    assert bearer_credential("BEARER abc") == "abc"
    assert bearer_credential("Token abc") is None
    assert bearer_credential(None) is None
    assert token_matches("abc", "abc")
    assert not token_matches("abd", "abc")
    assert not token_matches("", "abc")
    assert not token_matches(None, "abc")
