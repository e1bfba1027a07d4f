"""The board: one card per plan of the registered projects, columns from the latest execution, health per
program, and a fixed number of queries whatever the number of cards."""

from __future__ import annotations

import pytest

from pmo.selectors import pmo_board
from tests.executions.plans import gate, inline_plan, record, start
from tests.pmo.conftest import approve, register, run

pytestmark = pytest.mark.django_db

CARD_FIELDS = {
    "card_id",
    "project_id",
    "program",
    "title",
    "column",
    "risk_level",
    "priority",
    "agents",
    "steps_completed",
    "steps_total",
    "gates_passed",
    "current_phase",
    "error",
    "created_at",
    "updated_at",
}


def cards_by_id(api, url: str = "/api/v1/pmo/board") -> dict[str, dict]:
    response = api.get(url)
    assert response.status_code == 200
    return {card["card_id"]: card for card in response.json()["cards"]}


def test_empty_board(api):
    assert api.get("/api/v1/pmo/board").json() == {"cards": [], "health": {}}
    assert api.get("/api/v1/pmo/health").json() == {}


def test_a_program_without_plans_has_zero_health(api, project):
    assert api.get("/api/v1/pmo/health").json() == {
        "NDS": {
            "program": "NDS",
            "total_plans": 0,
            "active": 0,
            "completed": 0,
            "blocked": 0,
            "failed": 0,
            "completion_pct": 0.0,
        }
    }


def test_every_column_and_health(api, project):
    queued = approve(api, inline_plan([[{}]]))
    planning = approve(api, inline_plan([[{}]], risk_level="HIGH"))
    run(api, planning)
    executing = approve(api, inline_plan([[{}], [{}]]))
    run(api, executing)
    gated = approve(api, inline_plan([[{}]]))
    record(api, run(api, gated), "0.0")
    deployed = approve(api, inline_plan([[{"agent": "architect"}, {}]], gates=[False]))
    task = run(api, deployed)
    record(api, task, "0.0", agent="architect")
    record(api, task, "0.1")
    assert api.post(f"/api/v1/executions/{task}/complete").status_code == 200
    failed = approve(api, inline_plan([[{}]]))
    assert api.delete(f"/api/v1/executions/{run(api, failed)}").status_code == 200

    cards = cards_by_id(api)
    assert {plan_id: card["column"] for plan_id, card in cards.items()} == {
        queued: "queued",
        planning: "planning",
        executing: "executing",
        gated: "gate_pending",
        deployed: "deployed",
        failed: "failed",
    }
    for card in cards.values():
        assert set(card) == CARD_FIELDS
        assert card["project_id"] == "nds"
        assert card["program"] == "NDS"
    assert cards[queued]["current_phase"] == ""
    assert cards[queued]["steps_completed"] == 0
    assert cards[queued]["updated_at"] == cards[queued]["created_at"]
    assert cards[executing]["current_phase"] == "Phase 0"
    assert cards[gated]["steps_completed"] == 1
    assert cards[deployed] | {"created_at": "", "updated_at": ""} == {
        "card_id": deployed,
        "project_id": "nds",
        "program": "NDS",
        "title": cards[deployed]["title"],
        "column": "deployed",
        "risk_level": "LOW",
        "priority": 0,
        "agents": ["architect", "backend-engineer--python"],
        "steps_completed": 2,
        "steps_total": 2,
        "gates_passed": 0,
        "current_phase": "",
        "error": "",
        "created_at": "",
        "updated_at": "",
    }
    assert cards[failed]["error"] == "Cancelled"
    assert cards[planning]["priority"] == 1  # HIGH risk, no priority given
    health = api.get("/api/v1/pmo/health").json()["NDS"]
    assert health == {
        "program": "NDS",
        "total_plans": 6,
        "active": 3,  # queued, executing, gate_pending (waiting on the gate, not on a human)
        "completed": 1,
        "blocked": 1,  # planning: waiting on the plan review
        "failed": 1,
        "completion_pct": 16.7,
    }
    assert api.get("/api/v1/pmo/board").json()["health"] == {"NDS": health}


def test_gate_results_and_a_failed_gate(api, project):
    plan_id = approve(api, inline_plan([[{}], [{}]]))
    task = run(api, plan_id)
    record(api, task, "0.0")
    gate(api, task, 0, "pass")
    card = cards_by_id(api)[plan_id]
    assert (card["column"], card["gates_passed"], card["current_phase"]) == ("executing", 1, "Phase 1")
    record(api, task, "1.0")
    gate(api, task, 1, "fail", "3 tests failed")
    card = cards_by_id(api)[plan_id]
    assert card["column"] == "gate_pending"
    assert "3 tests failed" in card["error"]
    assert api.get("/api/v1/pmo/health").json()["NDS"]["blocked"] == 1


def test_a_failed_step_shows_its_error_and_a_rejection_fails_the_card(api, project):
    plan_id = approve(api, inline_plan([[{}]]))
    task = run(api, plan_id)
    record(api, task, "0.0", status="failed", output_summary="boom")
    card = cards_by_id(api)[plan_id]
    assert card["column"] == "gate_pending"
    assert card["error"] == "Step 0.0 (backend-engineer--python) failed: boom"
    decision = api.get("/api/v1/decisions", {"task_id": task}).json()["decisions"][0]
    api.post(f"/api/v1/decisions/{decision['request_id']}/resolve", {"option": "abort"}, format="json")
    card = cards_by_id(api)[plan_id]
    assert card["column"] == "failed"
    assert card["error"]
    assert api.get("/api/v1/pmo/health").json()["NDS"]["failed"] == 1


def test_priority_from_forge_is_kept(api, project):
    plan = inline_plan([[{}]])
    plan_id = approve(api, {**plan, "priority": 2})
    assert cards_by_id(api)[plan_id]["priority"] == 2
    other = approve(api, inline_plan([[{}]]), priority=1)
    assert cards_by_id(api)[other]["priority"] == 1


def test_plans_of_a_project_path_are_cards(api, registry, project, project_dir):
    response = api.post(
        "/api/v1/plans",
        {"description": "Add a CSV export endpoint", "project_path": str(project_dir)},
        format="json",
    )
    plan_id = response.json()["plan_id"]
    card = cards_by_id(api)[plan_id]
    assert card["project_id"] == "nds"
    assert card["agents"] == response.json()["agents"]
    assert card["steps_total"] == response.json()["total_steps"]
    # A plan for another directory, and an inline plan with no project, are not on the board.
    start(api, inline_plan([[{}]]))
    assert set(cards_by_id(api)) == {plan_id}


def test_program_filter_is_case_insensitive(api, project, tmp_path):
    other = tmp_path / "atl"
    other.mkdir()
    register(api, other, project_id="atl", program="ATL")
    nds_plan = approve(api, inline_plan([[{}]]))
    atl_plan = approve(api, inline_plan([[{}]]), project_id="atl")
    board = api.get("/api/v1/pmo/board/nds").json()
    assert [card["card_id"] for card in board["cards"]] == [nds_plan]
    assert list(board["health"]) == ["NDS"]
    assert [card["card_id"] for card in api.get("/api/v1/pmo/board/Atl").json()["cards"]] == [atl_plan]
    assert api.get("/api/v1/pmo/board/nope").json() == {"cards": [], "health": {}}
    assert set(api.get("/api/v1/pmo/health").json()) == {"ATL", "NDS"}


def test_unregistering_hides_cards_and_registering_again_brings_them_back(api, project, project_dir):
    plan_id = approve(api, inline_plan([[{}]]))
    api.delete("/api/v1/pmo/projects/nds")
    assert cards_by_id(api) == {}
    register(api, project_dir)
    assert set(cards_by_id(api)) == {plan_id}


def test_a_second_run_drives_the_card(api, project):
    plan_id = approve(api, inline_plan([[{}]]))
    api.delete(f"/api/v1/executions/{run(api, plan_id)}")
    assert cards_by_id(api)[plan_id]["column"] == "failed"
    second = run(api, plan_id)
    assert second == f"{plan_id}-run2"
    assert cards_by_id(api)[plan_id]["column"] == "executing"


def _populate(api, count: int) -> None:
    for index in range(count):
        plan_id = approve(api, inline_plan([[{}], [{}]], risk_level="HIGH" if index % 3 == 0 else "LOW"))
        if index % 2:
            task = run(api, plan_id)
            record(api, task, "0.0")


@pytest.mark.parametrize("count", [2, 12])
def test_the_board_costs_a_fixed_number_of_queries(api, project, django_assert_num_queries, count):
    _populate(api, count)
    with django_assert_num_queries(4):
        board = pmo_board()
    assert len(board.cards) == count
    with django_assert_num_queries(4):
        assert api.get("/api/v1/pmo/board").status_code == 200
