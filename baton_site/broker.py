"""The embedded default's broker: kombu's filesystem transport, made safe for a producer and a consumer that run
at the same time.

kombu's own `filesystem` transport creates a message file and then writes into it, while its consumer takes any
file it finds and reads it without a lock: a consumer polling at the wrong moment reads an empty file, and the
JSON error kills the worker (seen here under a few dozen messages a second). This transport writes each message
into a staging folder and renames it into the queue folder (an atomic rename: a consumer sees a whole file or
none), and claims a message by renaming it into the processed folder (atomic too, so two consumers never take the
same file) before reading it. File names start with a zero-padded wall-clock timestamp, so that the queue is read
in publishing order across processes and restarts.

Settings select it with `CELERY_BROKER_TRANSPORT` when REDIS_URL is unset. It sits beside the Celery app
(`baton_site/celery.py`) because it serves every task, not only the webhooks app's.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections import deque
from functools import cached_property
from queue import Empty
from typing import Any

from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

DRAIN_SLICE = 0.1
FULL_WINDOW_PAUSE = 0.002
LIST_INTERVAL = 0.01


class Channel(filesystem.Channel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._backlogs: dict[str, deque[str]] = {}
        self._listed_at = float("-inf")

    @cached_property
    def staging_folder(self) -> str:
        folder = self.transport_options.get("staging_folder") or os.path.join(
            os.path.dirname(os.path.abspath(self.data_folder_out)), "staging"
        )
        os.makedirs(folder, exist_ok=True)
        return folder

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{time.time_ns():020d}_{uuid.uuid4().hex}.{queue}.msg"
        staging = os.path.join(self.staging_folder, name)
        with open(staging, "wb") as handle:
            handle.write(str_to_bytes(dumps(payload)))
        os.replace(staging, os.path.join(self.data_folder_out, name))

    def _get(self, queue: str) -> Any:
        # The folder is listed (and sorted) once for every queue rather than once per message and queue: with a
        # backlog of n messages, listing per message would cost O(n^2), and the worker's second queue (its remote
        # control box, nearly always empty) would list the whole backlog on every turn of the consumer loop. An
        # empty queue is re-listed at most every LIST_INTERVAL seconds (the loop sleeps longer than that between
        # empty rounds anyway). Names taken meanwhile by another consumer are skipped.
        backlog = self._backlogs.setdefault(queue, deque())
        if not backlog and time.monotonic() - self._listed_at >= LIST_INTERVAL:
            self._list()
            backlog = self._backlogs.setdefault(queue, deque())
        while backlog:
            name = backlog.popleft()
            claimed = os.path.join(self.processed_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except OSError:  # another consumer took it first
                continue
            try:
                with open(claimed, "rb") as handle:
                    payload = handle.read()
            finally:
                if not self.store_processed:
                    with contextlib.suppress(OSError):
                        os.remove(claimed)
            return loads(bytes_to_str(payload))
        raise Empty()

    def _list(self) -> None:
        """Refill every queue's backlog, in publishing order, from one listing of the folder."""
        self._listed_at = time.monotonic()
        fresh: dict[str, deque[str]] = {}
        for name in sorted(os.listdir(self.data_folder_in)):
            stem, _, suffix = name.rpartition(".")
            if suffix != "msg" or "." not in stem:
                continue
            fresh.setdefault(stem.split(".", 1)[1], deque()).append(name)
        self._backlogs = fresh


class Transport(filesystem.Transport):
    Channel = Channel

    def drain_events(self, connection: Any, timeout: float | None = None) -> Any:
        """Deliver one message, or raise socket.timeout within DRAIN_SLICE seconds (kombu's loop, with two
        changes).

        A worker without an event loop (this transport has none) acknowledges finished tasks only between two
        drains, and with `acks_late` a finished task keeps its place in the prefetch window until then.
        1. Return to the worker's loop at least every DRAIN_SLICE seconds: with the threads pool, once all
           prefetched tasks are finished but unacknowledged, no message can be delivered, so a drain would wait
           for its whole timeout (2 s) and throughput would fall to prefetch/2 s (celery/celery#6941).
        2. When the window is what stops delivery (not an empty queue), return after FULL_WINDOW_PAUSE instead of
           sleeping a polling interval: the acknowledgements waiting in the worker's loop free it at once. Under a
           backlog the window is full most of the time, and a thread that finished its tasks would otherwise wait
           up to DRAIN_SLICE for its next one. (On the 2-core benchmark machine the burst rate did not change
           measurably: there the worker is bound by its CPU; the wait matters when its threads wait on receivers.)"""
        timeout = DRAIN_SLICE if timeout is None else min(timeout, DRAIN_SLICE)
        started = time.monotonic()
        while True:
            try:
                self.cycle.get(self._deliver, timeout=timeout)
            except Empty:
                if self._window_full():
                    time.sleep(FULL_WINDOW_PAUSE)
                    raise TimeoutError() from None
                if time.monotonic() - started >= timeout:
                    raise TimeoutError() from None
                time.sleep(min(self.polling_interval or DRAIN_SLICE, timeout))
            else:
                return

    def _window_full(self) -> bool:
        """Whether a consuming channel has as many unacknowledged messages as its prefetch limit allows."""
        return any(
            channel._consumers and channel.qos.prefetch_count and not channel.qos.can_consume()
            for channel in self.channels
        )
