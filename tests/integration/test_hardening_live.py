"""Production hardening against a live `baton serve`: concurrent idempotent retries, several web processes."""

from __future__ import annotations

import subprocess
import threading

import pytest
import requests

from tests.integration.servers import baton_server

pytestmark = pytest.mark.integration


def test_concurrent_retries_with_one_key_have_exactly_one_effect(tmp_path):
    with baton_server(tmp_path, "--no-worker") as server:
        body = {"description": "Add an export of invoices as CSV"}
        barrier = threading.Barrier(6)
        responses: list[requests.Response] = []

        def post() -> None:
            session = requests.Session()
            barrier.wait()
            responses.append(
                session.post(
                    f"{server.url}/api/v1/plans",
                    json=body,
                    headers={"Idempotency-Key": "same-key"},
                    timeout=30,
                )
            )

        threads = [threading.Thread(target=post) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = sorted(response.status_code for response in responses)
        assert set(statuses) <= {201, 409}
        created = {response.json()["plan_id"] for response in responses if response.status_code == 201}
        assert len(created) == 1  # every 201 is the same plan: the first, or its replay
        listing = requests.get(f"{server.url}/api/v1/plans", timeout=10).json()
        assert listing["count"] == 1
        # Once the first has finished, a retry replays it.
        replay = requests.post(
            f"{server.url}/api/v1/plans", json=body, headers={"Idempotency-Key": "same-key"}, timeout=30
        )
        assert replay.status_code == 201
        assert replay.json()["plan_id"] in created
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.headers["X-Request-ID"]


def test_several_web_processes_share_one_port(tmp_path):
    with baton_server(tmp_path, "--no-worker", "--workers", "2") as server:
        children = subprocess.run(
            ["pgrep", "-P", str(server.process.pid), "-f", "baton_site.web|daphne"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        assert len(children) == 2
        plan = requests.post(
            f"{server.url}/api/v1/plans", json={"description": "Add search"}, timeout=30
        ).json()
        for _ in range(10):  # whichever process answers, it reads the same database
            assert requests.get(f"{server.url}/api/v1/plans/{plan['plan_id']}", timeout=5).status_code == 200
