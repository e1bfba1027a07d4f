"""SQLite backend for the embedded default: writers queue on a lock instead of meeting SQLite's sleeping busy handler.

SQLite allows one writer at a time. With `BEGIN IMMEDIATE`, a second writer fails to get the lock and SQLite's busy
handler makes it sleep in growing steps (up to 100 ms each) before it retries. Under a steady stream of short write
transactions from several threads or processes (web requests, the Celery worker, commands), a waiter that has backed
off to 50 or 100 ms keeps missing the moments the lock is free: throughput falls and the tail grows to seconds.

So every transaction first takes a writer lock, released at commit or rollback:
1. a `threading.Lock` queues the writers of one process;
2. then an exclusive `flock` on `<database>.writer-lock`, beside the database file, queues the processes. The
   kernel wakes a blocked waiter the moment the holder releases it (or dies), so no one sleeps on a timer.
While a thread holds the lock, the process's cyclic garbage collector is off: a collection that started inside a
transaction would make every writer of every process wait for it. Whatever allocation comes first after the
release runs the collection that was due.
SQLite's own busy timeout stays as the fallback, for writers that do not take the lock (another program, or a
statement outside a transaction). Readers outside transactions never take it: WAL lets them read while one writer
commits. On-commit hooks run after the release.

Checkpoints (copying the write-ahead log back into the database file, then an fsync) are moved off the writers'
path. SQLite runs one by default inside whichever COMMIT pushes the log past 1,000 pages: that request, and every
writer queued behind it, waited 10-20 ms, which was the whole p99 of `record` (a checkpoint every 50-70 calls).
Here a `Checkpointer` thread does it, in two kinds of rounds:
- every CHECKPOINT_POLL_SECONDS once the log has passed CHECKPOINT_PAGES, a PASSIVE checkpoint alongside the
  writers (it blocks neither writers nor readers) copies what they appended since the last round;
- once the log holds RESTART_PAGES and a round left some of it uncopied, a second one under the writer lock
  copies the few frames appended meanwhile, so that the log is wholly copied and the next writer starts it over
  instead of growing. That one holds every writer (2-8 ms each time, measured under the lifecycle benchmark), so
  it does not run at every round. (A round that met no writer copies the whole log, and the log starts over too.)
SQLite's automatic checkpoint stays as a backstop at BACKSTOP_PAGES.

The thread runs in every process that opens the database, unless `BATON_SQLITE_CHECKPOINTS` is off. `baton serve`
turns it off for its web processes and runs it in its own process instead: a web process's thread needs that
process's interpreter lock back to finish the locked pass, and the web thread, busy with requests, holds it for up
to 5 ms at a time; meanwhile the writer lock was held for every writer of every process (traced under the lifecycle
benchmark: requests overlapping a checkpoint waited three times as long for the lock, and the slowest 1% of
requests clustered on the checkpoints).
"""

from __future__ import annotations

import fcntl
import functools
import gc
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.backends.sqlite3 import base


class WriterLock:
    """The process's writer queue for one SQLite database file, plus the file lock that queues processes."""

    def __init__(self) -> None:
        self._threads = threading.Lock()
        self._files: dict[str, int | None] = {}  # lock file path -> descriptor (None: no file lock possible)
        self._collector_was_on = False  # whether the holder switched the garbage collector off
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        # A child shares its parent's open file descriptions, and flock locks belong to those: a child must open
        # its own, or it would hold the lock whenever its parent does. Its inherited thread lock may be held by a
        # thread that does not exist in the child.
        for descriptor in self._files.values():
            if descriptor is not None:
                os.close(descriptor)
        self._files = {}
        self._threads = threading.Lock()
        if self._collector_was_on:  # forked while a parent's thread held the lock: the child holds nothing
            self._collector_was_on = False
            gc.enable()

    def _descriptor(self, path: str | None) -> int | None:
        if path is None:
            return None
        if path not in self._files:
            try:
                self._files[path] = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:  # a read-only directory: fall back on SQLite's busy handler between processes
                self._files[path] = None
        return self._files[path]

    def acquire(self, path: str | None) -> None:
        self._threads.acquire()
        try:
            descriptor = self._descriptor(path)
            if descriptor is not None:
                fcntl.flock(descriptor, fcntl.LOCK_EX)  # blocks without the GIL
        except BaseException:
            self._threads.release()
            raise
        self._collector_was_on = gc.isenabled()
        gc.disable()

    def release(self, path: str | None) -> None:
        if self._collector_was_on:
            self._collector_was_on = False
            gc.enable()
        try:
            descriptor = self._files.get(path) if path is not None else None
            if descriptor is not None:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            self._threads.release()


writer_lock = WriterLock()

CHECKPOINT_PAGES = 1000  # SQLite's default automatic checkpoint size
RESTART_PAGES = 4000
BACKSTOP_PAGES = 10000
CHECKPOINT_POLL_SECONDS = 0.2


class Checkpointer:
    """One daemon thread per process and database file: PASSIVE checkpoints once the log passes CHECKPOINT_PAGES,
    and the log started over once it holds RESTART_PAGES."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: dict[str, int] = {}  # database path -> pid of the process whose thread watches it
        os.register_at_fork(after_in_child=self._watched.clear)  # threads do not survive a fork

    def watch(self, database: str) -> None:
        with self._lock:
            if self._watched.get(database) == os.getpid():
                return
            self._watched[database] = os.getpid()
        threading.Thread(target=self._run, args=(database,), name="sqlite-checkpoint", daemon=True).start()

    def _run(self, database: str) -> None:
        wal = database + "-wal"
        lock_file = database + ".writer-lock"
        connection: sqlite3.Connection | None = None
        threshold = CHECKPOINT_PAGES * 4096
        while True:
            time.sleep(CHECKPOINT_POLL_SECONDS)
            try:
                if os.path.getsize(wal) < threshold:
                    continue
                if connection is None:
                    connection = sqlite3.connect(database, timeout=0, check_same_thread=False)
                    threshold = CHECKPOINT_PAGES * connection.execute("PRAGMA page_size").fetchone()[0]
                # What the writers appended since the last round, alongside them ...
                busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if busy or frames < RESTART_PAGES or copied == frames:
                    continue  # another checkpoint is running, the log may go on growing, or it is wholly copied
                # ... and, once the log is long, the few frames appended meanwhile, under the writer lock: the log
                # is then wholly copied and the next writer starts it over.
                writer_lock.acquire(lock_file)
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                finally:
                    writer_lock.release(lock_file)
            except (OSError, sqlite3.Error):
                continue  # no log yet, or another checkpoint is running: try again next round


checkpointer = Checkpointer()


def database_file(settings_dict: dict[str, Any]) -> str | None:
    """The database file named by the settings, as given (not resolved); None for an in-memory database."""
    name = str(settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or "mode=memory" in name:
        return None
    if name.startswith("file:"):
        name = name[len("file:") :].split("?", 1)[0]
    return name


def lock_path(settings_dict: dict[str, Any]) -> str | None:
    """`<database>.writer-lock` for a database file; None for an in-memory database."""
    name = database_file(settings_dict)
    return None if name is None else str(Path(name).resolve()) + ".writer-lock"


@functools.lru_cache(maxsize=2048)
def _qmark(query: str) -> str:
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class CursorWrapper(base.SQLiteCursorWrapper):
    """Django's SQLite cursor, remembering the rewrite of each statement's `%s` placeholders into SQLite's `?`.

    Django runs a regular expression over every statement it sends; the statements here are the same few hundred
    texts over and over (values travel as parameters), and the rewrite was 3% of a web process's CPU. Statements
    longer than `CACHED_STATEMENT_LENGTH` (bulk inserts of many rows) are rewritten each time, as before.
    """

    def convert_query(self, query: str, *, param_names: list[str] | None = None) -> str:
        if param_names is None and len(query) <= CACHED_STATEMENT_LENGTH:
            return _qmark(query)
        return super().convert_query(query, param_names=param_names)


CACHED_STATEMENT_LENGTH = 4000


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False
    _lock_path: str | None = None

    def create_cursor(self, name: str | None = None) -> Any:
        return self.connection.cursor(factory=CursorWrapper)

    def get_new_connection(self, conn_params: dict) -> object:
        connection = super().get_new_connection(conn_params)
        # WAL lets readers work while one writer commits. The mode is stored in the database file, so switch only
        # when needed: asking for it on every new connection takes a lock each time.
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() not in ("wal", "memory"):
            connection.execute("PRAGMA journal_mode=WAL")
        self._lock_path = lock_path(self.settings_dict)
        if self._lock_path is not None:
            connection.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
            if getattr(settings, "BATON_SQLITE_CHECKPOINTS", True):
                checkpointer.watch(self._lock_path.removesuffix(".writer-lock"))
        return connection

    def _start_transaction_under_autocommit(self) -> None:
        writer_lock.acquire(self._lock_path)
        self._holds_write_lock = True
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_write_lock:
            self._holds_write_lock = False
            writer_lock.release(self._lock_path)

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
