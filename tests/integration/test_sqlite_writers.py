"""The embedded SQLite default with a writer in another process (the Celery worker, a second web process)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time

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
