"""Reads behind the live event streams (SSE and WebSocket): replay pages, resume points and the table watch.

Plain synchronous ORM functions; `executions.streams` runs them on the shared worker pool. Each one is a single
indexed query (the `(task_id, sequence)` unique constraint, the primary key), so a stream costs a fixed number of
queries however long the task's log grows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db import connection
from django.db.models import Max

from executions.events import event_to_dict
from executions.models import Event, EventStream, Execution
from plans.models import Plan

_DECIMAL = re.compile(r"[0-9]{1,18}")

# Keep IN (...) lists well below SQLite's host-parameter limit.
_IN_CHUNK = 500


def event_task_exists(task_id: str) -> bool:
    """Whether a stream of `task_id` can ever carry events: an execution, a plan (an execution of a plan uses
    the plan id as its task id) or an event of that id exists."""
    return (
        Execution.objects.filter(task_id=task_id).exists()
        or Plan.objects.filter(plan_id=task_id).exists()
        or EventStream.objects.filter(task_id=task_id).exists()
        or Event.objects.filter(task_id=task_id).exists()
    )


def event_resume_sequence(task_id: str, last_event_id: str | None) -> int:
    """The sequence a client has already seen, from its `Last-Event-ID`: an event id of this task, or a sequence
    number. 0 (replay everything) when absent or not recognised, so that a bad header costs repeats, never loss."""
    value = (last_event_id or "").strip()
    if not value:
        return 0
    sequence = (
        Event.objects.filter(task_id=task_id, event_id=value).values_list("sequence", flat=True).first()
        if len(value) <= 12
        else None
    )
    if sequence is not None:
        return sequence
    if _DECIMAL.fullmatch(value):
        return int(value)
    return 0


def event_list_after(task_id: str, after_sequence: int, *, limit: int) -> list[dict]:
    """Up to `limit` contract event dicts of one task with a sequence above `after_sequence`, in order."""
    rows = Event.objects.filter(task_id=task_id, sequence__gt=after_sequence).order_by("sequence")[:limit]
    return [event_to_dict(row) for row in rows]


def event_stream_heads(task_ids: Iterable[str]) -> dict[str, int]:
    """The last committed sequence of each task that has events (tasks without any are absent).

    One statement per chunk of tasks; for each task the highest sequence is read from the end of its range of the
    unique (task_id, sequence) index, whatever the length of its log."""
    task_ids = list(dict.fromkeys(task_ids))
    table = connection.ops.quote_name(Event._meta.db_table)
    heads: dict[str, int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(task_ids), _IN_CHUNK):
            chunk = task_ids[start : start + _IN_CHUNK]
            listed = ", ".join(["(%s)"] * len(chunk))
            cursor.execute(
                f"WITH watched(task_id) AS (VALUES {listed}) "  # noqa: S608 (placeholders and a table name)
                f"SELECT watched.task_id, (SELECT MAX(e.sequence) FROM {table} e WHERE e.task_id = watched.task_id) "
                "FROM watched",
                chunk,
            )
            heads.update((task_id, int(last)) for task_id, last in cursor.fetchall() if last is not None)
    return heads


def event_last_position() -> int:
    """The primary key of the newest event row (0 when there is none): where a tail of all tasks starts."""
    return Event.objects.aggregate(last=Max("pk"))["last"] or 0


def event_tail(after_position: int, *, limit: int) -> tuple[list[dict], int]:
    """Events of every task stored after row `after_position` (by primary key), and the new position."""
    rows = list(Event.objects.filter(pk__gt=after_position).order_by("pk")[:limit])
    position = rows[-1].pk if rows else after_position
    return [event_to_dict(row) for row in rows], position
