"""`baton serve` as a user runs it: a real daphne process on a free loopback port, spoken to over HTTP."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

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
