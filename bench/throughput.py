"""Requests per second of `GET /api/v1/agents` and `GET /api/v1/executions/{id}` against a real `baton serve`.

    python bench/throughput.py [--workers 1 2] [--seconds 10] [--connections 8]

Starts `baton serve --no-worker --workers N` (SQLite) for each N, creates one execution, and drives both endpoints
with `wrk` (Debian package `wrk`) when it is installed, else with a small keep-alive asyncio client. Goal: at
least twice the original FastAPI server's ~450 req/s for the agents list.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.executions.plans import inline_plan  # noqa: E402
from tests.integration.servers import baton_server  # noqa: E402


def with_wrk(url: str, seconds: int, connections: int) -> float:
    output = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed responses from {url}")
    p99 = re.search(r"99%\s+([\d.]+\w+)", output)
    print(f"    p99 latency {p99.group(1) if p99 else '?'}")
    return float(match.group(1)) if match else 0.0


async def _client(host: str, port: int, path: str, deadline: float, counter: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    while time.monotonic() < deadline:
        writer.write(request)
        await writer.drain()
        headers = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: (\d+)", headers).group(1))
        await reader.readexactly(length)
        counter[0] += 1
    writer.close()


def with_asyncio(url: str, seconds: int, connections: int) -> float:
    parts = urlsplit(url)
    counter = [0]

    async def run() -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            *(_client(parts.hostname, parts.port, parts.path, deadline, counter) for _ in range(connections))
        )

    started = time.monotonic()
    asyncio.run(run())
    return counter[0] / (time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    measure = with_wrk if shutil.which("wrk") else with_asyncio
    for workers in args.workers:
        with (
            tempfile.TemporaryDirectory() as tmp,
            baton_server(Path(tmp), "--no-worker", "--verbosity", "0", "--workers", str(workers)) as server,
        ):
            body = requests.post(
                f"{server.url}/api/v1/executions", json={"plan": inline_plan([[{}, {}]])}, timeout=30
            )
            task_id = body.json()["execution"]["task_id"]
            for path in ("/api/v1/agents", f"/api/v1/executions/{task_id}"):
                measure(f"{server.url}{path}", 2, args.connections)  # warm-up
                rate = measure(f"{server.url}{path}", args.seconds, args.connections)
                print(f"workers={workers} GET {path}: {rate:.0f} req/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
