"""Helpers for the webhook integration tests: the environment of a running `baton serve`, `baton manage`
commands run in it, and separate `baton worker` processes."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import requests

T = TypeVar("T")

# Shortened delays so that the whole schedule (first attempt + 3 retries) takes about a second, and a short claim
# timeout / requeue interval so that a crash is recovered within a few seconds.
FAST_WEBHOOKS = {
    "BATON_WEBHOOK_RETRY_DELAYS": "0.2,0.4,0.6",
    "BATON_WEBHOOK_TIMEOUT": "2",
    "BATON_WEBHOOK_CLAIM_TIMEOUT": "4",
    "BATON_WEBHOOK_REQUEUE_AFTER": "1",
    "BATON_WEBHOOK_SWEEP_INTERVAL": "0.3",
}


def process_env(data_dir: Path, database_url: str | None, extra: dict[str, str]) -> dict[str, str]:
    """The environment `baton_server` gives its child, for other processes that must share its state."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({"BATON_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"})
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "baton_site.cli", "manage", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"baton manage {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def publish(env: dict[str, str], *topics: str, task_id: str = "task-it", payload: str = "{}") -> list[str]:
    """Publish events through the bus in a separate process; returns their event ids."""
    return event_ids(manage(env, "publish_test_event", *topics, "--task-id", task_id, "--payload", payload))


def event_ids(output: str) -> list[str]:
    return [word for word in output.split() if re.fullmatch(r"[0-9a-f]{12}", word)]


def publish_then_crash_after_commit(
    env: dict[str, str], topic: str, task_id: str, *, first: tuple[str, ...] = ()
) -> list[str]:
    """A process that publishes `first` normally, then commits one more event and dies before anything it
    registered on commit runs (so that event's delivery messages are never sent): `os._exit` is registered first,
    so it runs first. Returns the ids of all the events."""
    code = (
        "import os\n"
        "from django.db import transaction\n"
        "from executions import events\n"
        f"for topic in {list(first)!r}:\n"
        f"    print(events.publish({task_id!r}, topic, {{}}).event_id, flush=True)\n"
        "with transaction.atomic():\n"
        "    transaction.on_commit(lambda: os._exit(0))\n"
        f"    print(events.publish({task_id!r}, {topic!r}, {{}}).event_id, flush=True)\n"
        "raise SystemExit('on_commit did not run')\n"
    )
    return event_ids(manage(env, "shell", "-c", code))


class Worker:
    """A separate `baton worker` process (Celery) with its own log file."""

    def __init__(self, env: dict[str, str], log_path: Path, *options: str) -> None:
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "baton_site.cli", "worker", "--pool", "threads", *options],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30.0) -> None:
        wait_until(
            lambda: " ready." in self.log() or None, timeout, lambda: f"worker not ready:\n{self.log()}"
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, nothing is acknowledged or given back to the broker."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def running_worker(env: dict[str, str], log_path: Path, *options: str) -> Iterator[Worker]:
    worker = Worker(env, log_path, *options)
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


def wait_until(
    probe: Callable[[], T | None], timeout: float, message: Callable[[], str] | str = "condition not met"
) -> T:
    """Poll `probe` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(0.05)


class Api:
    """The webhooks API of a running server."""

    def __init__(self, base_url: str) -> None:
        self.base = f"{base_url}/api/v1"

    def register(self, url: str, events: list[str], secret: str | None = None) -> dict[str, Any]:
        response = requests.post(
            f"{self.base}/webhooks", json={"url": url, "events": events, "secret": secret}, timeout=10
        )
        assert response.status_code == 201, response.text
        return response.json()

    def webhook(self, webhook_id: str) -> dict[str, Any]:
        return requests.get(f"{self.base}/webhooks/{webhook_id}", timeout=10).json()

    def deliveries(self, webhook_id: str) -> list[dict[str, Any]]:
        response = requests.get(f"{self.base}/webhooks/{webhook_id}/deliveries?limit=200", timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["results"]

    def ping(self, webhook_id: str) -> dict[str, Any]:
        response = requests.post(f"{self.base}/webhooks/{webhook_id}/test", timeout=10)
        assert response.status_code == 202, response.text
        return response.json()

    def enable(self, webhook_id: str) -> dict[str, Any]:
        return requests.post(f"{self.base}/webhooks/{webhook_id}/enable", timeout=10).json()

    def settled(self, webhook_id: str, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Wait until the webhook has `count` deliveries, none pending or in flight."""

        def probe() -> list[dict[str, Any]] | None:
            rows = self.deliveries(webhook_id)
            done = len(rows) == count and all(r["status"] not in ("pending", "sending") for r in rows)
            return rows if done else None

        return wait_until(probe, timeout, lambda: f"deliveries not settled: {self.deliveries(webhook_id)}")
