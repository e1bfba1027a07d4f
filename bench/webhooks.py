"""Webhook delivery under load: deliveries per second sustained by one worker, and publish-to-delivery latency.

Starts a real `baton serve` (daphne + its embedded Celery worker, threads pool, on the filesystem broker), or with
`--redis` a local redis-server, `baton serve --no-worker` and one separate `baton worker` process; plus a local HTTP
receiver on loopback and one webhook (with a secret, so every body is signed) subscribed to the benchmark's topic.
Events go through the real event bus (the outbox path the engine uses: Event row and Delivery row in one
transaction, a Celery message on commit), each stamped with its publish time; the receiver stamps each arrival.

1. paced: `--events` events at `--rate` events/s, published by `--publishers` processes (as concurrent web
   requests would); reports the rate delivered and the publish-to-delivery latency p50/p99 (from just before the
   publishing transaction to the receiver's arrival stamp). It is preceded by two seconds at the same rate (a
   worker that has just booted warms its threads' connections and code paths), and its clock starts once every
   publisher has set Django up: a publisher that started late would catch up in a burst that is not the rate.
2. burst: `--burst` events committed in one transaction, so the worker starts with a full backlog; reports its
   throughput (deliveries/s between the first and the last arrival). This is "sustained by one worker".

    python bench/webhooks.py [--events 3000] [--rate 250] [--publishers 3] [--burst 3000]
                             [--redis [--pool threads|prefork] [--concurrency 8]]
    python bench/webhooks.py --url http://127.0.0.1:8741   # a running server and worker; this process needs
                                                            # their BATON_DATA_DIR / DATABASE_URL / REDIS_URL

Publishing costs CPU too (about as much per event as a delivery): on a small machine the paced run measures the
machine as much as the worker, which is why the burst run is reported apart.
Goal (issue 6): at least 200 deliveries/s, and p99 under 500 ms at that rate.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

TOPIC = "bench.delivered"
TASKS = 16  # events spread over several task streams, as several executions would publish them


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Arrivals:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: list[tuple[float, float, str]] = []  # (arrived, published, event_id)

    def add(self, arrived: float, body: bytes) -> None:
        event = json.loads(body)
        with self.lock:
            self.rows.append((arrived, float(event["payload"]["published_at"]), event["event_id"]))

    def count(self) -> int:
        with self.lock:
            return len(self.rows)

    def take(self) -> list[tuple[float, float, str]]:
        with self.lock:
            rows, self.rows = self.rows, []
        return rows


@contextlib.contextmanager
def receiver() -> Iterator[tuple[str, Arrivals]]:
    arrivals = Arrivals()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrivals.add(time.time(), body)
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/bench", arrivals
    finally:
        server.shutdown()
        server.server_close()


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/api/v1/health", timeout=5).status_code == 200:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log.read_text())
        time.sleep(0.2)


@contextlib.contextmanager
def stack(
    tmp: Path, use_redis: bool, concurrency: int, pool: str
) -> Iterator[tuple[str, dict[str, str], list[int]]]:
    """Server (+ redis + worker); yields the URL, the environment that reaches the same state, and the pids of
    the server and worker processes (for CPU accounting; redis-server is not counted)."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update({"BATON_DATA_DIR": str(tmp / "data"), "BATON_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"})
    children: list[subprocess.Popen[bytes]] = []
    try:
        if use_redis:
            port = free_port()
            redis = [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ]
            children.append(subprocess.Popen([*redis, "--dir", str(tmp)], stdout=subprocess.DEVNULL))
            env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
            time.sleep(0.5)
        port = free_port()
        serve = [sys.executable, "-m", "baton_site.cli", "serve", "--port", str(port), "--verbosity", "0"]
        if use_redis:
            serve.append("--no-worker")
        log = tmp / "server.log"
        with log.open("wb") as out:
            children.append(subprocess.Popen(serve, env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT))
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, children[-1], log)
        if use_redis:
            worker = [sys.executable, "-m", "baton_site.cli", "worker", "--pool", pool]
            worker += ["--concurrency", str(concurrency), "--loglevel", "WARNING"]
            with (tmp / "worker.log").open("wb") as out:
                children.append(
                    subprocess.Popen(worker, env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT)
                )
            time.sleep(
                4
            )  # the worker's start-up (no readiness endpoint); a late start only delays the first events
        yield url, env, [child.pid for child in children[1 if use_redis else 0 :]]
    finally:
        for child in reversed(children):
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()


def process_tree_cpu(roots: list[int]) -> float:
    """CPU seconds (user + system) used so far by the given processes and all their descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = set(roots), list(roots)
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(pid, 0.0) for pid in tree)


def setup_django(env: dict[str, str]) -> None:
    os.environ.update({k: v for k, v in env.items() if k.startswith(("BATON_", "DATABASE_URL", "REDIS_URL"))})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baton_site.settings")
    import django

    django.setup()


def publish_as_a_web_process() -> None:
    """Give this thread's publishes an event loop to hand their stream sends to, as a web request has (the
    server's). Outside a web process each commit would instead wait for its sends to the channel layer: with
    Redis, about 4 ms an event, which would measure the publishers rather than the worker. (The in-memory layer of
    the embedded default sends nothing from a process without stream clients either way.)"""
    import asyncio

    from baton_site.context import server_loop

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="bench-server-loop", daemon=True).start()
    server_loop.set(loop)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def wait_arrivals(arrivals: Arrivals, expected: int, timeout: float) -> list[tuple[float, float, str]]:
    deadline = time.monotonic() + timeout
    while arrivals.count() < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # let stragglers (duplicates, if any) arrive before counting
    return arrivals.take()


def _publisher(
    env: dict[str, str],
    rate: float,
    count: int,
    offset: int,
    stride: int,
    gates: tuple[Any, Any],
    start_at: Any,
    results: Any,
) -> None:
    """One publishing process: events offset, offset+stride, ... each at its due time; reports when it finished.

    It sets Django up and publishes one event no webhook matches (database connection, statement paths) before
    the start is given, so that no publisher starts late and then catches up in a burst."""
    setup_django(env)
    publish_as_a_web_process()
    from baton_site.celery import app
    from executions import events as bus

    bus.publish(f"task-bench-warm-{offset}", "warmup", {})
    with app.producer_or_acquire() as producer:  # the broker connection a first delivery message would open
        producer.connection.ensure_connection()
    ready, go = gates
    ready.wait(timeout=120)
    go.wait(timeout=120)
    start = start_at.value
    for index in range(offset, count, stride):
        pause = start + index / rate - time.time()
        if pause > 0:
            time.sleep(pause)
        bus.publish(f"task-bench-{index % TASKS}", TOPIC, {"published_at": time.time(), "index": index})
    results.put(time.time())


def paced(
    env: dict[str, str], arrivals: Arrivals, events: int, rate: float, publishers: int
) -> dict[str, float]:
    """`events` events at `rate`/s, from `publishers` processes (as several web requests would publish them).

    The clock starts once every publisher is ready (two barriers: all set up, then the start time is known)."""
    context = multiprocessing.get_context("spawn")
    gates = (context.Barrier(publishers + 1), context.Barrier(publishers + 1))
    start_at = context.Value("d", 0.0)
    results = context.Queue()
    processes = [
        context.Process(
            target=_publisher, args=(env, rate, events, offset, publishers, gates, start_at, results)
        )
        for offset in range(publishers)
    ]
    for process in processes:
        process.start()
    try:
        gates[0].wait(timeout=120)
        start_at.value = start = time.time() + 0.2
        gates[1].wait(timeout=120)
        finished = max(results.get(timeout=600) for _ in processes)
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    published_in = finished - start  # until the last publish committed (not the processes' exit)
    rows = wait_arrivals(arrivals, events, timeout=120)
    return summarise(rows, events, published_in)


def burst(arrivals: Arrivals, events: int) -> dict[str, float]:
    """`events` events committed in one transaction: their messages are enqueued together at commit, so the
    worker has a backlog from the start; throughput is measured between the first and the last arrival."""
    from django.db import transaction

    from executions import events as bus

    start, cpu = time.time(), time.process_time()
    with transaction.atomic():
        for index in range(events):
            bus.publish(f"task-bench-{index % TASKS}", TOPIC, {"published_at": time.time(), "index": index})
    published_in, publisher_cpu = time.time() - start, time.process_time() - cpu
    rows = wait_arrivals(arrivals, events, timeout=300)
    return {**summarise(rows, events, published_in), "publisher_cpu_ms": publisher_cpu * 1000 / events}


def summarise(rows: list[tuple[float, float, str]], expected: int, published_in: float) -> dict[str, float]:
    unique = {event_id for _, _, event_id in rows}
    latencies = [(arrived - published) * 1000 for arrived, published, _ in rows]
    first = min(arrived for arrived, _, _ in rows)
    last = max(arrived for arrived, _, _ in rows)
    return {
        "published": expected,
        "publish_rate": expected / published_in,
        "delivered": len(unique),
        "duplicates": len(rows) - len(unique),
        "deliveries_per_s": (len(rows) - 1) / (last - first) if last > first else float("nan"),
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies),
    }


def report(name: str, figures: dict[str, float]) -> None:
    print(
        f"{name:>6}: published {figures['published']:.0f} at {figures['publish_rate']:.0f}/s, "
        f"delivered {figures['delivered']:.0f} (+{figures['duplicates']:.0f} duplicates) "
        f"at {figures['deliveries_per_s']:.0f}/s; latency p50 {figures['p50_ms']:.0f} ms, "
        f"p99 {figures['p99_ms']:.0f} ms, max {figures['max_ms']:.0f} ms"
        + (
            f"; CPU per event: publisher {figures['publisher_cpu_ms']:.1f} ms, "
            f"server+worker {figures['server_cpu_ms']:.1f} ms"
            if "server_cpu_ms" in figures
            else ""
        ),
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=3000, help="events in the paced run")
    parser.add_argument("--rate", type=float, default=250.0, help="publish rate of the paced run (events/s)")
    parser.add_argument("--publishers", type=int, default=3, help="publishing processes in the paced run")
    parser.add_argument("--burst", type=int, default=3000, help="events in the burst run (0: skip)")
    parser.add_argument("--redis", action="store_true", help="Redis broker and a separate worker process")
    parser.add_argument(
        "--pool", default="threads", choices=["threads", "prefork"], help="worker pool (--redis)"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="worker threads or processes (--redis)")
    parser.add_argument("--url", help="use a running server (and its worker) instead of starting one")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp, receiver() as (hook_url, arrivals):
        context = (
            contextlib.nullcontext((args.url, dict(os.environ), []))
            if args.url
            else stack(Path(tmp), args.redis, args.concurrency, args.pool)
        )
        with context as (url, env, pids):
            setup_django(env)
            publish_as_a_web_process()  # the burst publishes from this thread
            response = requests.post(
                f"{url}/api/v1/webhooks",
                json={"url": hook_url, "events": ["bench.*"], "secret": "bench-secret"},
                timeout=10,
            )
            response.raise_for_status()
            webhook_id = response.json()["webhook_id"]
            mode = (
                "external server" if args.url else ("redis + 1 worker" if args.redis else "embedded worker")
            )
            print(f"webhooks bench ({mode}); receiver {hook_url}", flush=True)
            # Warm up for two seconds at the measured rate (a worker that has just booted, its threads' database
            # and HTTP connections, code paths), then measure.
            paced(env, arrivals, round(2 * args.rate), args.rate, args.publishers)
            report("paced", paced(env, arrivals, args.events, args.rate, args.publishers))
            if args.burst:
                cpu_before = process_tree_cpu(pids)
                figures = burst(arrivals, args.burst)
                if pids:
                    figures["server_cpu_ms"] = (process_tree_cpu(pids) - cpu_before) * 1000 / args.burst
                report("burst", figures)
            requests.delete(f"{url}/api/v1/webhooks/{webhook_id}", timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
