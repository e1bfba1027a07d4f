"""WebSocket event streams: `/ws/events/{task_id}` (one task) and `/ws/events/` (every task).

Each socket receives the contract's event dicts as JSON text messages, exactly as the SSE endpoint's `data:`
lines carry them, and answers `{"type": "ping"}` with `{"type": "pong"}`. Both are thin adapters over the
process's `StreamHub` (`executions.streams`): a forwarding task reads the client's feed and sends.

- The task socket replays every stored event of the task first, then live events (the same `TaskFeed` as SSE:
  no loss, no repeats); `?last_event_id=<event id or sequence>` resumes after that event. An unknown task id
  is accepted and then closed with code 4404 (a refused handshake could not tell it apart from a bad token).
- The all-tasks socket sends live events only (no replay: the log of every task is unbounded); a client that
  falls more than `SUBSCRIPTION_BUFFER_LIMIT` events behind is closed with 1013 (try again later).
Authentication and the origin check happen before the handshake is accepted (`baton_site.routing`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from executions.streams import (
    AllTasksFeed,
    StreamOverflow,
    Subscription,
    TaskFeed,
    get_hub,
    resume_sequence,
    task_exists,
)

logger = logging.getLogger(__name__)

Feed = TaskFeed | AllTasksFeed

CLOSE_UNKNOWN_TASK = 4404
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_INTERNAL_ERROR = 1011
# The feed waits this long between checks when idle; daphne's own WebSocket pings keep the connection alive.
IDLE_WAIT_SECONDS = 3600.0


class _EventsConsumer(AsyncJsonWebsocketConsumer):
    """Shared plumbing: ping/pong, and a forwarding task that lives exactly as long as the socket."""

    # Events reach the socket through the process's StreamHub, not through a channel of its own.
    channel_layer_alias = None  # type: ignore[assignment]
    stream_kind = "websocket"

    _forwarder: asyncio.Task[None] | None = None
    _subscription: Subscription | None = None

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        try:
            content = json.loads(text_data or (bytes_data or b"").decode("utf-8", "replace"))
        except ValueError:
            await self.send_json({"type": "error", "detail": "Messages must be JSON."})
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "detail": 'Only {"type": "ping"} is understood.'})

    async def disconnect(self, code: int) -> None:
        forwarder, self._forwarder = self._forwarder, None
        if forwarder is not None and not forwarder.done():
            forwarder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await forwarder
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            await asyncio.shield(get_hub().unsubscribe(subscription))

    async def _open(self, task_id: str | None, feed_for: Callable[[Subscription], Feed]) -> None:
        """Subscribe, then accept: once the client sees the handshake succeed, no later event can be missed."""
        hub = get_hub()
        self._subscription = await hub.subscribe(task_id, kind=self.stream_kind)
        try:
            await self.accept()
        except BaseException:
            subscription, self._subscription = self._subscription, None
            await asyncio.shield(hub.unsubscribe(subscription))
            raise
        self._forwarder = asyncio.create_task(self._forward(feed_for(self._subscription), task_id))

    async def _forward(self, feed: Feed, task_id: str | None) -> None:
        close_code: int | None = None
        try:
            while True:
                batch = await feed.next_batch(IDLE_WAIT_SECONDS)
                for event in batch or ():
                    await self.send(text_data=event.json_text)
        except StreamOverflow:
            close_code = CLOSE_TRY_AGAIN_LATER
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - report on the socket rather than leaving it open and silent
            logger.exception("WebSocket event stream of %s failed", task_id or "all tasks")
            close_code = CLOSE_INTERNAL_ERROR
        if close_code is not None:
            await self.close(code=close_code)


class TaskEventsConsumer(_EventsConsumer):
    """`/ws/events/{task_id}`: replay, then live events of one task."""

    async def connect(self) -> None:
        task_id = self.scope["url_route"]["kwargs"]["task_id"]
        if not await task_exists(task_id):
            await self.accept()
            await self.close(code=CLOSE_UNKNOWN_TASK)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        last_event_id = (query.get("last_event_id") or [""])[-1]
        after_sequence = await resume_sequence(task_id, last_event_id)
        await self._open(task_id, lambda subscription: TaskFeed(subscription, after_sequence))


class AllEventsConsumer(_EventsConsumer):
    """`/ws/events/`: live events of every task."""

    async def connect(self) -> None:
        await self._open(None, AllTasksFeed)
