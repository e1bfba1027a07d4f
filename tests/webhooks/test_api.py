"""The webhooks API through HTTP (DRF test client): every status code and validation case, the secret never in
any answer, and what each write enqueues."""

from __future__ import annotations

import json
from functools import partial

import pytest

from executions import events
from executions.models import Event
from webhooks import services, signing, tasks
from webhooks.models import Delivery, DeliveryStatus, Webhook

pytestmark = pytest.mark.django_db

SECRET = "very-secret-value-4242"
WEBHOOK_FIELDS = {
    "webhook_id",
    "url",
    "events",
    "created",
    "enabled",
    "consecutive_failures",
    "has_secret",
    "disabled_at",
}


def register(api, **body):
    body.setdefault("url", "https://93.184.216.34/hook")
    body.setdefault("events", ["step.*"])
    return api.post("/api/v1/webhooks", body, format="json")


def assert_no_secret(response):
    assert SECRET not in response.content.decode()
    assert "secret" not in json.dumps(response.json()).replace("has_secret", "")


def enqueued(callbacks) -> list[tuple[list[int], float | None]]:
    """The delivery messages registered on commit (each callback is `partial(tasks.enqueue, pks, countdown)`)."""
    found = []
    for callback in callbacks:
        if isinstance(callback, partial) and callback.func is tasks.enqueue:
            found.append((callback.args[0], callback.args[1]))
    return found


# --- POST /webhooks --------------------------------------------------------------------------------------------


def test_register_answers_201_with_the_webhook_and_never_the_secret(api):
    response = register(
        api, url="https://93.184.216.34/hook", events=["step.*", "gate.required"], secret=SECRET
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == WEBHOOK_FIELDS
    assert len(body["webhook_id"]) == 16
    assert int(body["webhook_id"], 16) >= 0
    assert body["url"] == "https://93.184.216.34/hook"
    assert body["events"] == ["step.*", "gate.required"]
    assert body["created"].endswith("+00:00")
    assert len(body["created"]) == 25
    assert body["enabled"] is True
    assert body["consecutive_failures"] == 0
    assert body["has_secret"] is True
    assert_no_secret(response)
    stored = Webhook.objects.get(webhook_id=body["webhook_id"])
    assert stored.secret == SECRET


def test_register_without_secret_and_with_loopback_http(api):
    response = register(api, url="http://127.0.0.1:9999/hook", events=["*"], secret=None)
    assert response.status_code == 201
    assert response.json()["has_secret"] is False
    assert Webhook.objects.get().secret == ""


@pytest.mark.parametrize(
    ("body", "loc", "type_"),
    [
        ({"events": ["*"]}, ["body", "url"], "missing"),
        ({"url": "https://93.184.216.34/h"}, ["body", "events"], "missing"),
        ({"url": "https://93.184.216.34/h", "events": []}, ["body", "events"], "too_short"),
        ({"url": "https://93.184.216.34/h", "events": "step.*"}, ["body", "events"], "list_type"),
        ({"url": "https://93.184.216.34/h", "events": [""]}, ["body", "events", 0], "string_too_short"),
        ({"url": "https://93.184.216.34/h", "events": ["x" * 201]}, ["body", "events", 0], "string_too_long"),
        (
            {"url": "https://93.184.216.34/h", "events": ["*"], "secret": "s" * 513},
            ["body", "secret"],
            "string_too_long",
        ),
        ({"url": "", "events": ["*"]}, ["body", "url"], "string_too_short"),
        ({"url": "http://93.184.216.34/h", "events": ["*"]}, ["body", "url"], "url_parsing"),
        ({"url": "ftp://93.184.216.34/h", "events": ["*"]}, ["body", "url"], "url_parsing"),
        ({"url": "not a url", "events": ["*"]}, ["body", "url"], "url_parsing"),
        ({"url": "https://u:p@93.184.216.34/h", "events": ["*"]}, ["body", "url"], "url_parsing"),
        ({"url": "https://10.0.0.1/h", "events": ["*"]}, ["body", "url"], "url_refused"),
        ({"url": "https://192.168.0.10/h", "events": ["*"]}, ["body", "url"], "url_refused"),
        (
            {"url": "https://169.254.169.254/latest/meta-data", "events": ["*"]},
            ["body", "url"],
            "url_refused",
        ),
        ({"url": "https://[fd00:ec2::254]/", "events": ["*"]}, ["body", "url"], "url_refused"),
        ({"url": "https://nothing.invalid/h", "events": ["*"]}, ["body", "url"], "url_refused"),
    ],
)
def test_register_refuses_bad_bodies_with_the_contract_422(api, body, loc, type_):
    response = api.post("/api/v1/webhooks", body, format="json")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    assert detail
    assert {"loc": loc, "type": type_} == {"loc": detail[0]["loc"], "type": detail[0]["type"]}
    assert detail[0]["msg"]
    assert Webhook.objects.count() == 0


def test_register_refuses_malformed_json_and_non_objects(api):
    response = api.post("/api/v1/webhooks", "{nope", content_type="application/json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"
    assert api.post("/api/v1/webhooks", [1, 2], format="json").status_code == 422
    assert Webhook.objects.count() == 0


def test_loopback_is_refused_when_the_setting_forbids_it_and_allow_list_admits_private_hosts(api, settings):
    settings.BATON_WEBHOOK_ALLOW_LOOPBACK = False
    assert register(api, url="http://127.0.0.1:9999/hook").status_code == 422
    assert register(api, url="https://10.0.0.7/hook").status_code == 422
    settings.BATON_WEBHOOK_ALLOW_HOSTS = ["10.0.0.0/24"]
    assert register(api, url="https://10.0.0.7/hook").status_code == 201


def test_register_requires_the_token_when_one_is_configured(api, api_token, authed_api):
    assert register(api).status_code == 401
    assert register(authed_api).status_code == 201


# --- GET /webhooks, GET/DELETE /webhooks/{id} -------------------------------------------------------------------


def test_list_shows_enabled_and_disabled_webhooks_with_their_state(api, django_assert_num_queries):
    first = register(api, secret=SECRET).json()
    second = register(api, url="http://127.0.0.1:1/x", events=["*"]).json()
    Webhook.objects.filter(webhook_id=second["webhook_id"]).update(enabled=False, consecutive_failures=10)
    with django_assert_num_queries(1):
        response = api.get("/api/v1/webhooks")
    assert response.status_code == 200
    listed = response.json()
    assert [w["webhook_id"] for w in listed] == [first["webhook_id"], second["webhook_id"]]
    assert listed[0]["enabled"] is True
    assert listed[0]["consecutive_failures"] == 0
    assert listed[1]["enabled"] is False
    assert listed[1]["consecutive_failures"] == 10
    assert_no_secret(response)


def test_list_is_empty_at_first(api):
    assert api.get("/api/v1/webhooks").json() == []


def test_get_one_and_404(api):
    created = register(api, secret=SECRET).json()
    response = api.get(f"/api/v1/webhooks/{created['webhook_id']}")
    assert response.status_code == 200
    assert response.json() == created
    assert_no_secret(response)
    missing = api.get("/api/v1/webhooks/0000000000000000")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Webhook '0000000000000000' not found."}


def test_delete_answers_a_body_then_404(api):
    created = register(api).json()
    webhook_id = created["webhook_id"]
    response = api.delete(f"/api/v1/webhooks/{webhook_id}")
    assert response.status_code == 200
    assert response.json() == {"deleted": True, "webhook_id": webhook_id}
    assert not Webhook.objects.exists()
    again = api.delete(f"/api/v1/webhooks/{webhook_id}")
    assert again.status_code == 404
    assert again.json() == {"detail": f"Webhook '{webhook_id}' not found."}


def test_delete_removes_the_delivery_log(api, django_capture_on_commit_callbacks):
    webhook_id = register(api, events=["*"]).json()["webhook_id"]
    with django_capture_on_commit_callbacks():
        events.publish("task-1", "step.completed", {})
    assert Delivery.objects.count() == 1
    api.delete(f"/api/v1/webhooks/{webhook_id}")
    assert Delivery.objects.count() == 0
    assert Event.objects.count() == 1  # the event log is not the webhook's to delete


# --- deliveries ------------------------------------------------------------------------------------------------


def test_deliveries_lists_the_log_newest_first_with_attempts(
    api, django_capture_on_commit_callbacks, django_assert_num_queries
):
    webhook_id = register(api, events=["step.*"]).json()["webhook_id"]
    with django_capture_on_commit_callbacks():
        first = events.publish("task-1", "step.dispatched", {"step_id": "0.0"})
        second = events.publish("task-1", "step.completed", {"step_id": "0.0"})
    with django_assert_num_queries(4):  # webhook, count, page, attempts
        response = api.get(f"/api/v1/webhooks/{webhook_id}/deliveries")
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 2
    assert page["next"] is None
    assert page["previous"] is None
    newest, oldest = page["results"]
    assert (newest["event_id"], oldest["event_id"]) == (second.event_id, first.event_id)
    assert newest["event_topic"] == "step.completed"
    assert newest["task_id"] == "task-1"
    assert newest["status"] == "pending"
    assert newest["attempt"] == 0
    assert newest["attempts"] == []
    assert newest["delivery_id"].startswith("dlv_")
    assert set(newest) == {
        "delivery_id",
        "event_id",
        "event_topic",
        "task_id",
        "status",
        "attempt",
        "status_code",
        "error",
        "created_at",
        "next_attempt_at",
        "completed_at",
        "attempts",
    }


def test_deliveries_paginates_and_filters(api, django_capture_on_commit_callbacks):
    webhook_id = register(api, events=["*"]).json()["webhook_id"]
    with django_capture_on_commit_callbacks():
        for index in range(5):
            events.publish("task-1", f"step.t{index}", {})
    Delivery.objects.filter(event__topic="step.t0").update(status=DeliveryStatus.FAILED)
    page = api.get(f"/api/v1/webhooks/{webhook_id}/deliveries?limit=2&offset=1").json()
    assert page["count"] == 5
    assert len(page["results"]) == 2
    assert page["next"]
    assert page["previous"]
    failed = api.get(f"/api/v1/webhooks/{webhook_id}/deliveries?status=failed").json()
    assert [d["event_topic"] for d in failed["results"]] == ["step.t0"]


@pytest.mark.parametrize("query", ["status=bogus", "limit=0", "limit=x", "offset=-1"])
def test_deliveries_refuses_bad_query_parameters(api, query):
    webhook_id = register(api).json()["webhook_id"]
    response = api.get(f"/api/v1/webhooks/{webhook_id}/deliveries?{query}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


def test_deliveries_of_an_unknown_webhook_is_404(api):
    assert api.get("/api/v1/webhooks/ffffffffffffffff/deliveries").status_code == 404


# --- test ping -------------------------------------------------------------------------------------------------


def test_test_sends_a_ping_to_this_webhook_only(api, django_capture_on_commit_callbacks):
    target = register(api, url="http://127.0.0.1:9/a", events=["step.*"]).json()["webhook_id"]
    other = register(api, url="http://127.0.0.1:9/b", events=["*"]).json()["webhook_id"]
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(f"/api/v1/webhooks/{target}/test")
    assert response.status_code == 202
    body = response.json()
    delivery = Delivery.objects.get()
    assert body == {
        "webhook_id": target,
        "delivery_id": delivery.delivery_id,
        "event_id": delivery.event.event_id,
        "status": "pending",
    }
    assert delivery.webhook.webhook_id == target
    assert delivery.webhook.webhook_id != other
    event = delivery.event
    assert (event.topic, event.task_id) == ("ping", "system")
    assert event.payload["webhook_id"] == target
    assert enqueued(callbacks) == [([delivery.pk], None)]


def test_test_on_a_disabled_webhook_is_400_and_on_a_missing_one_404(api, django_capture_on_commit_callbacks):
    webhook_id = register(api).json()["webhook_id"]
    Webhook.objects.update(enabled=False)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(f"/api/v1/webhooks/{webhook_id}/test")
    assert response.status_code == 400
    assert "disabled" in response.json()["detail"]
    assert callbacks == []
    assert not Event.objects.exists()
    assert not Delivery.objects.exists()
    assert api.post("/api/v1/webhooks/0123456789abcdef/test").status_code == 404


# --- enable ----------------------------------------------------------------------------------------------------


def test_enable_resets_the_failure_count_and_publishes_once(api, django_capture_on_commit_callbacks):
    webhook_id = register(api, secret=SECRET).json()["webhook_id"]
    Webhook.objects.update(enabled=False, consecutive_failures=10)
    with django_capture_on_commit_callbacks():
        response = api.post(f"/api/v1/webhooks/{webhook_id}/enable")
    assert response.status_code == 200
    body = response.json()
    assert body["enabled"] is True
    assert body["consecutive_failures"] == 0
    assert body["disabled_at"] is None
    assert_no_secret(response)
    assert list(Event.objects.values_list("topic", "task_id")) == [("webhook.enabled", "system")]
    again = api.post(f"/api/v1/webhooks/{webhook_id}/enable")
    assert again.status_code == 200
    assert again.json() == body
    assert Event.objects.count() == 1  # a no-op publishes nothing
    assert api.post("/api/v1/webhooks/0123456789abcdef/enable").status_code == 404


def test_methods_not_allowed(api):
    webhook_id = register(api).json()["webhook_id"]
    assert api.put(f"/api/v1/webhooks/{webhook_id}", {}, format="json").status_code == 405
    assert api.get(f"/api/v1/webhooks/{webhook_id}/test").status_code == 405
    assert api.delete("/api/v1/webhooks").status_code == 405


def test_openapi_documents_the_webhook_routes(api):
    paths = api.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/webhooks",
        "/api/v1/webhooks/{webhook_id}",
        "/api/v1/webhooks/{webhook_id}/deliveries",
        "/api/v1/webhooks/{webhook_id}/test",
        "/api/v1/webhooks/{webhook_id}/enable",
    ):
        assert path in paths
    assert "secret" not in json.dumps(paths["/api/v1/webhooks"]["get"]["responses"])


def test_the_secret_appears_in_no_answer_and_no_admin_page(api, client, django_user_model, receiver):
    webhook_id = register(api, url=receiver.url("/hook"), events=["*"], secret=SECRET).json()["webhook_id"]
    answers = [api.get("/api/v1/webhooks"), api.get(f"/api/v1/webhooks/{webhook_id}")]
    with_callbacks = api.post(f"/api/v1/webhooks/{webhook_id}/test")
    delivery = Delivery.objects.get()
    services.delivery_attempt(delivery_pk=delivery.pk)
    answers += [
        with_callbacks,
        api.get(f"/api/v1/webhooks/{webhook_id}/deliveries"),
        api.post(f"/api/v1/webhooks/{webhook_id}/enable"),
    ]
    admin = django_user_model.objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(admin)
    webhook_pk = Webhook.objects.get().pk
    pages = [
        client.get("/admin/webhooks/webhook/"),
        client.get(f"/admin/webhooks/webhook/{webhook_pk}/change/"),
        client.get("/admin/webhooks/delivery/"),
        client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/"),
    ]
    assert [page.status_code for page in pages] == [200, 200, 200, 200]
    for response in [*answers, *pages]:
        assert SECRET not in response.content.decode()
    assert signing.verify_baton_signature(
        SECRET, receiver.received()[0].body, receiver.received()[0].headers["x-baton-signature"]
    )
    answers.append(api.delete(f"/api/v1/webhooks/{webhook_id}"))
    assert SECRET not in answers[-1].content.decode()


def test_admin_actions_call_the_services(api, client, django_user_model, django_capture_on_commit_callbacks):
    webhook_id = register(api, events=["*"]).json()["webhook_id"]
    Webhook.objects.update(enabled=False, consecutive_failures=10)
    client.force_login(django_user_model.objects.create_superuser("ops", "ops@example.com", "pw"))
    pk = Webhook.objects.get().pk
    with django_capture_on_commit_callbacks():
        response = client.post(
            "/admin/webhooks/webhook/", {"action": "enable_webhooks", "_selected_action": [pk]}, follow=True
        )
    assert response.status_code == 200
    webhook = Webhook.objects.get()
    assert webhook.enabled
    assert webhook.consecutive_failures == 0
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(
            "/admin/webhooks/webhook/", {"action": "send_test_ping", "_selected_action": [pk]}, follow=True
        )
    ping = Delivery.objects.get(event__topic="ping")
    assert enqueued(callbacks) == [([ping.pk], None)]
    client.post(
        "/admin/webhooks/webhook/",
        {"action": "delete_selected", "_selected_action": [pk], "post": "yes"},
        follow=True,
    )
    assert not Webhook.objects.filter(webhook_id=webhook_id).exists()
