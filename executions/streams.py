"""Live event streams: the SSE endpoint, and the per-process hub that SSE and WebSocket clients share.

Delivery guarantee: a task stream delivers every event of the task exactly once, in `sequence` order, whatever
the process that published it and whatever the channel layer dropped. It rests on two facts of the event bus
(`executions.events`): the Event table is the complete log, with a gap-free per-task `sequence` (a writer holds
the task's EventStream row locked until it commits, so sequences also *commit* in order); and the channel-layer
broadcast happens only after commit, so an event that arrives live is already readable from the table.

How a task stream runs (`TaskFeed`):
1. Subscribe first: the client's `Subscription` starts buffering live events of the task.
2. Replay: read the table in pages of `sequence > position` (position = 0, or the `Last-Event-ID` a reconnecting
   client sent) until a short page; the position advances with every event sent.
3. Live: each buffered event with `sequence <= position` is a repeat (it was in the replay) and is skipped; the
   event `position + 1` is sent; anything beyond is a gap, and the feed reads `sequence > position` from the
   table again instead of trusting the buffer. So nothing published during the replay is lost or repeated.
4. The table watch: live push only reaches processes that share a channel layer (Redis). Without Redis, an event
   published by another process (the Celery worker, a management command, another web process) never reaches
   this process's layer. One watcher task per process reads, every `BATON_STREAM_POLL_INTERVAL` seconds (default
   1 s), the committed head (`EventStream.last_sequence`) of every task that has a client here, in one query, and
   asks the clients that are behind to catch up from the table. It also repairs what Redis drops when a group's
   buffer is full (DESIGN.md, capacity note) and a bounded client buffer that overflowed.

The hub (`StreamHub`, one per process and event loop): one channel-layer channel joins the group of every task
that has at least one client in the process (and a second channel the global group), and one pump task per
channel dispatches each message to the local subscriptions. A publish therefore costs one channel-layer message
per process, not one per client, and each event is encoded once (`StreamEvent.sse_frame`) for all its clients.
A client holds no channel of its own: an idle client is a suspended coroutine and a small buffer.
A stream's database reads run on the loop's shared worker pool, and `release_request_thread` lets go of the
worker thread Django's ASGI handler keeps per request, so clients do not cost a thread each either.
Groups are left when their last client goes, and the pumps and the watcher stop with the last client; every open
and close logs the process's gauges (`open_streams`, `task_groups`, `background_tasks`), which
`StreamHub.stats()` also returns, and moves the `baton_stream_clients` gauge of /metrics.

The all-tasks stream (`AllTasksFeed`, WebSocket `/ws/events/`) has no replay; it deduplicates and fills gaps per
task for the tasks it has seen, and the watcher tails the table by row id for it. A client whose buffer
overflows is disconnected (`StreamOverflow`) rather than silently missing events.

SSE endpoint (`event_stream`, GET /api/v1/events/{task_id}): an async view, 404 `{"detail": ...}` for a task id
that cannot have events (no execution, no plan and no event of that id), otherwise replay then live, with a
`: keepalive` comment after every `BATON_SSE_KEEPALIVE` seconds of silence. Authentication is the bearer token,
or `?token=` for this path because EventSource cannot send headers (`baton_site.auth`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import weakref
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import SyncToAsync, sync_to_async
from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponseBase, JsonResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.views import APIView

from baton_site.metrics import STREAM_CLIENTS
from baton_site.schema import ErrorDetailSerializer
from executions import stream_selectors
from executions.events import CHANNEL_MESSAGE_TYPE, GLOBAL_GROUP, group_for_task

logger = logging.getLogger(__name__)

KEEPALIVE_FRAME = b": keepalive\n\n"
EVENT_STREAM_CONTENT_TYPE = "text/event-stream"
REPLAY_PAGE_SIZE = 500
# Live events buffered per client while it is busy (replaying, or a slow reader); beyond this the buffer is
# dropped and the client catches up from the table.
SUBSCRIPTION_BUFFER_LIMIT = 1000
# Events of this many tasks remembered per all-tasks client for de-duplication and gap filling.
ALL_TASKS_CURSOR_LIMIT = 10_000
TAIL_PAGE_SIZE = 1000
DEFAULT_POLL_INTERVAL = 1.0
# Both channel layers expire group membership after a day (`group_expiry`); the hub renews it well before.
GROUP_RENEW_SECONDS = 3600.0
PUMP_RETRY_SECONDS = 1.0

P = ParamSpec("P")
R = TypeVar("R")


def database_call(function: Callable[P, R]) -> Callable[P, Any]:
    """Run an ORM read on the loop's shared worker pool, on a connection opened for it and closed after it.

    Thread-sensitive calls would run in the ASGI handler's per-request thread and keep it alive for a stream's
    whole life; the pool is bounded and shared by every client. Its threads outlive requests, so they keep no
    connection between reads (Django closes a request thread's connections when the request ends; nothing
    would close these)."""

    @functools.wraps(function)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    return sync_to_async(call, thread_sensitive=False)


task_exists = database_call(stream_selectors.event_task_exists)
resume_sequence = database_call(stream_selectors.event_resume_sequence)
_events_after = database_call(stream_selectors.event_list_after)
_stream_heads = database_call(stream_selectors.event_stream_heads)
_last_position = database_call(stream_selectors.event_last_position)
_tail = database_call(stream_selectors.event_tail)


@dataclass(frozen=True)
class StreamEvent:
    """One event as the contract's dict, with its SSE frame and JSON text encoded once and shared by clients."""

    data: dict[str, Any]

    @property
    def task_id(self) -> str:
        return self.data["task_id"]

    @property
    def sequence(self) -> int:
        return self.data["sequence"]

    @functools.cached_property
    def json_text(self) -> str:
        return json.dumps(self.data, separators=(",", ":"))

    @functools.cached_property
    def sse_frame(self) -> bytes:
        topic = _single_line(str(self.data["topic"]))
        event_id = _single_line(str(self.data["event_id"]))
        return f"event: {topic}\nid: {event_id}\ndata: {self.json_text}\n\n".encode()

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> StreamEvent | None:
        """The event of a channel-layer message from `events.broadcast`, or None for anything else."""
        data = message.get("event")
        if message.get("type") != CHANNEL_MESSAGE_TYPE or not isinstance(data, dict):
            return None
        if not isinstance(data.get("task_id"), str) or not isinstance(data.get("sequence"), int):
            return None
        return cls(data)


def _single_line(value: str) -> str:
    # A line break inside a field would end the SSE field early (JSON text never contains a raw one).
    return value.replace("\r", " ").replace("\n", " ")


class StreamOverflow(Exception):
    """An all-tasks client fell more than SUBSCRIPTION_BUFFER_LIMIT events behind; it must reconnect."""


class Subscription:
    """One client's live buffer in the hub: events offered by the pumps and the watcher, plus a flag that tells
    the client to catch up from the table (its buffer overflowed, or the table is ahead of it)."""

    def __init__(self, task_id: str | None, kind: str) -> None:
        self.task_id = task_id  # None: every task
        self.kind = kind
        self.position = 0  # highest sequence delivered (task subscriptions; written by the feed)
        self.highest_offered = 0
        self._pending: deque[StreamEvent] = deque()
        self._catch_up = False
        self._wakeup = asyncio.Event()
        # The silence timer is re-armed lazily: a wait sets a deadline, and at most one timer is pending, so a
        # busy stream does not create and cancel a timer for every event it receives.
        self._deadline = 0.0
        self._waiting = False
        self._timer: asyncio.TimerHandle | None = None

    def offer(self, event: StreamEvent) -> None:
        if len(self._pending) >= SUBSCRIPTION_BUFFER_LIMIT:
            # Bounded memory for a slow client: forget the buffer, everything in it is in the table.
            self._pending.clear()
            self._catch_up = True
        else:
            self._pending.append(event)
        if self.task_id is not None:
            self.highest_offered = max(self.highest_offered, event.sequence)
        self._wakeup.set()

    def request_catch_up(self) -> None:
        self._catch_up = True
        self._wakeup.set()

    async def wait(self, timeout: float) -> bool:
        """Wait until there is something to take; False when `timeout` seconds pass first."""
        if self._pending or self._catch_up:
            return True
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + timeout
        if self._timer is None or self._timer.when() > self._deadline:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_at(self._deadline, self._on_timer)
        self._wakeup.clear()
        self._waiting = True
        try:
            await self._wakeup.wait()
        finally:
            self._waiting = False
        return bool(self._pending or self._catch_up)

    def _on_timer(self) -> None:
        self._timer = None
        if not self._waiting:
            return  # the next wait arms a timer again
        loop = asyncio.get_running_loop()
        if loop.time() >= self._deadline:
            self._wakeup.set()
        else:
            self._timer = loop.call_at(self._deadline, self._on_timer)

    def close(self) -> None:
        """Cancel the silence timer (the client is gone)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def take(self) -> tuple[list[StreamEvent], bool]:
        """The buffered events, oldest first, and whether the client must catch up from the table."""
        events = list(self._pending)
        self._pending.clear()
        catch_up, self._catch_up = self._catch_up, False
        self._wakeup.clear()
        return events, catch_up


class StreamHub:
    """The process's single subscriber to the channel layer for streams (see the module docstring)."""

    def __init__(self, layer: BaseChannelLayer | None) -> None:
        self._layer = layer
        self._by_task: dict[str, set[Subscription]] = {}
        self._all_tasks: set[Subscription] = set()
        self._membership = asyncio.Lock()
        self._task_channel: str | None = None
        self._global_channel: str | None = None
        self._task_pump: asyncio.Task[None] | None = None
        self._global_pump: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._tail_position = 0
        self._groups_renewed_at = 0.0
        self._rejoin_needed = False

    # -- gauges ----------------------------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Process-local gauges: open subscriptions, joined task groups, running background tasks."""
        running = [t for t in (self._task_pump, self._global_pump, self._watcher) if t and not t.done()]
        return {
            "open_streams": sum(len(subs) for subs in self._by_task.values()) + len(self._all_tasks),
            "task_groups": len(self._by_task),
            "all_tasks_streams": len(self._all_tasks),
            "background_tasks": len(running),
        }

    def _log(self, verb: str, subscription: Subscription) -> None:
        gauges = self.stats()
        logger.info(
            "stream %s: kind=%s task=%s open_streams=%d task_groups=%d background_tasks=%d",
            verb,
            subscription.kind,
            subscription.task_id or "*",
            gauges["open_streams"],
            gauges["task_groups"],
            gauges["background_tasks"],
        )

    # -- membership ------------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def subscription(self, task_id: str | None, *, kind: str) -> AsyncIterator[Subscription]:
        """Subscribe for the duration of the block; on exit (including cancellation by a client disconnect)
        the subscription, and the group and background tasks it alone needed, are released."""
        subscription = await self.subscribe(task_id, kind=kind)
        try:
            yield subscription
        finally:
            # Shielded: the client's task is usually being cancelled right now, and the group must still be left.
            await asyncio.shield(self.unsubscribe(subscription))

    async def subscribe(self, task_id: str | None, *, kind: str) -> Subscription:
        subscription = Subscription(task_id, kind)
        async with self._membership:
            if task_id is None:
                if not self._all_tasks:
                    self._tail_position = await _last_position()
                    self._global_channel = await self._join(GLOBAL_GROUP, self._global_channel)
                    self._global_pump = self._start_pump(self._global_channel, self._dispatch_all_tasks)
                self._all_tasks.add(subscription)
            else:
                subscribers = self._by_task.get(task_id)
                if subscribers is None:
                    if self._task_channel is None and self._layer is not None:
                        self._task_channel = await self._layer.new_channel()
                        self._task_pump = self._start_pump(self._task_channel, self._dispatch_task)
                    # Joined before the client reads the table: nothing committed after its replay is missed.
                    await self._join(group_for_task(task_id), self._task_channel)
                    subscribers = self._by_task[task_id] = set()
                subscribers.add(subscription)
            if self._watcher is None or self._watcher.done():
                self._watcher = asyncio.create_task(self._watch(), name="baton-stream-watcher")
            STREAM_CLIENTS.labels(transport=kind).inc()
            self._log("opened", subscription)
        return subscription

    async def unsubscribe(self, subscription: Subscription) -> None:
        async with self._membership:
            if subscription.task_id is None:
                self._all_tasks.discard(subscription)
                if not self._all_tasks:
                    await self._leave(GLOBAL_GROUP, self._global_channel)
                    await _stop(self._global_pump)
                    self._global_pump = self._global_channel = None
            else:
                subscribers = self._by_task.get(subscription.task_id)
                if subscribers is not None:
                    subscribers.discard(subscription)
                    if not subscribers:
                        del self._by_task[subscription.task_id]
                        await self._leave(group_for_task(subscription.task_id), self._task_channel)
                if not self._by_task and self._task_pump is not None:
                    await _stop(self._task_pump)
                    self._task_pump = self._task_channel = None
            if not self._by_task and not self._all_tasks:
                await _stop(self._watcher)
                self._watcher = None
            subscription.close()
            STREAM_CLIENTS.labels(transport=subscription.kind).dec()
            self._log("closed", subscription)

    async def _join(self, group: str, channel: str | None) -> str | None:
        if self._layer is None:
            return None
        if channel is None:
            channel = await self._layer.new_channel()
        try:
            await self._layer.group_add(group, channel)
        except Exception:  # noqa: BLE001 - e.g. Redis unreachable: serve from the table, join again next tick
            logger.warning("joining channel-layer group %s failed; retrying", group, exc_info=True)
            self._rejoin_needed = True
        return channel

    async def _leave(self, group: str, channel: str | None) -> None:
        if self._layer is None or channel is None:
            return
        try:
            await self._layer.group_discard(group, channel)
        except Exception:  # noqa: BLE001 - a failed discard only costs messages the layer expires itself
            logger.warning("leaving channel-layer group %s failed", group, exc_info=True)

    # -- live push -------------------------------------------------------------------------------------------

    def _start_pump(
        self, channel: str | None, dispatch: Callable[[StreamEvent], None]
    ) -> asyncio.Task[None] | None:
        if channel is None:
            return None
        if self._layer is None:
            return None
        pump = self._pump(self._layer, channel, dispatch)
        return asyncio.create_task(pump, name=f"baton-stream-pump {channel}")

    @staticmethod
    async def _pump(layer: BaseChannelLayer, channel: str, dispatch: Callable[[StreamEvent], None]) -> None:
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - e.g. Redis unreachable: the watcher keeps clients fed meanwhile
                logger.warning("receiving from the channel layer failed; retrying", exc_info=True)
                await asyncio.sleep(PUMP_RETRY_SECONDS)
                continue
            event = StreamEvent.from_message(message)
            if event is not None:
                dispatch(event)

    def _dispatch_task(self, event: StreamEvent) -> None:
        for subscription in self._by_task.get(event.task_id, ()):
            subscription.offer(event)

    def _dispatch_all_tasks(self, event: StreamEvent) -> None:
        for subscription in self._all_tasks:
            subscription.offer(event)

    # -- the table watch -------------------------------------------------------------------------------------

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        self._groups_renewed_at = loop.time()
        while True:
            await asyncio.sleep(_poll_interval())
            try:
                await self.check_table()
                if self._rejoin_needed or loop.time() - self._groups_renewed_at > GROUP_RENEW_SECONDS:
                    self._rejoin_needed = False
                    self._groups_renewed_at = loop.time()
                    await self._renew_groups()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a failed poll is retried at the next tick
                logger.warning("checking the event table for streams failed", exc_info=True)

    async def check_table(self) -> None:
        """Wake task clients that are behind the committed head, and feed all-tasks clients the table's tail."""
        if self._by_task:
            heads = await _stream_heads(list(self._by_task))
            for task_id, head in heads.items():
                for subscription in self._by_task.get(task_id, ()):
                    if max(subscription.position, subscription.highest_offered) < head:
                        subscription.request_catch_up()
        if self._all_tasks:
            rows, self._tail_position = await _tail(self._tail_position, limit=TAIL_PAGE_SIZE)
            for data in rows:
                self._dispatch_all_tasks(StreamEvent(data))

    async def _renew_groups(self) -> None:
        async with self._membership:
            for task_id in list(self._by_task):
                await self._join(group_for_task(task_id), self._task_channel)
            if self._all_tasks:
                await self._join(GLOBAL_GROUP, self._global_channel)


async def _stop(task: asyncio.Task[None] | None) -> None:
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _poll_interval() -> float:
    return float(getattr(settings, "BATON_STREAM_POLL_INTERVAL", DEFAULT_POLL_INTERVAL))


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, StreamHub] = weakref.WeakKeyDictionary()


def get_hub() -> StreamHub:
    """The hub of the running event loop (daphne runs one loop per process)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = StreamHub(get_channel_layer())
    return hub


class TaskFeed:
    """Exactly-once, in-order delivery of one task's events to one client: replay, then live (module docstring)."""

    def __init__(self, subscription: Subscription, after_sequence: int = 0) -> None:
        if subscription.task_id is None:
            raise ValueError("a TaskFeed needs the subscription of one task")
        self._subscription = subscription
        self._task_id = subscription.task_id
        self._position = subscription.position = after_sequence
        self._reading_table = True  # the replay is a catch-up from position 0 (or Last-Event-ID)

    @property
    def position(self) -> int:
        return self._position

    async def next_batch(self, timeout: float) -> list[StreamEvent] | None:
        """The next events to send, in order (possibly none); None when `timeout` seconds passed in silence."""
        if self._reading_table:
            return await self._read_table()
        if not await self._subscription.wait(timeout):
            return None
        live, catch_up = self._subscription.take()
        batch: list[StreamEvent] = []
        for event in live:
            if event.sequence <= self._position:
                continue  # already sent: it was committed before the replay read it
            if event.sequence != self._position + 1:
                catch_up = True  # a gap (dropped, or published by a process this one does not hear)
                break
            batch.append(event)
            self._advance(event.sequence)
        if catch_up:
            self._reading_table = True
            batch.extend(await self._read_table())
        return batch

    async def _read_table(self) -> list[StreamEvent]:
        rows = await _events_after(self._task_id, self._position, limit=REPLAY_PAGE_SIZE)
        if len(rows) < REPLAY_PAGE_SIZE:
            self._reading_table = False
        events = [StreamEvent(data) for data in rows]
        if events:
            self._advance(events[-1].sequence)
        return events

    def _advance(self, sequence: int) -> None:
        self._position = self._subscription.position = sequence


class AllTasksFeed:
    """Live events of every task for one client: no replay; per task, repeats skipped and gaps filled from the
    table for the tasks seen since the client connected."""

    def __init__(self, subscription: Subscription) -> None:
        if subscription.task_id is not None:
            raise ValueError("an AllTasksFeed needs the all-tasks subscription")
        self._subscription = subscription
        self._cursors: OrderedDict[str, int] = OrderedDict()

    async def next_batch(self, timeout: float) -> list[StreamEvent] | None:
        if not await self._subscription.wait(timeout):
            return None
        live, overflowed = self._subscription.take()
        if overflowed:
            raise StreamOverflow
        batch: list[StreamEvent] = []
        for event in live:
            last = self._cursors.get(event.task_id)
            if last is not None and event.sequence <= last:
                continue
            if last is not None and event.sequence > last + 1:
                batch.extend(await self._fill_gap(event.task_id, last, event.sequence))
            batch.append(event)
            self._remember(event.task_id, event.sequence)
        return batch

    async def _fill_gap(self, task_id: str, last: int, upto: int) -> list[StreamEvent]:
        missing: list[StreamEvent] = []
        while last < upto - 1:
            rows = await _events_after(task_id, last, limit=min(REPLAY_PAGE_SIZE, upto - 1 - last))
            if not rows:
                break
            missing.extend(StreamEvent(data) for data in rows)
            last = rows[-1]["sequence"]
        return missing

    def _remember(self, task_id: str, sequence: int) -> None:
        self._cursors[task_id] = sequence
        self._cursors.move_to_end(task_id)
        if len(self._cursors) > ALL_TASKS_CURSOR_LIMIT:
            self._cursors.popitem(last=False)


# -- SSE ---------------------------------------------------------------------------------------------------------


def release_request_thread() -> None:
    """Let the ASGI handler's per-request worker thread go before a long stream starts.

    Django runs each request in its own thread-sensitive context, whose single worker thread runs the sync parts
    of the middleware and then stays, idle, until the response has been sent: for a stream, as long as the
    client stays. By the time the body is iterated the middleware has finished, and the stream itself makes only
    thread-insensitive calls, so the thread can be shut down now (Django's final `response.close()` runs in a
    fresh one). Without asgiref's context attributes this does nothing.
    """
    context_var = getattr(SyncToAsync, "thread_sensitive_context", None)
    executors = getattr(SyncToAsync, "context_to_thread_executor", None)
    if context_var is None or executors is None:
        return
    context = context_var.get(None)
    if context is None or getattr(context, "_executor", None) is not None:
        return  # a caller-owned executor is not ours to shut down
    executor = executors.pop(context, None)
    if executor is not None:
        executor.shutdown(wait=False)


async def sse_frames(task_id: str, after_sequence: int) -> AsyncIterator[bytes]:
    """The SSE body of one task: replay after `after_sequence`, then live events and keepalive comments."""
    release_request_thread()
    loop = asyncio.get_running_loop()
    keepalive = float(settings.BATON_SSE_KEEPALIVE)
    async with get_hub().subscription(task_id, kind="sse") as subscription:
        feed = TaskFeed(subscription, after_sequence)
        yield b""  # sends the response headers now (an EventSource opens on them), even before any event
        last_write = loop.time()
        while True:
            remaining = keepalive - (loop.time() - last_write)
            if remaining <= 0:
                yield KEEPALIVE_FRAME
                last_write = loop.time()
                continue
            try:
                batch = await feed.next_batch(remaining)
            except DatabaseError:
                # End the response cleanly: the client reconnects with the Last-Event-ID it has and resumes.
                logger.warning(
                    "event stream of %s ended: the event table could not be read", task_id, exc_info=True
                )
                return
            if batch:
                yield b"".join(event.sse_frame for event in batch)
                last_write = loop.time()


async def event_stream(request: HttpRequest, task_id: str) -> HttpResponseBase:
    """GET /api/v1/events/{task_id}: Server-Sent Events of one task (documented by `EventStreamSchema`)."""
    if request.method != "GET":
        return JsonResponse({"detail": "Method Not Allowed"}, status=405, headers={"Allow": "GET"})
    if not await task_exists(task_id):
        return JsonResponse({"detail": f"Task '{task_id}' not found"}, status=404)
    after_sequence = await resume_sequence(task_id, request.headers.get("Last-Event-ID"))
    response = StreamingHttpResponse(
        sse_frames(task_id, after_sequence), content_type=EVENT_STREAM_CONTENT_TYPE
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


# -- OpenAPI -----------------------------------------------------------------------------------------------------

_SSE_EXAMPLE = (
    "event: step.dispatched\n"
    "id: a1b2c3d4e5f6\n"
    'data: {"event_id":"a1b2c3d4e5f6","timestamp":"2026-03-24T10:01:00+00:00","topic":"step.dispatched",'
    '"task_id":"task-abc123","sequence":1,"payload":{"step_id":"0.0","agent_name":"backend-engineer--python"}}\n'
    "\n"
    ": keepalive\n\n"
)


# One message of the stream as SSE parsers (and schemathesis) see it: `data` is the JSON-encoded event dict.
ServerSentEventSerializer = inline_serializer(
    "ServerSentEvent",
    fields={
        "event": serializers.CharField(help_text="The event topic, e.g. step.completed"),
        "id": serializers.CharField(help_text="The event id (12 hex characters)"),
        "data": serializers.CharField(help_text="The event dict, JSON-encoded"),
    },
)

UnauthorizedSerializer = inline_serializer(
    "UnauthorizedError", fields={"error": serializers.CharField(), "detail": serializers.CharField()}
)


class EventStreamSchema(APIView):
    """The OpenAPI description of `event_stream`.

    DRF views are synchronous, and a stream must be produced by an async view so that it holds no thread while
    it waits; drf-spectacular documents DRF views only. So the URL's callback is the async view, carrying this
    class as its `cls` (as `APIView.as_view()` would) for the schema generator; this class never serves a
    request."""

    @extend_schema(
        operation_id="events_stream",
        tags=["Events"],
        summary="Stream a task's events (Server-Sent Events)",
        description=(
            "Opens a `text/event-stream`. The stream first replays every stored event of the task in `sequence` "
            "order, then forwards new events as they are published (by this or any other server process), and "
            "sends a `: keepalive` comment after 30 seconds without an event. Each event is one SSE message: "
            "`event:` the topic, `id:` the event id, `data:` the JSON event dict.\n\n"
            "Resume: a client that reconnects with `Last-Event-ID` (the id of the last event it received, or its "
            "`sequence` number) receives only the events after it, then live ones; no event is lost or repeated. "
            "An unrecognised `Last-Event-ID` replays everything.\n\n"
            "Unknown task ids: a task id with no execution, no plan and no stored event can never carry events, so "
            "the stream is refused with 404 rather than kept open forever. Start the execution (or create the plan) "
            "first; a plan's id is the task id of its execution.\n\n"
            "Authentication: with a token configured, send `Authorization: Bearer <token>`, or, since `EventSource` "
            "cannot send headers, `?token=<token>` (accepted on this path only).\n\n"
            "The same events are available over WebSocket at `/ws/events/{task_id}` (replay, then live; resume "
            "with `?last_event_id=`) and `/ws/events/` (every task, live only), as JSON text messages; "
            'send `{"type": "ping"}` to get `{"type": "pong"}`. The token goes in the `Authorization` header or '
            "`?token=`; without it the handshake is refused (HTTP 403)."
        ),
        parameters=[
            OpenApiParameter(
                "Last-Event-ID",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Resume after this event id (or sequence number).",
            ),
            OpenApiParameter(
                "token",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description="The API token, for clients that cannot send an Authorization header.",
            ),
        ],
        responses={
            (200, EVENT_STREAM_CONTENT_TYPE): OpenApiResponse(
                response=ServerSentEventSerializer,
                description="The event stream.",
                examples=[OpenApiExample("stream", value=_SSE_EXAMPLE, media_type=EVENT_STREAM_CONTENT_TYPE)],
            ),
            (401, "application/json"): OpenApiResponse(
                UnauthorizedSerializer,
                description="A token is configured and the request carries no valid one.",
            ),
            (404, "application/json"): OpenApiResponse(
                ErrorDetailSerializer, description="No execution, plan or event has this task id."
            ),
        },
    )
    def get(self, request: HttpRequest, task_id: str) -> HttpResponseBase:
        raise NotImplementedError("served by executions.streams.event_stream")


# The URL callback carries its schema class, as a view made by `APIView.as_view()` does.
event_stream.cls = EventStreamSchema  # type: ignore[attr-defined]
event_stream.initkwargs = {}  # type: ignore[attr-defined]
