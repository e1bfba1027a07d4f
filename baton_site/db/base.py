"""SQLite backend for the embedded default: writers queue on a process-wide lock instead of SQLite's busy handler.

SQLite allows one writer at a time. With `BEGIN IMMEDIATE`, a second writer fails to get the lock and SQLite's busy
handler makes it sleep in growing steps (up to 100 ms each) before retrying, so under a handful of concurrent
requests in one server process the tail latency explodes. Taking a process-wide lock before `BEGIN IMMEDIATE` and
releasing it at commit/rollback queues writers of the same process fairly and without sleeping; SQLite's own busy
timeout still arbitrates between processes (the server and its worker). Readers outside transactions never take
the lock (WAL lets them read while one writer commits). On-commit hooks run after the release.
"""

from __future__ import annotations

import threading

from django.db.backends.sqlite3 import base

_write_lock = threading.Lock()


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False

    def get_new_connection(self, conn_params: dict) -> object:
        connection = super().get_new_connection(conn_params)
        # WAL lets readers work while one writer commits. The mode is stored in the database file, so switch only
        # when needed: asking for it on every new connection takes a lock each time (and under ASGI every request
        # runs in a fresh thread with a fresh connection).
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() not in ("wal", "memory"):
            connection.execute("PRAGMA journal_mode=WAL")
        return connection

    def _start_transaction_under_autocommit(self) -> None:
        _write_lock.acquire()
        self._holds_write_lock = True
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_write_lock:
            self._holds_write_lock = False
            _write_lock.release()

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self._release_write_lock()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._release_write_lock()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._release_write_lock()
