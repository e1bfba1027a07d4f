"""Live event streams under load: publish-to-receive latency and server memory per SSE client.

Runs a real `baton serve` (one daphne process) and, for 1, 100 and 500 concurrent SSE clients of one task:
- latency: a step of the task is completed through the executions API (the event is published inside daphne,
  as in production); the latency of one client is the time from sending that POST until the client has read the
  `step.completed` frame. It therefore includes the POST's own processing (reported separately as `post p50`).
- memory: daphne's resident set with the clients connected and idle, minus the same process with none, per client.

    python bench/streams.py [--clients 1,100,500] [--samples 40] [--redis]

`--redis` runs the server with the Redis channel layer (a local redis-server is started), the scale-out setup.
Goals (issue 5): p99 < 100 ms at 500 clients; < 50 KB per idle client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import requests

AGENT = "backend-engineer--python"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def redis(tmp: Path) -> Iterator[str]:
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen([*command, "--dir", str(tmp)], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def server(tmp: Path, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """`baton serve` on a free port; yields its URL and the daphne child's pid."""
    port = free_port()
    child_env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    child_env.update({"BATON_DATA_DIR": str(tmp / "data"), "BATON_LOG_LEVEL": "WARNING", **env})
    command = [sys.executable, "-m", "baton_site.cli", "serve", "--port", str(port), "--verbosity", "0"]
    command += ["--workers", "1"]  # one daphne process, also with Redis
    log = (tmp / "server.log").open("wb")
    process = subprocess.Popen(command, env=child_env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp / "server.log").read_text())
            time.sleep(0.2)
        yield url, daphne_pid(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def daphne_pid(parent: int) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                status = (entry / "status").read_text()
                cmdline = (entry / "cmdline").read_bytes()
                if f"\nPPid:\t{parent}\n" in status and (
                    b"daphne" in cmdline or b"baton_site.web" in cmdline
                ):
                    return int(entry.name)
    raise RuntimeError("daphne process not found")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def thread_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def start_execution(url: str, steps: int) -> str:
    step_fields = {
        "model": "sonnet",
        "depends_on": [],
        "deliverables": [],
        "allowed_paths": [],
        "context_files": [],
    }
    phase = {
        "phase_id": 0,
        "name": "Bench",
        "steps": [
            {"step_id": f"0.{n}", "agent_name": AGENT, "task_description": f"Part {n}", **step_fields}
            for n in range(steps)
        ],
        "gate": None,
        "requires_approval": False,
    }
    plan = {
        "plan_id": f"task-bench-{uuid.uuid4().hex[:8]}",
        "task_summary": "Stream benchmark",
        "risk_level": "LOW",
        "execution_mode": "phased",
        "phases": [phase],
    }
    response = requests.post(f"{url}/api/v1/executions", json={"plan": plan}, timeout=30)
    response.raise_for_status()
    return response.json()["execution"]["task_id"]


class Client(asyncio.Protocol):
    """One SSE client on a raw connection. `data_received` runs straight from the event loop's socket callback
    (no stream reader, no task switch), so the timestamp is taken when the bytes arrive; frames are parsed only
    when a chunk holds a step.completed event."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.arrivals: dict[str, float] = {}
        self.frames = 0
        self.ready = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self._buffer += data
        # A chunk-size line never contains "\n\n" and every SSE message ends with it.
        *messages, self._buffer = self._buffer.split(b"\n\n")
        for message in messages:
            if b"\nid: " not in message:
                continue
            self.frames += 1
            if not self.ready.done():
                self.ready.set_result(None)
            start = message.find(b"event: step.completed")
            if start >= 0:
                data_line = message[message.index(b"data: ", start) + 6 :].split(b"\n", 1)[0]
                self.arrivals.setdefault(json.loads(data_line)["payload"]["step_id"], now)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def quiescent(pool: list[Client], quiet: float = 0.2, timeout: float = 30.0) -> None:
    """Wait until every client has read the same number of events and nothing arrived for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        counts = {client.frames for client in pool}
        state = (len(counts), max(counts))
        if len(counts) == 1 and state == last:
            return
        last = state
        await asyncio.sleep(quiet)
    raise RuntimeError("the clients never caught up")


async def measure(url: str, pid: int, clients: int, samples: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    host, port = url.removeprefix("http://").split(":")
    task_id = await asyncio.to_thread(start_execution, url, samples)
    await asyncio.sleep(1.0)
    rss_before, threads_before = rss_kib(pid), thread_count(pid)
    request = f"GET /api/v1/events/{task_id} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    pool: list[Client] = []
    for _ in range(clients):
        _, client = await loop.create_connection(lambda: Client(request), host, int(port))
        pool.append(client)
    await asyncio.wait_for(asyncio.gather(*(client.ready for client in pool)), timeout=120)
    await quiescent(pool)
    await asyncio.sleep(2.0)  # replay done, everyone idle
    rss_idle, threads_idle = rss_kib(pid), thread_count(pid)

    latencies: list[float] = []
    post_times: list[float] = []
    firsts: list[float] = []
    spreads: list[float] = []
    session = requests.Session()
    record = f"{url}/api/v1/executions/{task_id}/record"
    for n in range(samples):
        step_id = f"0.{n}"
        body = {"step_id": step_id, "agent": AGENT, "status": "dispatched"}
        await asyncio.to_thread(session.post, record, json=body, timeout=30)
        await quiescent(pool)
        sent = time.perf_counter()
        response = await asyncio.to_thread(
            session.post, record, json={**body, "status": "complete"}, timeout=30
        )
        post_times.append(time.perf_counter() - sent)
        response.raise_for_status()
        await quiescent(pool)  # this step's events (step.completed, and the next step.dispatched) everywhere
        missing = [client for client in pool if step_id not in client.arrivals]
        if missing:
            raise RuntimeError(f"{step_id} did not reach {len(missing)} clients")
        arrivals = [client.arrivals[step_id] - sent for client in pool]
        latencies.extend(arrivals)
        firsts.append(min(arrivals))
        spreads.append(max(arrivals) - min(arrivals))
    for client in pool:
        client.close()
    await asyncio.sleep(1.0)
    latencies.sort()
    return {
        "clients": clients,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "max_ms": 1000 * latencies[-1],
        "post_p50_ms": 1000 * statistics.median(post_times),
        "first_p50_ms": 1000 * statistics.median(firsts),
        "first_max_ms": 1000 * max(firsts),
        "post_max_ms": 1000 * max(post_times),
        "spread_p50_ms": 1000 * statistics.median(spreads),
        "rss_idle_mib": rss_idle / 1024,
        "kib_per_client": (rss_idle - rss_before) / clients,
        "threads": f"{threads_before}->{threads_idle}",
        "rss_after_close_mib": rss_kib(pid) / 1024,
    }


COLUMNS = [
    ("clients", "clients", "d"),
    ("p50_ms", "p50 ms", ".1f"),
    ("p99_ms", "p99 ms", ".1f"),
    ("max_ms", "max ms", ".1f"),
    ("first_p50_ms", "first p50", ".1f"),
    ("first_max_ms", "first max", ".1f"),
    ("spread_p50_ms", "spread p50", ".1f"),
    ("post_p50_ms", "POST p50", ".1f"),
    ("post_max_ms", "POST max", ".1f"),
    ("rss_idle_mib", "RSS MiB", ".1f"),
    ("kib_per_client", "KiB/client", ".1f"),
    ("threads", "threads", "s"),
    ("rss_after_close_mib", "RSS after", ".1f"),
]


async def main_async(arguments: argparse.Namespace, url: str, pid: int) -> None:
    # Warm-up: load the code paths and the pools once so the first measured level is not charged for them.
    await measure(url, pid, 20, 3)
    print(" ".join(f"{header:>10}" for _, header, _ in COLUMNS))
    for clients in arguments.clients:
        row = await measure(url, pid, clients, arguments.samples)
        print(" ".join(f"{row[key]:>10{spec}}" for key, _, spec in COLUMNS), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", default="1,100,500", type=lambda v: [int(n) for n in v.split(",")])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--redis", action="store_true", help="use the Redis channel layer")
    arguments = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    with tempfile.TemporaryDirectory() as directory, contextlib.ExitStack() as stack:
        tmp = Path(directory)
        env: dict[str, str] = {}
        if arguments.redis:
            env["REDIS_URL"] = stack.enter_context(redis(tmp))
        url, pid = stack.enter_context(server(tmp, env))
        print(f"daphne pid {pid}, channel layer: {'redis' if arguments.redis else 'in-memory'}", flush=True)
        asyncio.run(main_async(arguments, url, pid))


if __name__ == "__main__":
    main()
