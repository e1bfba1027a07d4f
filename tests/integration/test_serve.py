"""`baton serve` as a user runs it: a real daphne process on a free loopback port, spoken to over HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.integration.servers import baton_server

pytestmark = pytest.mark.integration


def test_serve_answers_health_enforces_the_token_and_stops_cleanly(tmp_path):
    with baton_server(tmp_path, "--token", "s3cret-token") as server:
        health = requests.get(f"{server.url}/api/v1/health", timeout=5)
        assert health.status_code == 200
        assert health.json()["status"] == "healthy"
        assert health.json()["version"] == "0.1.0"

        denied = requests.get(f"{server.url}/api/v1/plans/task-x", timeout=5)
        assert denied.status_code == 401
        assert denied.json() == {"error": "unauthorized", "detail": "Valid Bearer token required."}

        allowed = requests.get(
            f"{server.url}/api/v1/plans/task-x", headers={"Authorization": "Bearer s3cret-token"}, timeout=5
        )
        assert allowed.status_code == 404
        assert allowed.json()["detail"]

        preflight = requests.options(
            f"{server.url}/api/v1/plans",
            headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
            timeout=5,
        )
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"

        # The documentation renders from assets the server itself serves (no CDN).
        docs = requests.get(f"{server.url}/docs", timeout=5)
        assert docs.status_code == 200
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', docs.text)
        assert len(assets) >= 2
        for asset in assets:
            assert requests.get(f"{server.url}{asset}", timeout=5).status_code == 200
        schema = requests.get(f"{server.url}/openapi.json", timeout=5)
        assert schema.headers["Content-Type"].startswith("application/json")
        assert "/api/v1/health" in schema.json()["paths"]

        assert server.stop(signal.SIGINT) == 0
    assert "Traceback" not in server.log()


def test_serve_runs_open_without_a_token_and_applies_migrations(tmp_path):
    with baton_server(tmp_path) as server:
        ready = requests.get(f"{server.url}/api/v1/ready", timeout=5)
        assert ready.json() == {"ready": True, "daemon_running": False, "pending_decisions": 0}
        assert requests.get(f"{server.url}/api/v1/nothing-here", timeout=5).json() == {"detail": "Not Found"}
        assert server.stop(signal.SIGTERM) == 0


def test_a_second_serve_on_a_taken_port_refuses_to_start(tmp_path):
    with baton_server(tmp_path, "--no-worker", "--workers", "2") as server:
        port = server.url.rsplit(":", 1)[1]
        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "baton_site.cli",
                "serve",
                "--no-worker",
                "--workers",
                "2",
                "--port",
                port,
            ],
            env={**server.env, "BATON_DATA_DIR": str(tmp_path / "second")},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert second.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
        # The first server still answers every request: nothing joined its port.
        for _ in range(10):
            assert requests.get(f"{server.url}/api/v1/health", timeout=5).status_code == 200


def _read_response(sock: socket.socket, buffer: bytearray) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length from a raw socket (bytes after it stay in `buffer`)."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-head: {bytes(buffer)!r}"
        buffer += chunk
    head, _, _ = bytes(buffer).partition(b"\r\n\r\n")
    del buffer[: len(head) + 4]
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)
    }
    length = int(headers["content-length"])
    while len(buffer) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        buffer += chunk
    body = bytes(buffer[:length])
    del buffer[:length]
    return int(status_line.split()[1]), headers, body


def test_responses_arrive_whole_when_large_pipelined_or_closing(tmp_path):
    """A web process sends each response as soon as it is made; what the socket does not take at once must still
    arrive, in order, on a connection that stays usable."""
    with baton_server(tmp_path, "--no-worker") as server:
        port = int(server.url.rsplit(":", 1)[1])
        expected = requests.get(f"{server.url}/openapi.json", timeout=10).content
        assert len(expected) > 100_000

        # A large body to a client that reads slowly: the socket takes a part, the rest follows.
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(10)
            sock.connect(("127.0.0.1", port))
            buffer = bytearray()
            sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            time.sleep(0.5)
            status, headers, body = _read_response(sock, buffer)
            assert (status, body) == (200, expected)
            # The same connection, kept alive, then answers two pipelined requests in order.
            sock.sendall(
                b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                b"GET /api/v1/nothing-here HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            )
            first, second = _read_response(sock, buffer), _read_response(sock, buffer)
            assert (first[0], json.loads(first[2])["status"]) == (200, "healthy")
            assert (second[0], json.loads(second[2])) == (404, {"detail": "Not Found"})
            assert not buffer

        # A client asking to close gets its whole response, then the end of the connection.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            buffer = bytearray()
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            status, _, body = _read_response(sock, buffer)
            assert (status, json.loads(body)["status"]) == (200, "healthy")
            assert sock.recv(1) == b""
        assert server.stop(signal.SIGINT) == 0
    assert "Traceback" not in server.log()


def _connection_owners(server_pid: int, port: int, client_ports: set[int]) -> dict[int, int]:
    """pid -> how many of the given client connections that process (a child of the server) holds, read from
    /proc: each server-side socket is found by its (local, remote) ports, then by its inode among each child's
    open files."""
    children = [
        int(pid) for pid in filter(str.isdigit, os.listdir("/proc")) if _parent_pid(int(pid)) == server_pid
    ]
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if (
                    int(local.rsplit(":", 1)[1], 16) == port
                    and int(remote.rsplit(":", 1)[1], 16) in client_ports
                ):
                    inodes.add(f"socket:[{inode}]")
    owners = {}
    for pid in children:
        held = 0
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                held += os.readlink(f"/proc/{pid}/fd/{fd}") in inodes
            except OSError:
                continue
        owners[pid] = held
    return owners


def _parent_pid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="reads sockets from Linux's /proc")
def test_web_processes_share_a_burst_of_keep_alive_connections_evenly(tmp_path):
    """Clients that keep their connections stay with the process that accepted them: 8 clients connecting at
    once must end up 4 and 4 on two web processes, not wherever the first process to wake took them."""
    with baton_server(tmp_path, "--no-worker", "--workers", "2") as server:
        port = int(server.url.rsplit(":", 1)[1])
        sockets = [socket.socket() for _ in range(8)]
        try:
            for sock in sockets:
                sock.settimeout(10)
                sock.setblocking(False)
                sock.connect_ex(("127.0.0.1", port))
            for sock in sockets:
                sock.setblocking(True)
                sock.settimeout(10)
                sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            for sock in sockets:
                assert _read_response(sock, bytearray())[0] == 200
            owners = _connection_owners(server.process.pid, port, {s.getsockname()[1] for s in sockets})
        finally:
            for sock in sockets:
                sock.close()
        assert sorted(owners.values()) == [4, 4], owners
        assert server.stop(signal.SIGINT) == 0
