"""Operators browse executions, events and usage in the admin; actions go through the services."""

from __future__ import annotations

import pytest

from executions.models import Execution
from tests.executions.plans import inline_plan, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("operator", "op@example.com", "s3cret-pass")
    client.force_login(user)
    return client


def test_execution_page_shows_results_and_events(api, operator_client):
    task_id = start(api, inline_plan([[{}]]))["execution"]["task_id"]
    execution = Execution.objects.get(task_id=task_id)
    page = operator_client.get(f"/admin/executions/execution/{execution.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "task.started" in html
    assert "step.dispatched" in html
    assert "0.0" in html


def test_cancel_action_uses_the_service(api, operator_client):
    task_id = start(api, inline_plan([[{}]]))["execution"]["task_id"]
    execution = Execution.objects.get(task_id=task_id)
    response = operator_client.post(
        "/admin/executions/execution/", {"action": "cancel_selected", "_selected_action": [execution.pk]}
    )
    assert response.status_code == 302
    execution.refresh_from_db()
    assert (execution.status, execution.cancelled) == ("failed", True)


def test_decision_resolve_action(api, operator_client):
    from decisions.models import DecisionRequest

    task_id = start(api, inline_plan([[{}]], risk_level="HIGH"))["execution"]["task_id"]
    decision = DecisionRequest.objects.get(task_id=task_id)
    form = operator_client.post(
        "/admin/decisions/decisionrequest/", {"action": "resolve_selected", "_selected_action": [decision.pk]}
    )
    assert form.status_code == 200
    assert b"Resolve" in form.content
    done = operator_client.post(
        "/admin/decisions/decisionrequest/",
        {"action": "resolve_selected", "_selected_action": [decision.pk], "apply": "1", "option": "approve"},
    )
    assert done.status_code == 302
    decision.refresh_from_db()
    assert (decision.status, decision.chosen_option, decision.resolved_by) == (
        "resolved",
        "approve",
        "operator",
    )
    assert Execution.objects.get(task_id=task_id).status == "running"


def test_admin_lists_render(operator_client):
    for url in [
        "/admin/executions/execution/",
        "/admin/executions/event/",
        "/admin/executions/usagerecord/",
        "/admin/decisions/decisionrequest/",
        "/admin/plans/plan/",
        "/admin/agents/agentdefinition/",
    ]:
        assert operator_client.get(url).status_code == 200, url
