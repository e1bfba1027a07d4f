"""The event bus: one `publish` for every state change, three consumers.

`publish_many` appends Event rows (per-task gap-free `sequence`, unique with the task id) inside the caller's
transaction, runs the in-transaction subscribers (the decisions app opening a decision row, the webhook outbox
writing one delivery per matching subscription) in that same transaction, and registers one on-commit hook that
pushes the events to the channel layer (the task's group and the global group) for SSE and WebSocket clients.
A rolled-back write therefore emits nothing, and the event table is the durable log replay reads.

Subscribers register explicitly, from their app's `ready()`, with `subscribe`; there are no Django signals.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from django.db import connection, transaction
from django.utils import timezone

from baton_site import rows
from baton_site.context import current_request_id, server_loop
from executions.models import Event, EventStream

logger = logging.getLogger(__name__)

GLOBAL_GROUP = "events.all"
CHANNEL_MESSAGE_TYPE = "baton.event"
_GROUP_SAFE = re.compile(r"[A-Za-z0-9._-]{1,80}")


Subscriber = Callable[[Sequence[Event]], None]
_subscribers: list[Subscriber] = []


def subscribe(handler: Subscriber) -> None:
    """Register a handler called inside the publishing transaction with the new Event rows (idempotent)."""
    if handler not in _subscribers:
        _subscribers.append(handler)


def group_for_task(task_id: str) -> str:
    """The channel-layer group of one task's events (group names allow only a small alphabet)."""
    if _GROUP_SAFE.fullmatch(task_id):
        return f"task.{task_id}"
    return "task.h" + hashlib.sha256(task_id.encode("utf-8")).hexdigest()[:40]


def event_to_dict(event: Event) -> dict[str, Any]:
    """The contract's event dict (SSE `data`, WebSocket messages, webhook bodies)."""
    return {
        "event_id": event.event_id,
        "timestamp": event.timestamp.isoformat(timespec="seconds"),
        "topic": event.topic,
        "task_id": event.task_id,
        "sequence": event.sequence,
        "payload": event.payload,
    }


def _allocate(task_id: str, count: int) -> int:
    """Reserve `count` sequence numbers for the task, inside the caller's transaction; returns the first.

    - PostgreSQL: the task's counter row (EventStream) is created or advanced and read back in one statement,
      whose row lock holds until the transaction ends, so sequences also commit in order.
    - SQLite: the caller's transaction is the database's one writer (Baton's backend begins every transaction
      IMMEDIATE), so no other writer can add an event until it ends. The task's last sequence is read from the
      unique (task_id, sequence) index and no counter row is written: one page fewer in every event's commit.
      Events are never deleted, so the last stored sequence is the last one handed out.
    """
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            table = quote(Event._meta.db_table)
            cursor.execute(f"SELECT MAX(sequence) FROM {table} WHERE task_id = %s", [task_id])  # noqa: S608
            (last,) = cursor.fetchone()
            return (last or 0) + 1
        table = quote(EventStream._meta.db_table)
        cursor.execute(
            f"INSERT INTO {table} (task_id, last_sequence) VALUES (%s, %s) "  # noqa: S608 (no user input)
            f"ON CONFLICT (task_id) DO UPDATE SET last_sequence = {table}.last_sequence + excluded.last_sequence "
            "RETURNING last_sequence",
            [task_id, count],
        )
        (last,) = cursor.fetchone()
    return int(last) - count + 1


def publish_many(task_id: str, items: Iterable[tuple[str, dict[str, Any]]]) -> list[Event]:
    """Append events for one task, in order, inside the caller's transaction (opened here if there is none)."""
    return publish_prepared(prepare(task_id, items))


def prepare(task_id: str, items: Iterable[tuple[str, dict[str, Any]]]) -> list[Event]:
    """The events of one task, built and checked but not yet numbered or stored (`publish_prepared` does that).

    Everything that does not need the sequence is done here, so that a caller can do it before its transaction:
    on SQLite the transaction's time is the single writer's."""
    now = timezone.now()
    request_id = current_request_id.get()
    return [
        Event(
            event_id=secrets.token_hex(6),
            task_id=task_id,
            topic=topic,
            payload=_json_checked(payload),
            timestamp=now,
            request_id=request_id,
        )
        for topic, payload in items
    ]


def publish_prepared(events: list[Event]) -> list[Event]:
    """Number, store and publish events made by `prepare` (all of one task), inside the caller's transaction
    (opened here if there is none)."""
    if not events:
        return []
    # savepoint=False: inside the caller's transaction this adds no SAVEPOINT round trips; alone, it opens one.
    with transaction.atomic(savepoint=False):
        first = _allocate(events[0].task_id, len(events))
        for offset, event in enumerate(events):
            event.sequence = first + offset
        _insert(events)
        for handler in list(_subscribers):
            handler(events)
        transaction.on_commit(lambda: broadcast(events))
    return events


_EVENT_COLUMNS = ("event_id", "task_id", "sequence", "topic", "payload", "timestamp", "request_id")


def _insert(events: list[Event]) -> None:
    """Store new events of one task and give them their ids (one statement for up to 142 events)."""
    if not rows.can_return_rows():
        Event.objects.bulk_create(events)
        return
    stored = rows.insert(
        Event,
        _EVENT_COLUMNS,
        [[getattr(event, name) for name in _EVENT_COLUMNS] for event in events],
        returning=("id", "sequence"),
    )
    by_sequence = {event.sequence: event for event in events}
    for pk, sequence in stored:
        rows.attach(by_sequence[sequence], pk)


def publish(task_id: str, topic: str, payload: dict[str, Any]) -> Event:
    """Append one event (see `publish_many`)."""
    return publish_many(task_id, [(topic, payload)])[0]


def _json_checked(payload: dict[str, Any]) -> dict[str, Any]:
    # Round-trip through JSON so that a payload the stream or a webhook could not send fails here, at the line
    # that built it, instead of in a consumer after commit.
    return json.loads(json.dumps(payload))


def broadcast(events: Sequence[Event]) -> None:
    """Push committed events to the channel layer. Never raises: the log is durable and clients resume from it.

    Inside a web request the sends are handed to the server's event loop without waiting for them (in order:
    each batch's sends start after the previous batch's). With the in-memory layer only groups that have a
    client in this process are sent to; a process with none (a Celery worker, a command) sends nothing.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    # The in-memory layer knows which groups have a client in this process: no message is built for the others.
    listening = layer.groups if isinstance(layer, InMemoryChannelLayer) else None
    sends: list[tuple[str, dict[str, Any]]] = []
    for event in events:
        targets = [
            group
            for group in (group_for_task(event.task_id), GLOBAL_GROUP)
            if listening is None or listening.get(group)
        ]
        if targets:
            message = {"type": CHANNEL_MESSAGE_TYPE, "event": event_to_dict(event)}
            sends.extend((group, message) for group in targets)
    if not sends:
        return
    loop = server_loop.get()
    if loop is not None and loop.is_running():
        loop.call_soon_threadsafe(_start_sends, layer, sends)
        return

    async def send_all() -> None:
        for group, message in sends:
            await layer.group_send(group, message)

    try:
        async_to_sync(send_all)()
    except Exception:  # noqa: BLE001 - a broken channel layer must not fail the request that already committed
        logger.exception("broadcasting %d events failed", len(events))


_last_sends: asyncio.Task[None] | None = None


def _start_sends(layer: BaseChannelLayer, sends: list[tuple[str, dict[str, Any]]]) -> None:
    """On the server's loop: send one batch after the batch before it (so events leave in commit order)."""
    global _last_sends  # noqa: PLW0603 - one chain per process (one server loop)
    previous = _last_sends

    async def send_after_previous() -> None:
        if previous is not None and not previous.done():
            await asyncio.wait([previous])
        try:
            for group, message in sends:
                await layer.group_send(group, message)
        except Exception:  # noqa: BLE001 - streams resume from the event table
            logger.exception("broadcasting %d messages failed", len(sends))

    _last_sends = asyncio.get_running_loop().create_task(send_after_previous())
