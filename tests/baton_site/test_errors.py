from __future__ import annotations

import pytest
from rest_framework.exceptions import ValidationError

from baton_site.errors import validation_body

pytestmark = pytest.mark.django_db


def test_unknown_api_path_is_a_json_404(api):
    response = api.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_unknown_page_is_not_json(api):
    response = api.get("/no-such-page")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_wrong_method_is_405_json(api):
    response = api.post("/api/v1/health", {}, format="json")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}


@pytest.mark.urls("tests.baton_site.urls_failing")
def test_unexpected_exception_is_a_json_500_without_traceback(client, caplog):
    client.raise_request_exception = False
    response = client.get("/api/v1/explode")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    assert "secret-internal-state" not in response.content.decode()
    assert any(
        "secret-internal-state" in str(record.exc_info) for record in caplog.records if record.exc_info
    )


def test_validation_detail_becomes_loc_msg_type_items():
    detail = ValidationError(
        {"description": ["This field may not be blank."], "agents": {1: ["Not a valid string."]}}
    ).detail
    detail["description"][0].code = "blank"
    body = validation_body(detail)
    assert body == {
        "detail": [
            {
                "loc": ["body", "description"],
                "msg": "This field may not be blank.",
                "type": "string_too_short",
            },
            {"loc": ["body", "agents", 1], "msg": "Not a valid string.", "type": "invalid"},
        ]
    }
