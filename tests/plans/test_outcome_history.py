"""The planner's outcome history (`plans.selectors.past_outcomes`) is cached per process and must always read as
a fresh query of the database would: newest first, at most the limit, added and deleted outcomes seen at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from plans import selectors
from plans.models import Plan, PlanOutcome, PlanPhase

pytestmark = pytest.mark.django_db


def add_outcome(number: int, *, outcome: str = "SHIP", minutes_ago: int = 0) -> Plan:
    plan = Plan.objects.create(
        plan_id=f"plan-hist{number:04d}",
        task_summary=f"Task {number}",
        task_type="new-feature" if number % 2 else "bug-fix",
        agents=[f"agent-{number}", "code-reviewer"],
        stack="python" if number % 3 else None,
        created_at=timezone.now(),
    )
    PlanPhase.objects.create(plan=plan, phase_id=0, name=f"Build {number}")
    PlanPhase.objects.create(plan=plan, phase_id=1, name="Review")
    PlanOutcome.objects.create(
        plan=plan,
        task_id=plan.plan_id,
        outcome=outcome,
        recorded_at=timezone.now() - timedelta(minutes=minutes_ago),
    )
    return plan


def fresh_read(limit: int = selectors.PATTERN_HISTORY_LIMIT) -> list:
    """What a process that never read the history would see."""
    return selectors._OutcomeHistory().get(limit)


def test_history_is_newest_first_with_each_plans_shape():
    add_outcome(1, minutes_ago=30)
    add_outcome(2, outcome="REVISE", minutes_ago=10)
    add_outcome(3, minutes_ago=20)
    history = selectors.past_outcomes()
    assert [item.plan_id for item in history] == ["plan-hist0002", "plan-hist0003", "plan-hist0001"]
    first = history[0]
    assert first.outcome == "REVISE"
    assert first.task_type == "bug-fix"
    assert first.agents == ("agent-2", "code-reviewer")
    assert first.phase_names == ("Build 2", "Review")
    assert first.stack == "python"
    assert history[1].stack is None


def test_outcomes_added_later_are_merged_in_order(django_assert_num_queries):
    for number in range(4):
        add_outcome(number, minutes_ago=10 + number)
    assert len(selectors.past_outcomes()) == 4
    with django_assert_num_queries(1):  # nothing changed: the stamp query only
        selectors.past_outcomes()
    add_outcome(10, minutes_ago=0)
    add_outcome(11, minutes_ago=12)  # recorded earlier than some cached outcomes
    with django_assert_num_queries(6):  # stamp, the added rows, then each one's plan and phase names
        history = selectors.past_outcomes()
    assert history == fresh_read()
    assert [item.plan_id for item in history][:3] == ["plan-hist0010", "plan-hist0000", "plan-hist0001"]
    assert len(history) == 6


def test_deleted_plans_leave_the_history():
    plans = [add_outcome(number, minutes_ago=number) for number in range(3)]
    assert len(selectors.past_outcomes()) == 3
    plans[0].delete()  # outcomes go with their plan
    assert [item.plan_id for item in selectors.past_outcomes()] == ["plan-hist0001", "plan-hist0002"]
    # A deletion and an addition between two reads leave the row count unchanged.
    plans[1].delete()
    add_outcome(7, minutes_ago=60)
    history = selectors.past_outcomes()
    assert [item.plan_id for item in history] == ["plan-hist0002", "plan-hist0007"]
    assert history == fresh_read()


def test_history_keeps_only_the_most_recent(monkeypatch):
    monkeypatch.setattr(selectors, "PATTERN_HISTORY_LIMIT", 3)
    for number in range(5):
        add_outcome(number, minutes_ago=100 - number)  # later numbers are newer
    assert [item.plan_id for item in selectors.past_outcomes()] == [
        "plan-hist0004",
        "plan-hist0003",
        "plan-hist0002",
    ]
    add_outcome(9, minutes_ago=0)
    add_outcome(8, minutes_ago=500)  # older than everything kept: stays out
    history = selectors.past_outcomes()
    assert [item.plan_id for item in history] == ["plan-hist0009", "plan-hist0004", "plan-hist0003"]
    assert history == fresh_read()
    assert len(selectors.past_outcomes(limit=2)) == 2


def test_many_outcomes_added_at_once_are_read_in_two_queries(django_assert_num_queries):
    add_outcome(0, minutes_ago=50)
    assert len(selectors.past_outcomes()) == 1
    for number in range(1, 2 + selectors.FEW_ADDED):
        add_outcome(number, minutes_ago=50 - number)
    with django_assert_num_queries(3):  # stamp, the added rows, their phases
        history = selectors.past_outcomes()
    assert history == fresh_read()
    assert len(history) == 2 + selectors.FEW_ADDED
