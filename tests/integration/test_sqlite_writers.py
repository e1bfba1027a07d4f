"""The embedded SQLite default with a writer in another process (the Celery worker, a second web process)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.integration.servers import baton_server

pytestmark = pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="SQLite only")


def test_a_write_waits_for_another_process_that_holds_the_database(tmp_path):
    with baton_server(tmp_path, "--no-worker") as server:
        holder = sqlite3.connect(
            server.data_dir / "baton.sqlite3", isolation_level=None, timeout=5, check_same_thread=False
        )
        holder.execute("BEGIN IMMEDIATE")  # what another process's write transaction holds
        released = threading.Event()

        def release_later() -> None:
            time.sleep(0.5)
            holder.execute("COMMIT")
            released.set()

        thread = threading.Thread(target=release_later)
        thread.start()
        response = requests.post(f"{server.url}/api/v1/plans", json={"description": "Add search"}, timeout=30)
        thread.join()
        holder.close()
        assert response.status_code == 201, response.text
        assert released.is_set()  # the plan could only be stored once the other writer had committed
        stored = requests.get(f"{server.url}/api/v1/plans/{response.json()['plan_id']}", timeout=10)
        assert stored.status_code == 200


def test_a_write_queues_behind_the_writer_lock_file_of_another_process(tmp_path):
    with baton_server(tmp_path, "--no-worker") as server:
        lock_file = (server.data_dir / "baton.sqlite3").resolve().with_name("baton.sqlite3.writer-lock")
        with open(lock_file, "a+b") as held:
            fcntl.flock(held, fcntl.LOCK_EX)  # what another process's write transaction holds
            released = threading.Event()

            def release_later() -> None:
                time.sleep(0.5)
                released.set()
                fcntl.flock(held, fcntl.LOCK_UN)

            thread = threading.Thread(target=release_later)
            thread.start()
            response = requests.post(
                f"{server.url}/api/v1/plans", json={"description": "Add search"}, timeout=30
            )
            thread.join()
        assert response.status_code == 201, response.text
        assert released.is_set()  # the server's transaction began only after the lock file was released


# Child processes configure Django themselves (baton_site.db on a bare database), from this checkout.
SCRIPT_ENV = {
    **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
    "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
}


def wal_database(path: Path, *statements: str) -> None:
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        for statement in statements:
            setup.execute(statement)


def script_command(folder: Path, source: str, *args: str) -> list[str]:
    script = folder / "child.py"
    script.write_text(source)
    return [sys.executable, str(script), *args]


WRITER = """
import sys
import django
from django.conf import settings

settings.configure(
    DATABASES={"default": {"ENGINE": "baton_site.db", "NAME": sys.argv[1],
                           "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 0}}},
)
django.setup()
from django.db import connection, transaction

for _ in range(int(sys.argv[2])):
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT n FROM counter")
            (n,) = cursor.fetchone()
            cursor.execute("UPDATE counter SET n = %s", [n + 1])
"""


def test_writer_processes_queue_on_the_lock_without_sqlites_busy_handler(tmp_path):
    """With SQLite's busy timeout at 0, any overlap of two write transactions would fail at once with
    'database is locked': four processes making read-modify-write increments all succeed, and none is lost."""
    database = tmp_path / "counter.sqlite3"
    wal_database(database, "CREATE TABLE counter (n INTEGER NOT NULL)", "INSERT INTO counter VALUES (0)")
    command = script_command(tmp_path, WRITER, str(database), "200")
    writers = [subprocess.Popen(command, env=SCRIPT_ENV, stderr=subprocess.PIPE) for _ in range(4)]
    errors = [writer.communicate(timeout=120)[1].decode() for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0, 0, 0], errors
    with sqlite3.connect(database) as check:
        assert check.execute("SELECT n FROM counter").fetchone() == (800,)


CHECKPOINTED = """
import sys
import time
import django
from django.conf import settings

settings.configure(
    DATABASES={"default": {"ENGINE": "baton_site.db", "NAME": sys.argv[1],
                           "OPTIONS": {"transaction_mode": "IMMEDIATE"}}},
)
django.setup()
from baton_site.db import base

base.CHECKPOINT_POLL_SECONDS = 0.1
from django.db import connection, transaction

blob = b"x" * 3000
for _ in range(40):  # about 2,500 pages of log, well past CHECKPOINT_PAGES and under the backstop
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.executemany("INSERT INTO payload (data) VALUES (%s)", [(blob,)] * 50)
time.sleep(1.5)  # the checkpointer's rounds
with transaction.atomic():  # a writer after a complete checkpoint starts the log over
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO payload (data) VALUES (%s)", [b"y"])
with connection.cursor() as cursor:
    cursor.execute("PRAGMA wal_autocheckpoint")
    automatic = cursor.fetchone()[0]
    cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")  # reports the frames the log holds now
    busy, frames, _ = cursor.fetchone()
print(automatic, busy, frames)
"""


def test_the_log_is_checkpointed_off_the_writers_path_and_starts_over(tmp_path):
    database = tmp_path / "log.sqlite3"
    wal_database(database, "CREATE TABLE payload (id INTEGER PRIMARY KEY, data BLOB)")
    command = script_command(tmp_path, CHECKPOINTED, str(database))
    done = subprocess.run(command, env=SCRIPT_ENV, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    automatic, busy, frames = map(int, done.stdout.split())
    # Writers no longer checkpoint every 1,000 pages (only as a backstop) ...
    assert automatic > 1000
    # ... yet the log holds only the last transaction: the rest was copied back and the log started over.
    assert busy == 0
    assert frames < 50
    with sqlite3.connect(database) as check:
        assert check.execute("SELECT count(*) FROM payload").fetchone() == (2001,)


def test_serve_copies_the_log_back_for_its_web_processes(tmp_path):
    """`baton serve` checkpoints in its own process and its web processes do not: the log written through two
    web processes must still be copied back into the database file, well before SQLite's backstop."""
    with baton_server(tmp_path, "--no-worker", "--workers", "2") as server:
        database = server.data_dir / "baton.sqlite3"
        log = server.data_dir / "baton.sqlite3-wal"
        before = database.stat().st_size
        session = requests.Session()
        count = 0
        while log.stat().st_size < 6_000_000:  # past CHECKPOINT_PAGES (1,000 pages of 4 KiB)
            response = session.post(
                f"{server.url}/api/v1/plans",
                json={"description": f"Add CSV export number {count}"},
                timeout=10,
            )
            assert response.status_code == 201
            count += 1
            assert count < 5000, "the log did not grow"
        deadline = time.monotonic() + 10
        while database.stat().st_size == before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert database.stat().st_size > before
        # Every page is readable from the database by a new connection, whichever file holds it.
        with sqlite3.connect(database) as check:
            assert check.execute("SELECT count(*) FROM plans_plan").fetchone()[0] >= count
