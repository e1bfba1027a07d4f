"""Execution lifecycle benchmark against a real `baton serve`.

    python bench/lifecycle.py [--url http://127.0.0.1:8741] [--lifecycles 200] [--clients 8] [--warmup 40]

Without --url it starts `baton serve` (SQLite, the default set-up) on a free port with a fresh data directory,
seeded with 100,000 usage records. It then measures:
1. N complete lifecycles (plan, start, record every step, gates, complete) driven over HTTP by C concurrent
   clients: lifecycles/s and p50/p99 request latency (goal: p99 < 50 ms with 8 clients);
2. `GET /api/v1/usage?agent=X` with 100,000 usage records (goal: < 100 ms);
3. `record` on a plan of 1,000 steps in 10 phases: p99 per call (goal: <= 20 ms).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from contextlib import ExitStack
from json import dumps, loads
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.executions.plans import inline_plan  # noqa: E402
from tests.integration.servers import baton_server  # noqa: E402

AGENTS = ["backend-engineer--python", "test-engineer--python", "code-reviewer", "architect"]


def seed_usage(data_dir: Path, count: int) -> None:
    """Write `count` usage records straight into the server's SQLite database before it starts."""
    os.environ["BATON_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baton_site.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from executions.models import AgentUsage, UsageRecord

    call_command("migrate", verbosity=0)
    now = timezone.now()
    batch = 5000
    for start in range(0, count, batch):
        records = UsageRecord.objects.bulk_create(
            [
                UsageRecord(
                    task_id=f"task-seed{n:07d}",
                    timestamp=now,
                    total_agents=2,
                    total_tokens=1000,
                    risk_level="LOW",
                    outcome="SHIP" if n % 5 else "REVISE",
                )
                for n in range(start, min(count, start + batch))
            ]
        )
        if records[0].pk is None:
            records = list(UsageRecord.objects.filter(task_id__in=[r.task_id for r in records]))
        AgentUsage.objects.bulk_create(
            [
                AgentUsage(
                    usage=record,
                    agent_name=AGENTS[(index + offset) % len(AGENTS)],
                    steps=1,
                    estimated_tokens=500,
                    outcome=record.outcome,
                    task_tokens=record.total_tokens,
                    task_agents=record.total_agents,
                )
                for index, record in enumerate(records)
                for offset in range(2)
            ]
        )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Client:
    """One keep-alive HTTP/1.1 connection on a plain socket, as a client library would hold, timed per request.

    The benchmark measures the server, and on a small machine the client shares its cores: every millisecond of
    client CPU is taken from the server under test. `requests` cost about 1.5 ms of client CPU per call here, and
    `http.client` (which parses every response head with the `email` package) 0.3-0.4 ms; this client writes each
    request in one `sendall` and reads the status line and `Content-Length` itself, for about 0.1 ms.
    """

    def __init__(self, url: str, token: str | None) -> None:
        parts = urllib.parse.urlsplit(url)
        self.url = url
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        head = (
            f"Host: {self.host}:{self.port}\r\nAccept: application/json\r\nContent-Type: application/json\r\n"
        )
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        self.head = head
        self.sock: socket.socket | None = None
        self.buffer = bytearray()
        self.latencies: list[float] = []

    def call(
        self, method: str, path: str, json: object = None, params: dict[str, object] | None = None
    ) -> dict:
        if params:
            path = f"{path}?{urllib.parse.urlencode(params)}"
        body = b"" if json is None else dumps(json).encode()
        request = (
            f"{method} {path} HTTP/1.1\r\n{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body
        )
        started = time.perf_counter()
        try:
            if self.sock is None:
                self.sock = socket.create_connection((self.host, self.port), timeout=30)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock.sendall(request)
            status, data = self._response()
        except OSError:
            self.close()  # the server closed a kept-alive connection: reconnect next call, fail this one
            raise
        self.latencies.append((time.perf_counter() - started) * 1000)
        if status >= 400:
            raise RuntimeError(f"{method} {path}: {status} {data[:200]!r}")
        return loads(data)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self.buffer.clear()

    def _receive(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def _response(self) -> tuple[int, bytes]:
        """Status and body of one response; the server answers with a `Content-Length` (Django sets it)."""
        buffer = self.buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            self._receive()
        status_line, *fields = buffer[:end].decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length = None
        for field in fields:
            name, _, value = field.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length is None:
            raise OSError(f"response without Content-Length: {status_line}")
        del buffer[: end + 4]
        while len(buffer) < length:
            self._receive()
        data = bytes(buffer[:length])
        del buffer[:length]
        return status, data


def dispatched(actions: list[dict]) -> list[dict]:
    out = []
    for action in actions:
        if action["action_type"] == "dispatch":
            out.append(action)
            out.extend(action["parallel_actions"])
    return out


def lifecycle(client: Client, number: int) -> None:
    plan = client.call(
        "POST", "/api/v1/plans", json={"description": f"Add CSV export number {number} of invoices"}
    )
    body = client.call("POST", "/api/v1/executions", json={"plan_id": plan["plan_id"]})
    task_id = body["execution"]["task_id"]
    pending = list(body["next_actions"])
    while pending:
        action = pending.pop(0)
        kind = action["action_type"]
        if kind == "dispatch":
            for item in [action, *action["parallel_actions"]]:
                result = client.call(
                    "POST",
                    f"/api/v1/executions/{task_id}/record",
                    json={
                        "step_id": item["step_id"],
                        "agent": item["agent_name"],
                        "status": "complete",
                        "tokens": 100,
                    },
                )
                pending.extend(result["next_actions"])
        elif kind == "gate":
            result = client.call(
                "POST",
                f"/api/v1/executions/{task_id}/gate",
                json={"phase_id": action["phase_id"], "result": "pass"},
            )
            pending.extend(result["next_actions"])
        elif kind == "complete":
            client.call("POST", f"/api/v1/executions/{task_id}/complete")
            return
        elif kind == "wait":
            continue
        else:
            raise RuntimeError(f"unexpected action {action}")
    # A HIGH-risk plan waits on plan_review: approve it and go on.
    decisions = client.call("GET", "/api/v1/decisions", params={"task_id": task_id, "status": "pending"})
    for decision in decisions["decisions"]:
        client.call("POST", f"/api/v1/decisions/{decision['request_id']}/resolve", json={"option": "approve"})
    result = client.call("POST", f"/api/v1/executions/{task_id}/next")
    if result["next_actions"]:
        raise RuntimeError("lifecycle did not finish")


def run_lifecycles(url: str, token: str | None, total: int, clients: int, report: bool = True) -> None:
    workers = [Client(url, token) for _ in range(clients)]
    counter = iter(range(total))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(client: Client) -> None:
        while True:
            with lock:
                number = next(counter, None)
            if number is None:
                return
            try:
                lifecycle(client, number)
            except BaseException as exc:  # report, do not hang
                errors.append(exc)
                return

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(client,)) for client in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    if not report:
        return
    latencies = [value for client in workers for value in client.latencies]
    print(
        f"lifecycles: {total} with {clients} clients in {elapsed:.1f} s = {total / elapsed:.1f} lifecycles/s"
    )
    print(
        f"  requests: {len(latencies)}  p50 {statistics.median(latencies):.1f} ms  "
        f"p99 {percentile(latencies, 0.99):.1f} ms  max {max(latencies):.1f} ms"
    )


def run_usage(url: str, token: str | None) -> None:
    client = Client(url, token)
    for _ in range(3):
        client.call("GET", "/api/v1/usage", params={"agent": "code-reviewer", "limit": 50})
    client.latencies.clear()
    for _ in range(20):
        body = client.call("GET", "/api/v1/usage", params={"agent": "code-reviewer", "limit": 50})
    print(
        f"usage?agent=X over {body['summary']['total_tasks']} matching tasks: "
        f"p50 {statistics.median(client.latencies):.1f} ms  p99 {percentile(client.latencies, 0.99):.1f} ms"
    )


def run_big_plan(url: str, token: str | None) -> None:
    client = Client(url, token)
    plan = inline_plan([[{} for _ in range(100)] for _ in range(10)])
    body = client.call("POST", "/api/v1/executions", json={"plan": plan})
    task_id = body["execution"]["task_id"]
    client.latencies.clear()
    record_latencies: list[float] = []
    for phase in range(10):
        for step in range(100):
            client.call(
                "POST",
                f"/api/v1/executions/{task_id}/record",
                json={
                    "step_id": f"{phase}.{step}",
                    "agent": "backend-engineer--python",
                    "status": "complete",
                },
            )
            record_latencies.append(client.latencies[-1])
        client.call("POST", f"/api/v1/executions/{task_id}/gate", json={"phase_id": phase, "result": "pass"})
    print(
        f"record on a 1,000-step plan: {len(record_latencies)} calls  p50 {statistics.median(record_latencies):.1f} ms"
        f"  p99 {percentile(record_latencies, 0.99):.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--lifecycles", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--usage-records", type=int, default=100_000)
    parser.add_argument(
        "--warmup",
        type=int,
        default=40,
        help="lifecycles run first and not measured: every web process imports, connects and fills its caches",
    )
    args = parser.parse_args()
    with ExitStack() as stack:
        url = args.url
        if url is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            data_dir = tmp / "data"
            seed_usage(data_dir, args.usage_records)
            server = stack.enter_context(
                baton_server(tmp, "--no-worker", "--verbosity", "0", data_dir=data_dir)
            )
            url = server.url
        try:
            if args.warmup:
                run_lifecycles(url, args.token, args.warmup, args.clients, report=False)
            run_lifecycles(url, args.token, args.lifecycles, args.clients)
            run_usage(url, args.token)
            run_big_plan(url, args.token)
        except Exception:
            if args.url is None:
                print(server.log()[-5000:], file=sys.stderr)
            raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
