"""Group commit: short write operations from many threads of one process, run together in one transaction.

On SQLite every write transaction holds the single writer lock (baton_site.db.base). A process whose many threads
each commit tiny transactions (the webhook worker claims a delivery, then records its attempt, for every delivery)
pays a lock round for each (thread lock, file lock, BEGIN, COMMIT), and holds the lock while it waits for the GIL
behind its busy sibling threads: each statement releases the GIL inside SQLite and must win it back before the
next. Measured at 200 deliveries/s with 16 worker threads, the worker held the lock 0.9 ms per transaction for
statements that take 0.1-0.3 ms alone, and the lock, shared with the publishing web processes, was busy about
70% of the time.

`GroupCommit.run(operation)` runs the operation in a transaction shared with whatever other threads' operations
are waiting (see `GroupCommit`), and returns its result once that transaction has committed and its on-commit
hooks have run. Alone, an operation runs at once in the calling thread, like a plain transaction.

An operation is a function of no arguments that writes through the ORM or a cursor of the default database and may
register on-commit hooks. It must have no effect outside the database other than through those hooks, because it
may run twice: when any operation of a shared transaction raises, that transaction is rolled back and each of its
operations runs again alone, so one failure never takes its neighbours down; an operation that fails alone raises
its exception in the calling thread. Operations of one transaction see each other's writes (they run in order).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction

logger = logging.getLogger(__name__)


class _Slot:
    """One operation, and where its outcome is left for the thread waiting on it."""

    __slots__ = ("done", "error", "lead", "operation", "value")

    def __init__(self, operation: Callable[[], Any]) -> None:
        self.operation = operation
        self.done = threading.Event()  # set when finished, or when this waiter is to lead the next batch
        self.lead = False
        self.value: Any = None
        self.error: BaseException | None = None

    def finish(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value, self.error, self.lead = value, error, False
        self.done.set()

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


class GroupCommit:
    """Leader and followers: no thread of its own.

    A caller that finds no batch running leads: it takes every operation waiting (its own first) and runs them in
    its own thread and connection, in one transaction. Callers that arrive meanwhile wait; when the batch is done,
    the leader wakes the first of them to lead the next one. Alone, an operation therefore runs at once in its own
    thread, as a plain transaction would; under contention, the waiting ones share the next transaction.
    """

    def __init__(self, max_batch: int = 64) -> None:
        self.max_batch = max_batch
        self._mutex = threading.Lock()
        self._pending: list[_Slot] = []
        self._leading = False
        # Transactions that committed a batch or ran one operation alone, and the operations they ran.
        self.transactions = 0
        self.operations = 0
        os.register_at_fork(after_in_child=self._after_fork)

    def waiting(self) -> int:
        """Operations queued for the next batch."""
        with self._mutex:
            return len(self._pending)

    def leading(self) -> bool:
        """Whether a batch is running (or about to)."""
        with self._mutex:
            return self._leading

    def _after_fork(self) -> None:
        # The threads that were leading or waiting do not exist in a child.
        self._mutex = threading.Lock()
        self._pending = []
        self._leading = False

    def run(self, operation: Callable[[], Any]) -> Any:
        """Run `operation` in a transaction shared with other threads' operations; its result once committed."""
        slot = _Slot(operation)
        with self._mutex:
            self._pending.append(slot)
            leads = not self._leading
            self._leading = True
        if not leads:
            slot.done.wait()
            if not slot.lead:
                return slot.outcome()
            slot.done.clear()
        self._lead()
        return slot.outcome()

    def _lead(self) -> None:
        with self._mutex:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
        try:
            self._run_batch(batch)
        except BaseException as exc:  # noqa: BLE001 - every waiter must wake, whatever happened
            for slot in batch:
                if not slot.done.is_set():
                    slot.finish(error=exc)
        finally:
            with self._mutex:
                successor = self._pending[0] if self._pending else None
                self._leading = successor is not None
            if successor is not None:
                successor.lead = True
                successor.done.set()

    def _run_batch(self, batch: list[_Slot]) -> None:
        if len(batch) > 1:
            values, _, committed = self._transaction([slot.operation for slot in batch])
            if committed:
                self.transactions += 1
                self.operations += len(batch)
                for slot, value in zip(batch, values, strict=True):
                    slot.finish(value=value)
                return
        for slot in batch:  # alone, or again one by one after the shared transaction was rolled back
            values, error, committed = self._transaction([slot.operation])
            self.transactions += 1
            self.operations += 1
            if committed:
                slot.finish(value=values[0])
            else:
                slot.finish(error=error)

    @staticmethod
    def _transaction(operations: list[Callable[[], Any]]) -> tuple[list[Any], BaseException | None, bool]:
        """Run the operations in order in one transaction: their values, the error that rolled it back, and
        whether it committed. A hook that fails after the commit is logged: the writes stand, so it must not
        make the transaction look rolled back (and its operations run twice)."""
        committed = False
        values: list[Any] = []

        def mark_committed() -> None:
            nonlocal committed
            committed = True

        try:
            with transaction.atomic():
                transaction.on_commit(mark_committed)  # registered first, so it runs first after the commit
                for operation in operations:
                    values.append(operation())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            if not committed:
                return values, exc, False
            logger.exception("an on-commit hook of a group commit failed")
        return values, None, True


def usable_for(alias_connection: Any = connection) -> bool:
    """Whether group commit applies to this thread's connection: a SQLite database file (one writer at a time),
    and no transaction open in the calling thread (the writer thread could not see its uncommitted rows)."""
    from baton_site.db.base import database_file

    return (
        alias_connection.vendor == "sqlite"
        and not alias_connection.in_atomic_block
        and database_file(alias_connection.settings_dict) is not None
    )
