"""`baton_site.rows` must read and write exactly what the ORM would (on SQLite and on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from baton_site import rows
from baton_site.models import AuditEntry
from executions import services
from executions.models import Execution, StepResult
from plans.models import Plan
from plans.services import plan_store_inline
from tests.executions.plans import inline_plan

pytestmark = pytest.mark.django_db


def start(plan: dict) -> None:
    services.execution_start(plan=plan_store_inline(data=plan))


def field_values(instance: Model, names: list[str]) -> dict[str, object]:
    return {name: getattr(instance, name) for name in names}


def test_insert_stores_what_the_orm_reads_back():
    stamp = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    names = ("timestamp", "actor", "method", "route", "path", "target_ids", "status_code", "request_id")
    rows.insert(
        AuditEntry,
        names,
        [
            [stamp, "user:ann", "POST", "api/v1/x", "/api/v1/x", ["a", "b é"], 201, "req-1"],
            [stamp, "anonymous", "DELETE", "", "/api/v1/y", [], 404, ""],
        ],
    )
    first, second = AuditEntry.objects.order_by("id")
    assert field_values(first, list(names)) == {
        "timestamp": stamp,
        "actor": "user:ann",
        "method": "POST",
        "route": "api/v1/x",
        "path": "/api/v1/x",
        "target_ids": ["a", "b é"],
        "status_code": 201,
        "request_id": "req-1",
    }
    assert (second.method, second.target_ids, second.status_code) == ("DELETE", [], 404)


@pytest.mark.skipif(not rows.can_return_rows(), reason="this SQLite cannot return rows from an INSERT")
def test_insert_returns_the_new_rows_and_splits_at_the_parameter_limit():
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    names = ("timestamp", "actor", "method", "route", "path", "target_ids", "status_code", "request_id")
    count = rows.MAX_PARAMETERS // len(names) * 2 + 5  # three statements
    returned = rows.insert(
        AuditEntry,
        names,
        [[stamp, "a", "POST", "", f"/p/{n}", [], 200, f"r{n}"] for n in range(count)],
        returning=("id", "request_id"),
    )
    stored = dict(AuditEntry.objects.values_list("id", "request_id"))
    assert len(returned) == count == len(stored)
    assert dict(returned) == stored


def test_update_changes_only_the_matching_row():
    start(inline_plan([[{}, {}]]))
    execution = Execution.objects.get()
    changed = rows.update(
        StepResult, {"status": "complete", "tokens": 7}, execution_id=execution.pk, step_id="0.1"
    )
    assert changed == 1
    assert dict(StepResult.objects.values_list("step_id", "status")) == {"0.0": "running", "0.1": "complete"}
    assert StepResult.objects.get(step_id="0.1").tokens == 7


def test_fetch_locked_reads_every_column_as_the_orm_does():
    start(inline_plan([[{}, {}], [{}]]))
    expected = Execution.objects.select_related("plan").get()
    expected.completed_at = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    expected.cancelled = True
    expected.open_decision = None
    expected.save()
    expected.refresh_from_db()
    found = rows.fetch_locked(Execution, "plan", ("plan_id", "risk_level"), task_id=expected.task_id)
    assert isinstance(found, Execution)
    names = [field.attname for field in Execution._meta.concrete_fields]
    assert field_values(found, names) == field_values(expected, names)
    assert (found.plan.pk, found.plan.plan_id, found.plan.risk_level) == (
        expected.plan.pk,
        expected.plan.plan_id,
        expected.plan.risk_level,
    )
    assert found.plan.get_deferred_fields() >= {"description", "extra", "agents"}
    assert found.plan.task_summary == expected.plan.task_summary  # a deferred column still loads on access
    assert rows.fetch_locked(Execution, "plan", ("plan_id",), task_id="task-none") is None
    assert isinstance(Plan.objects.get(pk=found.plan.pk), Plan)


def test_values_reads_converted_values_in_order():
    start(inline_plan([[{}, {}, {}]]))
    execution = Execution.objects.get()
    read = rows.values(
        StepResult, ("step_id", "dispatched_at", "attempts"), execution_id=execution.pk, phase_id=0
    )
    orm = list(
        StepResult.objects.filter(execution=execution).values_list("step_id", "dispatched_at", "attempts")
    )
    assert read == orm
    assert isinstance(read[0][1], datetime)


def test_stamp_tells_added_and_removed_rows_apart():
    empty = rows.stamp(AuditEntry, "timestamp")
    assert empty[0] == 0
    assert empty[1] is None
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    names = ("timestamp", "actor", "method", "route", "path", "target_ids", "status_code", "request_id")
    rows.insert(AuditEntry, names, [[stamp, "a", "POST", "", "/p", [], 200, "r1"]] * 2)
    two = rows.stamp(AuditEntry, "timestamp")
    last = AuditEntry.objects.order_by("id").last()
    assert (two[0], two[1]) == (2, last.pk)
    assert rows.stamp(AuditEntry, "timestamp") == two
    AuditEntry.objects.filter(pk=AuditEntry.objects.order_by("id").first().pk).delete()
    assert rows.stamp(AuditEntry, "timestamp") != two


def test_lock_reports_whether_a_row_matched():
    start(inline_plan([[{}]]))
    plan = Plan.objects.get()
    assert rows.lock(Plan, id=plan.pk) is True
    assert rows.lock(Plan, id=plan.pk + 1000) is False


def test_find_loads_the_matching_row_or_none():
    start(inline_plan([[{}]]))
    execution = Execution.objects.get()
    found = rows.find(Execution, task_id=execution.task_id)
    assert isinstance(found, Execution)
    assert (found.pk, found.status, found.plan_id) == (execution.pk, execution.status, execution.plan_id)
    assert rows.find(Execution, task_id="task-none") is None


def test_one_loads_every_column_as_the_orm_does_or_none():
    start(inline_plan([[{}, {}], [{}]]))
    for model, where in ((Plan, "plan_id"), (Execution, "task_id")):
        expected = model.objects.get()
        found = rows.one(model, **{where: getattr(expected, where)})
        assert isinstance(found, model)
        assert found._state.adding is False
        for field in model._meta.concrete_fields:
            assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
        assert rows.one(model, **{where: "none"}) is None


def test_statements_keep_their_meaning_when_the_placeholder_rewrite_is_remembered():
    with connection.cursor() as cursor:
        for value in ("first", "second"):  # the second run takes the remembered rewrite
            cursor.execute("SELECT '100%%', %s, %s", [value, 7])
            assert cursor.fetchone() == ("100%", value, 7)
        cursor.execute("SELECT %(name)s", {"name": "named"})  # pyformat: rewritten as Django does
        assert cursor.fetchone() == ("named",)


def test_create_stores_every_column_as_the_orm_would_and_attaches_the_id():
    made = rows.create(
        AuditEntry(
            timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            method="POST",
            path="/api/v1/plans",
            target_ids=["plan-1", "task-2"],
            status_code=201,
        )
    )
    assert made.pk is not None
    assert made._state.adding is False
    stored = AuditEntry.objects.get(pk=made.pk)
    for field in AuditEntry._meta.concrete_fields:
        assert getattr(stored, field.attname) == getattr(made, field.attname), field.name
    assert stored.actor == AuditEntry._meta.get_field("actor").get_default()


def test_create_stamps_auto_now_columns():
    start(inline_plan([[{}]]))
    plan = Plan.objects.get()
    before = timezone.now()
    made = rows.create(
        Execution(task_id="task-made", plan=plan, phase_count=1, total_steps=1, started_at=before)
    )
    stored = Execution.objects.get(pk=made.pk)
    assert stored.updated_at >= before
    assert stored.updated_at == made.updated_at


def test_values_above_a_bound_matches_the_orm():
    start(inline_plan([[{}, {}, {}], [{}]]))
    execution = Execution.objects.get()
    first = StepResult.objects.filter(execution=execution).order_by("id").first()
    expected = list(
        StepResult.objects.filter(execution=execution, id__gt=first.pk)
        .order_by("id")
        .values_list("id", "step_id")
    )
    assert len(expected) == 3
    assert (
        rows.values(StepResult, ("id", "step_id"), above=("id", first.pk), execution=execution.pk) == expected
    )
    assert rows.values(StepResult, ("id",), order_by=(), above=("id", expected[-1][0])) == []
    with pytest.raises(TypeError):
        rows.values(StepResult, ("id",))


@pytest.mark.parametrize(
    ("model", "name", "values"),
    [
        (AuditEntry, "actor", ["user:ann", "", None, 12, timezone]),
        (AuditEntry, "status_code", [0, 201, None, "404", True]),
        (AuditEntry, "target_ids", [["a", "b é"], [], {"k": [1, None]}, None, "text", 3]),
        (
            AuditEntry,
            "timestamp",
            [
                datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
                timezone.now(),
                None,
                "2026-01-02 03:04:05+00:00",
            ],
        ),
        (StepResult, "execution", [1, 2**40, None, "7"]),
        (Execution, "cancelled", [True, False]),
    ],
)
def test_prepared_values_are_what_the_orm_sends(model, name, values):
    """The shortcut for plain values gives the parameter the field's own `get_db_prep_save` gives, on each
    database; other values (strings for numbers, naive datetimes, a module) take the full path and get its answer."""
    field = model._meta.get_field(name)
    for value in values:
        try:
            expected = field.get_db_prep_save(value, connection)
        except (TypeError, ValueError) as exc:
            with pytest.raises(type(exc)):
                rows._prepared(rows._preparers(model, (name,)), [value], connection)
            continue
        (prepared,) = rows._prepared(rows._preparers(model, (name,)), [value], connection)
        assert type(prepared) is type(expected)
        # PostgreSQL's JSON parameters are wrappers holding the value.
        assert getattr(prepared, "obj", prepared) == getattr(expected, "obj", expected)
