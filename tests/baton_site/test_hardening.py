"""Request ids, idempotency keys, the audit log, metrics, and abuse limits."""

from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from baton_site.models import AuditEntry, IdempotencyRecord
from executions.models import Event
from plans.models import Plan
from tests.executions.plans import inline_plan, start

pytestmark = pytest.mark.django_db


def test_request_id_is_echoed_or_generated(api):
    echoed = api.get("/api/v1/health", HTTP_X_REQUEST_ID="abc-123")
    assert echoed["X-Request-ID"] == "abc-123"
    correlated = api.get("/api/v1/health", HTTP_X_CORRELATION_ID="corr-9")
    assert correlated["X-Request-ID"] == "corr-9"
    generated = api.get("/api/v1/health")
    assert len(generated["X-Request-ID"]) == 32
    hostile = api.get("/api/v1/health", HTTP_X_REQUEST_ID="bad id\twith spaces")
    assert hostile["X-Request-ID"] != "bad id\twith spaces"


def test_events_carry_the_request_id(api):
    response = api.post(
        "/api/v1/executions", {"plan": inline_plan([[{}]])}, format="json", HTTP_X_REQUEST_ID="req-42"
    )
    task_id = response.json()["execution"]["task_id"]
    assert set(Event.objects.filter(task_id=task_id).values_list("request_id", flat=True)) == {"req-42"}


def test_idempotent_retry_replays_the_stored_response(api, registry):
    body = {"description": "Add an audit trail to invoices"}
    first = api.post("/api/v1/plans", body, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    second = api.post("/api/v1/plans", body, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Plan.objects.count() == 1
    other = api.post("/api/v1/plans", body, format="json", HTTP_IDEMPOTENCY_KEY="key-2")
    assert other.json()["plan_id"] != first.json()["plan_id"]
    assert Plan.objects.count() == 2


def test_same_key_with_another_body_is_422(api, registry):
    api.post("/api/v1/plans", {"description": "One thing"}, format="json", HTTP_IDEMPOTENCY_KEY="key-x")
    response = api.post(
        "/api/v1/plans", {"description": "Another"}, format="json", HTTP_IDEMPOTENCY_KEY="key-x"
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert Plan.objects.count() == 1


def test_retry_while_the_first_runs_is_409(api):
    body = json.dumps({"plan": inline_plan([[{}]])}).encode()
    import hashlib

    IdempotencyRecord.objects.create(
        key="busy",
        scope="POST /api/v1/executions",
        body_hash=hashlib.sha256(body).hexdigest(),
        created_at=__import__("django.utils.timezone", fromlist=["now"]).now(),
    )
    response = api.generic(
        "POST", "/api/v1/executions", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="busy"
    )
    assert response.status_code == 409


def test_key_is_scoped_to_the_route(api):
    task_id = start(api, inline_plan([[{}, {}]]))["execution"]["task_id"]
    record = {"step_id": "0.0", "agent": "a", "status": "complete"}
    first = api.post(f"/api/v1/executions/{task_id}/record", record, format="json", HTTP_IDEMPOTENCY_KEY="k")
    cancel = api.delete(f"/api/v1/executions/{task_id}", HTTP_IDEMPOTENCY_KEY="k")
    assert first.status_code == 200
    assert cancel.status_code == 200
    assert cancel.json() == {"cancelled": True, "task_id": task_id}


def test_required_setting(api, settings):
    settings.BATON_IDEMPOTENCY_REQUIRED = True
    response = api.post("/api/v1/plans", {"description": "x"}, format="json")
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]
    assert api.get("/api/v1/health").status_code == 200


def test_failed_requests_are_not_stored_as_in_progress(api):
    response = api.post(
        "/api/v1/executions", {"plan_id": "task-none"}, format="json", HTTP_IDEMPOTENCY_KEY="k404"
    )
    assert response.status_code == 404
    again = api.post(
        "/api/v1/executions", {"plan_id": "task-none"}, format="json", HTTP_IDEMPOTENCY_KEY="k404"
    )
    assert again.status_code == 404
    assert again["Idempotent-Replayed"] == "true"


def test_audit_log_records_mutations_with_actor_and_targets(api, authed_api, api_token):
    task_id = start(authed_api, inline_plan([[{}]]))["execution"]["task_id"]
    authed_api.delete(f"/api/v1/executions/{task_id}")
    api.post("/api/v1/plans", {"description": "x"}, format="json")  # 401, still audited
    entries = list(AuditEntry.objects.order_by("id"))
    assert [(entry.method, entry.status_code) for entry in entries] == [
        ("POST", 201),
        ("DELETE", 200),
        ("POST", 401),
    ]
    assert entries[0].actor.startswith("token:")
    assert api_token not in entries[0].actor
    assert task_id in entries[0].target_ids
    assert entries[1].route == "api/v1/executions/(?P<task_id>[^/.]+)$" or task_id in entries[1].target_ids
    assert entries[2].actor == "anonymous"
    listing = authed_api.get("/api/v1/audit", {"target": task_id}).json()
    assert listing["count"] == 2
    assert {row["method"] for row in listing["results"]} == {"POST", "DELETE"}
    assert authed_api.get("/api/v1/audit", {"since": "2999-01-01T00:00:00Z"}).json()["count"] == 0
    assert authed_api.get("/api/v1/audit", {"limit": 0}).status_code == 422
    assert AuditEntry.objects.count() == 3  # reads are not audited


def test_admin_actions_are_audited(api, client, django_user_model):
    task_id = start(api, inline_plan([[{}]]))["execution"]["task_id"]
    from executions.models import Execution

    user = django_user_model.objects.create_superuser("ops", "ops@example.com", "pw-12345-long")
    client.force_login(user)
    pk = Execution.objects.get(task_id=task_id).pk
    client.post("/admin/executions/execution/", {"action": "cancel_selected", "_selected_action": [pk]})
    entry = AuditEntry.objects.filter(path="/admin/executions/execution/").get()
    assert entry.actor == "user:ops"
    assert str(pk) in entry.target_ids
    assert entry.status_code == 302


def test_metrics_scrape(api):
    start(api, inline_plan([[{}]]))
    api.get("/api/v1/health")
    response = api.get("/metrics")
    assert response.status_code == 200
    families = {family.name: family for family in text_string_to_metric_families(response.content.decode())}
    assert "baton_http_requests" in families
    assert "baton_http_request_duration_seconds" in families
    samples = {(sample.labels.get("status"), sample.value) for sample in families["baton_executions"].samples}
    assert ("running", 1.0) in samples
    assert families["baton_pending_decisions"].samples[0].value == 0.0
    routes = {sample.labels.get("route") for sample in families["baton_http_requests"].samples}
    assert "/api/v1/health" in routes


def test_metrics_need_the_token_unless_public(api, api_token, settings):
    assert api.get("/metrics").status_code == 401
    assert api.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {api_token}").status_code == 200
    settings.BATON_METRICS_PUBLIC = True
    assert api.get("/metrics").status_code == 200


def test_oversized_body_is_413(api, settings):
    settings.BATON_MAX_BODY_BYTES = 2048
    big = json.dumps({"description": "x" * 5000})
    response = api.generic("POST", "/api/v1/plans", big, content_type="application/json")
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_repeated_failed_auth_is_throttled(api, api_token, settings):
    settings.BATON_AUTH_FAILURE_LIMIT = 3
    for _ in range(3):
        assert api.get("/api/v1/agents", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    throttled = api.get("/api/v1/agents", HTTP_AUTHORIZATION=f"Bearer {api_token}")
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) >= 1
    assert api.get("/api/v1/health").status_code == 200  # exempt paths stay reachable


@pytest.mark.parametrize(
    ("path", "loc"),
    [("/api/v1/agents?category=%00x", ["query", "category"]), ("/api/v1/agents/bad%00name", ["path"])],
)
def test_nul_characters_in_urls_are_422(api, path, loc):
    response = api.get(path)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


def test_every_operation_with_input_documents_422(api):
    schema = api.get("/openapi.json").json()
    for url, item in schema["paths"].items():
        for method, operation in item.items():
            if operation.get("parameters") or operation.get("requestBody"):
                assert "422" in operation["responses"], (method, url)


def test_api_requests_skip_sessions_and_the_logged_in_user(client, django_user_model):
    """The API reads no cookie: with a browser's admin session, an API request loads no session and no user (nor
    the reference cycles the lazy user leaves); the admin still has both."""
    client.force_login(django_user_model.objects.create_superuser("ops", "ops@example.com", "pw-12345-long"))
    api_request = client.get("/api/v1/health").wsgi_request
    assert not hasattr(api_request, "session")
    assert (
        getattr(api_request, "user", None) is None
    )  # DRF marks API requests unauthenticated: the token is all
    page = client.get("/admin/")
    assert page.status_code == 200
    assert page.wsgi_request.user.get_username() == "ops"
