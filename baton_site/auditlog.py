"""Writing the audit log: the server hands each entry to a writer thread, which stores whatever has queued up in
one transaction.

Written by the request itself, every mutating request paid a second write transaction after its own (BEGIN,
INSERT, COMMIT) and waited for it before its response went out. On the embedded SQLite database that transaction
queues on the one writer lock that every process shares: with 8 lifecycle clients on two web processes the audit
inserts were a fifth of the time the lock was held, and bench/lifecycle.py ran 20% faster without them.

Here the request only queues its entry (no database work, no parsing of its response body). The first entry of a
batch wakes the writer thread, which lets `BATCH_SECONDS` pass for others to join, then stores the batch in one
transaction: at most one write transaction and one thread wake-up per process per batch window, whatever the
request rate. (Woken for every entry, the thread cost the loop a futex wake-up and a turn of the interpreter lock
per request.) An entry reaches the table within about `BATCH_SECONDS` of its response.

- Inside an open transaction (a test's, a command's), or outside the server, an entry is written at once in the
  calling thread, as a savepoint of that transaction; only `baton serve`'s web processes start the thread.
- Readers of the log in this process (`GET /api/v1/audit`, the admin) first have the queue written at once and
  wait for it.
- At a clean exit the queue is written before the process ends. A process killed outright loses the entries of
  its last moments, as with any buffered log.
- A batch that fails is logged and its entries are written one by one, so one bad entry loses only itself.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import close_old_connections, connection, transaction

from baton_site import rows

logger = logging.getLogger(__name__)

COLUMNS = ("timestamp", "actor", "method", "route", "path", "target_ids", "status_code", "request_id")
_ID_KEYS = ("task_id", "plan_id", "request_id", "webhook_id", "project_id", "signal_id", "name", "step_id")
FLUSH_TIMEOUT_SECONDS = 10.0
BATCH_SECONDS = 0.05


@dataclass(slots=True)
class Entry:
    """What a request leaves for the log; its target ids are worked out when it is written."""

    timestamp: datetime
    actor: str
    method: str
    route: str
    path: str
    status_code: int
    request_id: str
    ids: list[str] = field(default_factory=list)  # from the URL and the admin's selection
    json_body: bytes | None = None  # the response body, when it is JSON: it may name what was created

    def row(self) -> list[Any]:
        return [
            self.timestamp,
            self.actor,
            self.method,
            self.route[:300],
            self.path[:1000],
            target_ids(self.ids, self.json_body),
            self.status_code,
            self.request_id,
        ]


def target_ids(ids: list[str], json_body: bytes | None) -> list[str]:
    """The ids an entry names: those of the URL and selection, then those the JSON response names; at most 20."""
    found = list(ids)
    if json_body is not None:
        try:
            body = json.loads(json_body or b"null")
        except ValueError:
            body = None
        for holder in (body, body.get("execution") if isinstance(body, dict) else None):
            if isinstance(holder, dict):
                found.extend(str(holder[key]) for key in _ID_KEYS if isinstance(holder.get(key), str | int))
    return list(dict.fromkeys(found))[:20]


def _insert(entries: list[Entry]) -> None:
    from baton_site.models import AuditEntry

    rows.insert(AuditEntry, COLUMNS, [entry.row() for entry in entries])


class AuditWriter:
    """The process's audit queue and the thread that empties it."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._queue: list[Entry] = []
        self._queued = 0  # entries ever queued in this process
        self._stored = 0  # entries ever taken off the queue and written (or given up on)
        self._flushing = 0  # callers of flush() waiting: the batch window is cut short
        self._thread: threading.Thread | None = None
        self._enabled = False
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        # The thread does not survive a fork, and the queue is the parent's to write.
        self._condition = threading.Condition()
        self._queue = []
        self._queued = self._stored = self._flushing = 0
        self._thread = None

    def enable(self) -> None:
        """Called by the server's ASGI module: from now on entries go to the writer thread."""
        if not self._enabled:
            self._enabled = True
            atexit.register(self.flush)

    def write(self, entry: Entry) -> None:
        if not self._enabled or connection.in_atomic_block:
            self._write_now(entry)
            return
        with self._condition:
            self._queue.append(entry)
            self._queued += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()
            if len(self._queue) == 1:  # the first of a batch: the thread is idle
                self._condition.notify_all()

    def flush(self, timeout: float = FLUSH_TIMEOUT_SECONDS) -> bool:
        """Wait until every entry queued so far is written; False if that took longer than `timeout`."""
        with self._condition:
            target = self._queued
            self._flushing += 1
            self._condition.notify_all()
            try:
                return self._condition.wait_for(lambda: self._stored >= target, timeout)
            finally:
                self._flushing -= 1

    def _write_now(self, entry: Entry) -> None:
        try:
            # A savepoint: a failed insert must not poison an enclosing transaction.
            with transaction.atomic():
                _insert([entry])
        except Exception:  # noqa: BLE001 - the audit trail must not turn a served request into an error
            logger.exception("audit entry not written for %s %s", entry.method, entry.path)

    def _run(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: bool(self._queue))
                self._condition.wait_for(lambda: self._flushing > 0, BATCH_SECONDS)
                batch, self._queue = self._queue, []
            try:
                self._store(batch)
            except Exception:  # noqa: BLE001 - the thread must outlive any one batch (a lost connection, say)
                logger.exception("audit batch of %d entries not written", len(batch))
            finally:
                with self._condition:
                    self._stored += len(batch)
                    self._condition.notify_all()

    def _store(self, batch: list[Entry]) -> None:
        close_old_connections()  # the thread's connection, renewed as a request's would be
        try:
            with transaction.atomic():
                _insert(batch)
            return
        except Exception:  # noqa: BLE001 - logged; the entries are tried one by one below
            logger.exception("audit batch of %d entries not written; writing them one by one", len(batch))
        for entry in batch:
            self._write_now(entry)


writer = AuditWriter()
