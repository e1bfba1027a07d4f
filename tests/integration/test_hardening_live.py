"""Production hardening against a live `baton serve`: concurrent idempotent retries, several web processes."""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import threading
import time

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


def web_processes(server) -> list[str]:
    return subprocess.run(
        ["pgrep", "-P", str(server.process.pid), "-f", "baton_site.web|daphne"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()


def requests_counted(metrics: str, method: str, route_part: str) -> int:
    total = 0.0
    for line in metrics.splitlines():
        if (
            line.startswith("baton_http_requests_total{")
            and f'method="{method}"' in line
            and route_part in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def test_several_web_processes_share_one_port(tmp_path):
    with baton_server(tmp_path, "--no-worker", "--workers", "2") as server:
        assert len(web_processes(server)) == 2
        plan = requests.post(
            f"{server.url}/api/v1/plans", json={"description": "Add search"}, timeout=30
        ).json()
        for _ in range(20):  # new connections, spread over both processes; each reads the same database
            assert requests.get(f"{server.url}/api/v1/plans/{plan['plan_id']}", timeout=5).status_code == 200
        # /metrics sums the processes' request counters, whichever process answers the scrape.
        for _ in range(6):
            metrics = requests.get(f"{server.url}/metrics", timeout=5).text
            assert requests_counted(metrics, "GET", "api/v1/plans/") == 20
            assert requests_counted(metrics, "POST", "api/v1/plans") == 1
        (run_folder,) = (server.data_dir / "metrics").iterdir()  # this run's prometheus_client files
        assert run_folder.name == str(server.process.pid)
        assert server.stop() == 0
        assert list((server.data_dir / "metrics").iterdir()) == []


def connections_per_process(server, pids: list[str]) -> list[int]:
    """Established TCP connections on the server's port held by each process, read from /proc."""
    port = int(server.url.rsplit(":", 1)[1])
    established: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
                    established.add(fields[9])  # the socket's inode
    counts = []
    for pid in pids:
        inodes = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        counts.append(len(inodes & established))
    return counts


def ask_health(
    connection: http.client.HTTPConnection, barrier: threading.Barrier, statuses: list[int]
) -> None:
    barrier.wait()
    connection.request("GET", "/api/v1/health")
    response = connection.getresponse()
    response.read()
    statuses.append(response.status)


def test_web_processes_share_a_burst_of_keep_alive_connections_evenly(tmp_path):
    with baton_server(tmp_path, "--no-worker", "--workers", "2") as server:
        pids = web_processes(server)
        host, port = server.url.removeprefix("http://").split(":")
        for _ in range(3):
            connections = [http.client.HTTPConnection(host, int(port), timeout=10) for _ in range(8)]
            barrier = threading.Barrier(8)
            statuses: list[int] = []
            threads = [
                threading.Thread(target=ask_health, args=(each, barrier, statuses)) for each in connections
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert statuses == [200] * 8
            # All eight at once, kept alive: four on each process, not whichever process woke first.
            assert sorted(connections_per_process(server, pids)) == [4, 4]
            for connection in connections:
                connection.close()
            deadline = time.monotonic() + 10
            while sum(connections_per_process(server, pids)) and time.monotonic() < deadline:
                time.sleep(0.05)


def test_serve_runs_a_web_process_per_core_by_default(tmp_path):
    with baton_server(tmp_path, "--no-worker") as server:
        assert len(web_processes(server)) == min(os.cpu_count() or 1, 4)  # SQLite: at most 4


def test_failed_authentications_are_counted_over_every_web_process(tmp_path):
    env = {"BATON_AUTH_FAILURE_LIMIT": "3", "BATON_AUTH_FAILURE_WINDOW": "60"}
    with baton_server(tmp_path, "--no-worker", "--workers", "2", "--token", "right", env=env) as server:
        url = f"{server.url}/api/v1/agents"
        for _ in range(3):  # each on a new connection: the kernel spreads them over the two processes
            assert requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
        for _ in range(10):
            refused = requests.get(url, headers={"Authorization": "Bearer right"}, timeout=5)
            assert refused.status_code == 429
            assert 1 <= int(refused.headers["Retry-After"]) <= 61
        assert requests.get(f"{server.url}/api/v1/health", timeout=5).status_code == 200


def test_a_busy_server_audits_every_mutation_once_and_keeps_its_log_across_a_stop(tmp_path):
    """Each web process queues its audit entries for a writer thread that stores them in batches; the log must
    still hold every mutating request exactly once, with what it names, and lose nothing at a clean stop."""
    with baton_server(tmp_path, "--no-worker", "--workers", "2") as server:
        answered: list[tuple[str, str]] = []  # (request id, plan id) of every 201
        lock = threading.Lock()

        def client(number: int) -> None:
            session = requests.Session()  # keep-alive: the 8 clients spread over both processes
            for round_ in range(10):
                response = session.post(
                    f"{server.url}/api/v1/plans",
                    json={"description": f"Add export {number}.{round_}"},
                    timeout=30,
                )
                assert response.status_code == 201
                with lock:
                    answered.append((response.headers["X-Request-ID"], response.json()["plan_id"]))

        threads = [threading.Thread(target=client, args=(number,)) for number in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(answered) == 80

        def audit_log(url: str) -> list[dict]:
            entries: list[dict] = []
            page = f"{url}/api/v1/audit?limit=200"
            while page:
                body = requests.get(page, timeout=10).json()
                entries.extend(body["results"])
                page = body["next"]
            return entries

        # The process answering the read writes its own queue first; the other's lands within milliseconds.
        deadline = time.monotonic() + 10
        while len(entries := audit_log(server.url)) < 80 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sorted((entry["request_id"], entry["target_ids"]) for entry in entries) == sorted(
            (request_id, [plan_id]) for request_id, plan_id in answered
        )
        assert {(entry["method"], entry["route"].rstrip("$"), entry["status_code"]) for entry in entries} == {
            ("POST", "api/v1/plans", 201)
        }

        last = requests.post(f"{server.url}/api/v1/plans", json={"description": "Add one more"}, timeout=30)
        assert server.stop() == 0
        env = {"DATABASE_URL": server.env["DATABASE_URL"]} if "DATABASE_URL" in server.env else None
        with baton_server(tmp_path, "--no-worker", data_dir=server.data_dir, env=env) as again:
            after = audit_log(again.url)
        assert len(after) == 81
        assert after[0]["request_id"] == last.headers["X-Request-ID"]


def test_a_web_process_keeps_its_database_connections_from_one_request_to_the_next(tmp_path):
    """Requests run on the event loop's thread; each must find the connection the last one left open (a request
    that opened its own cost a sixth of the process's CPU, and left the old one to the garbage collector)."""
    with baton_server(tmp_path, "--no-worker", "--workers", "1") as server:
        if "DATABASE_URL" in server.env:
            pytest.skip("counts the SQLite file's descriptors")
        (pid,) = web_processes(server)
        session = requests.Session()
        for number in range(40):
            assert (
                session.post(
                    f"{server.url}/api/v1/plans", json={"description": f"Add report {number}"}, timeout=30
                ).status_code
                == 201
            )
            assert session.get(f"{server.url}/api/v1/plans?limit=5", timeout=30).status_code == 200
        database = str(server.data_dir / "baton.sqlite3")
        open_files = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        # The loop thread's connection, the audit writer's and the checkpointer's.
        assert open_files.count(database) <= 3
