"""The PMO pages, through Django's test client: rendering, login when a token is set, forms and decisions."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from decisions.models import DecisionRequest
from executions.models import Execution
from pmo.models import Project, Signal
from tests.executions.plans import inline_plan, record
from tests.pmo.conftest import approve, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser() -> Client:
    return Client(enforce_csrf_checks=True)


def csrf(client: Client, url: str) -> str:
    page = client.get(url).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


PAGES = ["/pmo/", "/pmo/signals", "/pmo/projects", "/pmo/dashboard", "/pmo/board/fragment"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_render_without_anything_registered(client, url):
    response = client.get(url)
    assert response.status_code == 200


def test_root_redirects_to_the_board(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/pmo/"


@pytest.mark.parametrize("url", [*PAGES, "/pmo/cards/task-x", "/pmo/live"])
def test_pages_need_a_login_when_a_token_is_configured(client, api_token, url):
    response = client.get(url)
    if url == "/pmo/live":
        assert response.status_code == 401
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/?next=")


def test_a_logged_in_user_sees_the_pages_when_a_token_is_configured(client, api_token):
    user = get_user_model().objects.create_user("ops", password="pw-0123456789")
    client.force_login(user)
    response = client.get("/pmo/")
    assert response.status_code == 200
    assert "Signed in as ops" in response.content.decode()


def test_board_shows_cards_in_columns_with_tabs_and_filters(client, api, project, tmp_path):
    from tests.pmo.conftest import register

    other = tmp_path / "atl"
    other.mkdir()
    register(api, other, project_id="atl", program="ATL", name="Atlas")
    queued = approve(api, inline_plan([[{}]]))
    running = approve(api, inline_plan([[{}], [{}]], risk_level="MEDIUM"), priority=2)
    task = run(api, running)
    record(api, task, "0.0", status="failed", output_summary="disk full")
    atl = approve(api, inline_plan([[{}]], risk_level="CRITICAL"), project_id="atl")

    html = client.get("/pmo/").content.decode()
    for column in ("queued", "planning", "executing", "gate_pending", "deployed", "failed"):
        assert f'id="column-{column}"' in html
    assert f'data-card-id="{queued}" data-column="queued"' in html
    assert f'data-card-id="{running}" data-column="gate_pending"' in html
    assert "disk full" in html
    assert "P2 critical" in html
    assert "1/2 steps" not in html
    assert "0/2 steps" in html
    assert "Phase: Phase 0" in html
    assert '<progress max="2" value="0"' in html
    # Program tabs with their health figures.
    assert "?program=ATL" in html
    assert "?program=NDS" in html
    assert "0.0% done · 2 plans" in html

    only_atl = client.get("/pmo/?program=atl").content.decode()
    assert atl in only_atl
    assert queued not in only_atl
    by_risk = client.get("/pmo/?risk=critical").content.decode()
    assert atl in by_risk
    assert queued not in by_risk
    by_project = client.get("/pmo/?project=atl").content.decode()
    assert atl in by_project
    assert running not in by_project
    fragment = client.get("/pmo/board/fragment?project=nds").content.decode()
    assert "<html" not in fragment
    assert queued in fragment
    assert atl not in fragment


def test_board_page_costs_a_fixed_number_of_queries(client, api, project, django_assert_max_num_queries):
    for _ in range(6):
        record(api, run(api, approve(api, inline_plan([[{}], [{}]]))), "0.0")
    with django_assert_max_num_queries(6):
        assert client.get("/pmo/board/fragment").status_code == 200


def test_card_page_shows_phases_steps_gates_and_the_timeline(client, api, project):
    plan_id = approve(api, inline_plan([[{}], [{}]]))
    task = run(api, plan_id)
    record(api, task, "0.0", output_summary="did the thing")
    api.post(
        f"/api/v1/executions/{task}/gate",
        {"phase_id": 0, "result": "pass_with_notes", "notes": "slow"},
        format="json",
    )
    html = client.get(f"/pmo/cards/{plan_id}").content.decode()
    assert "Phase 0" in html
    assert "Phase 1" in html
    assert 'data-step-id="0.0"' in html
    assert "did the thing" in html
    assert "pass_with_notes" in html
    assert "slow" in html
    assert "task.started" in html
    assert "step.completed" in html
    assert "No decision is waiting." in html
    assert f'data-live-task="{plan_id}"' in html
    assert client.get(f"/pmo/cards/{plan_id}/fragment").status_code == 200


def test_unknown_card_is_a_404_page(client):
    response = client.get("/pmo/cards/task-nope")
    assert response.status_code == 404
    assert "task-nope" in response.content.decode()


def test_a_decision_button_resolves_the_decision(browser, api, project):
    plan_id = approve(api, inline_plan([[{}]], risk_level="HIGH"))
    task = run(api, plan_id)
    decision = DecisionRequest.objects.get(task_id=task)
    url = f"/pmo/cards/{plan_id}"
    html = browser.get(url).content.decode()
    assert f'data-decision-id="{decision.request_id}"' in html
    assert 'name="option" value="approve"' in html
    assert 'name="option" value="reject"' in html
    token = csrf(browser, url)
    response = browser.post(
        f"/pmo/decisions/{decision.request_id}/resolve",
        {"option": "approve", "rationale": "looks fine", "next": url, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert response["Location"] == url
    decision.refresh_from_db()
    assert (decision.status, decision.chosen_option, decision.rationale, decision.resolved_by) == (
        "resolved",
        "approve",
        "looks fine",
        "pmo page",
    )
    assert Execution.objects.get(task_id=task).status == "running"
    page = browser.get(url).content.decode()
    assert "resolved: approve" in page
    assert "chose approve" in page  # the timeline
    assert "No decision is waiting." in page


def test_decision_posts_need_csrf_and_report_errors(browser, api, project):
    plan_id = approve(api, inline_plan([[{}]], risk_level="HIGH"))
    decision = DecisionRequest.objects.get(task_id=run(api, plan_id))
    assert (
        browser.post(f"/pmo/decisions/{decision.request_id}/resolve", {"option": "approve"}).status_code
        == 403
    )
    token = csrf(browser, f"/pmo/cards/{plan_id}")
    response = browser.post(
        f"/pmo/decisions/{decision.request_id}/resolve",
        {"option": "maybe", "next": "https://evil.example/", "csrfmiddlewaretoken": token},
        follow=True,
    )
    assert response.redirect_chain[0][0] == "/pmo/"  # a foreign `next` is ignored
    assert "is not one of the decision&#x27;s options" in response.content.decode()
    decision.refresh_from_db()
    assert decision.status == "pending"


def test_the_logged_in_user_is_recorded_as_resolver(client, api, settings, project):
    plan_id = approve(api, inline_plan([[{}]], risk_level="HIGH"))
    decision = DecisionRequest.objects.get(task_id=run(api, plan_id))
    settings.BATON_API_TOKEN = "test-token-0123456789"
    anonymous = client.post(f"/pmo/decisions/{decision.request_id}/resolve", {"option": "reject"})
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/admin/login/")
    client.force_login(get_user_model().objects.create_user("alice", password="pw-0123456789"))
    client.post(f"/pmo/decisions/{decision.request_id}/resolve", {"option": "reject"})
    decision.refresh_from_db()
    assert (decision.status, decision.resolved_by) == ("resolved", "alice")


def test_projects_page_registers_and_removes(browser, project_dir, db):
    token = csrf(browser, "/pmo/projects")
    response = browser.post(
        "/pmo/projects",
        {
            "project_id": "nds",
            "name": "NDS",
            "path": str(project_dir),
            "program": "NDS",
            "csrfmiddlewaretoken": token,
        },
        follow=True,
    )
    assert "Project nds registered." in response.content.decode()
    assert Project.objects.get().path == str(project_dir.resolve())
    bad = browser.post(
        "/pmo/projects",
        {"project_id": "x y", "name": "", "path": "relative", "program": "X", "csrfmiddlewaretoken": token},
    )
    assert bad.status_code == 422
    page = bad.content.decode()
    assert 'aria-invalid="true"' in page
    assert "This field may not be blank." in page
    missing = browser.post(
        "/pmo/projects",
        {"project_id": "x", "name": "X", "path": "/not/here", "program": "X", "csrfmiddlewaretoken": token},
    )
    assert missing.status_code == 422
    assert "does not exist" in missing.content.decode()
    response = browser.post("/pmo/projects/nds/remove", {"csrfmiddlewaretoken": token}, follow=True)
    assert "Project nds removed." in response.content.decode()
    assert not Project.objects.exists()


def test_signals_page_raises_resolves_and_forges(browser, registry, api, project):
    page = browser.get("/pmo/signals").content.decode()
    suggested = re.search(r'name="signal_id" value="(sig-\d+)"', page).group(1)
    token = csrf(browser, "/pmo/signals")
    response = browser.post(
        "/pmo/signals",
        {
            "signal_id": suggested,
            "signal_type": "bug",
            "severity": "critical",
            "title": "Totals are wrong",
            "description": "Invoice totals skip tax",
            "source_project_id": "nds",
            "csrfmiddlewaretoken": token,
        },
        follow=True,
    )
    html = response.content.decode()
    assert f"Signal {suggested} raised." in html
    assert "Totals are wrong" in html
    duplicate = browser.post(
        "/pmo/signals",
        {"signal_id": suggested, "signal_type": "bug", "title": "Again", "csrfmiddlewaretoken": token},
    )
    assert duplicate.status_code == 422
    assert "already exists" in duplicate.content.decode()
    invalid = browser.post(
        "/pmo/signals",
        {"signal_id": "s-2", "signal_type": "rumour", "title": "x", "csrfmiddlewaretoken": token},
    )
    assert invalid.status_code == 422

    forged = browser.post(
        f"/pmo/signals/{suggested}/forge", {"project_id": "nds", "csrfmiddlewaretoken": token}, follow=True
    )
    signal = Signal.objects.get(signal_id=suggested)
    assert signal.status == "triaged"
    assert forged.redirect_chain[-1][0] == f"/pmo/cards/{signal.forge_task_id}"
    resolved = browser.post(f"/pmo/signals/{suggested}/resolve", {"csrfmiddlewaretoken": token}, follow=True)
    assert f"Signal {suggested} resolved." in resolved.content.decode()
    assert Signal.objects.get(signal_id=suggested).status == "resolved"
    again = browser.post(
        f"/pmo/signals/{suggested}/forge", {"project_id": "nds", "csrfmiddlewaretoken": token}, follow=True
    )
    assert "cannot become triaged" in again.content.decode()


def test_dashboard_draws_charts_with_their_numbers(client, api, project):
    plan_id = approve(api, inline_plan([[{}]], gates=[True]))
    task = run(api, plan_id)
    record(api, task, "0.0", tokens=1234)
    api.post(f"/api/v1/executions/{task}/gate", {"phase_id": 0, "result": "pass"}, format="json")
    api.post(f"/api/v1/executions/{task}/complete")
    html = client.get("/pmo/dashboard").content.decode()
    assert html.count("<svg") == 4
    assert "<rect" in html
    assert "SHIP" in html
    assert "<td>1234</td>" in html
    assert "backend-engineer--python" in html
    assert "100.0%" in html


def test_pages_use_only_local_assets(client, project):
    html = client.get("/pmo/").content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/pmo/live.js" in urls
    assert "/static/pmo/pmo.css" in urls
    assert not [url for url in urls if url.startswith(("http:", "https:", "//"))]


def test_live_change_frame_names_tasks_and_topics():
    from executions.streams import StreamEvent
    from pmo.pages import change_frame

    events = [
        StreamEvent({"task_id": "task-b", "sequence": 1, "topic": "step.completed", "event_id": "e1"}),
        StreamEvent({"task_id": "task-a", "sequence": 4, "topic": "task.completed", "event_id": "e2"}),
        StreamEvent({"task_id": "task-b", "sequence": 2, "topic": "step.completed", "event_id": "e3"}),
    ]
    assert change_frame(events) == (
        b'event: change\ndata: {"tasks":["task-a","task-b"],"topics":["step.completed","task.completed"]}\n\n'
    )
