"""Real processes for integration tests: `baton serve` (daphne + embedded worker) on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import requests

CHECKOUT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def fresh_database_url() -> Iterator[str | None]:
    """A new, empty PostgreSQL database when the suite runs on PostgreSQL; None (SQLite) otherwise."""
    base = os.environ.get("DATABASE_URL")
    if not base:
        yield None
        return
    import psycopg

    name = f"baton_it_{uuid.uuid4().hex[:10]}"
    admin_url = base.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class BatonServer:
    """A running `baton serve` child process and its base URL."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        url: str,
        data_dir: Path,
        log_path: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.process = process
        self.url = url
        self.data_dir = data_dir
        self.log_path = log_path
        # The child's environment: run `baton manage ...` with it to act on the same database.
        self.env = env or {}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


@contextlib.contextmanager
def baton_server(
    tmp_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
    ready_timeout: float = 60.0,
    data_dir: Path | None = None,
) -> Iterator[BatonServer]:
    """Run `baton serve` on a free port. Several servers share one SQLite database when given the same
    `data_dir`; on PostgreSQL, pass the first one's `env["DATABASE_URL"]` in `env` to share its database."""
    port = free_port()
    data_dir = data_dir or tmp_path / f"data-{port}"
    log_path = tmp_path / f"server-{port}.log"
    with fresh_database_url() as database_url:
        child_env = {
            k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
        }
        child_env.update({"BATON_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"})
        # The server runs this checkout's code even when the interpreter has another copy of Baton installed (a
        # benchmark started from a second checkout measures that checkout).
        child_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")]))
        if database_url:
            child_env["DATABASE_URL"] = database_url
        child_env.update(env or {})
        command = [sys.executable, "-m", "baton_site.cli", "serve", "--port", str(port), *args]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=child_env, cwd=tmp_path
            )
        server = BatonServer(process, f"http://127.0.0.1:{port}", data_dir, log_path, child_env)
        try:
            deadline = time.monotonic() + ready_timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"baton serve exited early:\n{server.log()}")
                try:
                    if requests.get(f"{server.url}/api/v1/health", timeout=1).status_code == 200:
                        break
                except (requests.ConnectionError, requests.Timeout):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"baton serve did not become healthy:\n{server.log()}")
                time.sleep(0.2)
            yield server
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@contextlib.contextmanager
def redis_server(tmp_path: Path) -> Iterator[str]:
    """A real `redis-server` (Debian package) on a free loopback port, without persistence; yields its URL."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
