"""Live event streams against real servers: `baton serve` (daphne) read over real sockets, Redis for scale-out.

Events are caused the way users cause them: through the executions API of a running server (published inside
its daphne process), or by another process writing to the same database (`baton manage shell`, as the Celery
worker or a second web process would). The SSE and WebSocket clients below speak HTTP/1.1 and RFC 6455 over plain
sockets, so every byte the server sends is checked, and closing a client really closes its TCP connection.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import requests

from tests.executions.plans import inline_plan
from tests.integration.servers import BatonServer, baton_server, redis_server

pytestmark = pytest.mark.integration

TOKEN = "stream-token-0123456789"
EVENT_KEYS = ["event_id", "timestamp", "topic", "task_id", "sequence", "payload"]
AGENT = "backend-engineer--python"
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


# -- clients -------------------------------------------------------------------------------------------------


@dataclass
class SSEItem:
    """One SSE message: an event (`event`, `id`, `data`) or a comment line."""

    event: str | None = None
    id: str | None = None
    data: dict[str, Any] | None = None
    comment: str | None = None


@dataclass
class SSEConnection:
    """A streaming GET over a raw socket: status and headers, then the chunked body parsed into SSE items."""

    sock: socket.socket
    status: int
    headers: dict[str, str]
    _raw: bytes = b""
    _text: str = ""
    body: bytes = b""
    closed: bool = False
    chunked: bool = field(default=False)

    @classmethod
    def open(cls, url: str, path: str, headers: dict[str, str] | None = None, timeout: float = 10.0):
        parts = urlsplit(url)
        sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        lines = [f"GET {path} HTTP/1.1", f"Host: {parts.netloc}", "Accept: text/event-stream"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("closed before the response headers")
            buffer += data
        head, _, rest = buffer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        response_headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            response_headers[name.strip().lower()] = value.strip()
        connection = cls(sock, int(status_line.split()[1]), response_headers, _raw=rest)
        connection.chunked = response_headers.get("transfer-encoding", "").lower() == "chunked"
        if "content-length" in response_headers:
            length = int(response_headers["content-length"])
            while len(connection._raw) < length:
                connection._raw += sock.recv(65536)
            connection.body = connection._raw[:length]
        return connection

    def json(self, timeout: float = 10.0) -> Any:
        """The whole body of a finite response (sent with Content-Length, or chunked), as JSON."""
        if self.chunked and not self.body:
            deadline = time.monotonic() + timeout
            while not self.closed:
                self._decode_chunks()
                if self.closed:
                    break
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("connection closed in the body")
                self._raw += data
            self.body = self._text.encode()
        return json.loads(self.body)

    def _decode_chunks(self) -> None:
        while True:
            size_line, separator, rest = self._raw.partition(b"\r\n")
            if not separator:
                return
            size = int(size_line.split(b";")[0], 16)
            if len(rest) < size + 2:
                return
            if size == 0:
                self.closed = True
            self._text += rest[:size].decode("utf-8")
            self._raw = rest[size + 2 :]

    def next_item(self, timeout: float = 10.0) -> SSEItem:
        """The next complete SSE message; raises TimeoutError when none completes within `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            self._decode_chunks()
            message, separator, rest = self._text.partition("\n\n")
            if separator:
                self._text = rest
                if not message:
                    continue  # the empty write that flushed the headers
                return _parse_sse(message)
            if self.closed:
                raise ConnectionError("the server ended the stream")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no SSE message in time")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                raise ConnectionError("connection closed")
            self._raw += data

    def next_event(self, timeout: float = 10.0) -> SSEItem:
        """The next event, skipping keepalive comments."""
        deadline = time.monotonic() + timeout
        while True:
            item = self.next_item(max(0.01, deadline - time.monotonic()))
            if item.comment is None:
                return item

    def events(self, count: int, timeout: float = 15.0) -> list[SSEItem]:
        deadline = time.monotonic() + timeout
        return [self.next_event(max(0.01, deadline - time.monotonic())) for _ in range(count)]

    def drain(self, quiet: float = 0.5, timeout: float = 15.0) -> list[SSEItem]:
        """Every event until none arrives for `quiet` seconds."""
        received: list[SSEItem] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                received.append(self.next_event(quiet))
            except TimeoutError:
                return received
        raise AssertionError("the stream never went quiet")

    def assert_silent(self, seconds: float) -> None:
        """No event (keepalive comments allowed) for `seconds`."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                item = self.next_item(remaining)
            except TimeoutError:
                return
            assert item.comment is not None, f"unexpected event {item}"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def _parse_sse(message: str) -> SSEItem:
    item = SSEItem()
    data_lines = []
    for line in message.split("\n"):
        if line.startswith(":"):
            item.comment = line[1:].strip()
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            item.event = value
        elif name == "id":
            item.id = value
        elif name == "data":
            data_lines.append(value)
    if data_lines:
        item.data = json.loads("\n".join(data_lines))
    return item


class WebSocketRefused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"handshake refused with HTTP {status}")
        self.status = status


class WebSocketConnection:
    """A minimal RFC 6455 client over a raw socket: text frames, ping/pong and close, client frames masked."""

    def __init__(self, url: str, path: str, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {parts.netloc}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed during the handshake")
            buffer += data
        head, _, self._buffer = buffer.partition(b"\r\n\r\n")
        status = int(head.split()[1])
        if status != 101:
            self.sock.close()
            raise WebSocketRefused(status)
        accept = base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()).decode()
        response_headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in head.decode("latin-1").split("\r\n")[1:])
        }
        assert response_headers["sec-websocket-accept"] == accept
        self.close_code: int | None = None

    def _read(self, count: int, deadline: float) -> bytes:
        while len(self._buffer) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no WebSocket frame in time")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                raise ConnectionError("connection closed")
            self._buffer += data
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        header = bytes([0x80 | opcode])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        else:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_json(self, value: Any) -> None:
        self._send_frame(0x1, json.dumps(value).encode())

    def receive_json(self, timeout: float = 10.0) -> Any:
        """The next text message as JSON; raises ConnectionError with `close_code` set on a close frame."""
        deadline = time.monotonic() + timeout
        while True:
            first, second = self._read(2, deadline)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(2, deadline))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(8, deadline))[0]
            payload = self._read(length, deadline)
            if opcode == 0x1:
                return json.loads(payload)
            if opcode == 0x9:
                self._send_frame(0xA, payload)
            elif opcode == 0x8:
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                raise ConnectionError(f"closed by the server with {self.close_code}")

    def close(self) -> None:
        try:
            self._send_frame(0x8, struct.pack("!H", 1000))
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


# -- causing events ------------------------------------------------------------------------------------------


def start_execution(server: BatonServer, steps: int, headers: dict[str, str] | None = None) -> str:
    """Start an execution of a one-phase plan through the API (its events are published inside daphne)."""
    plan = inline_plan([[{} for _ in range(steps)]], gates=[False], plan_id=f"task-{uuid.uuid4().hex[:12]}")
    response = requests.post(
        f"{server.url}/api/v1/executions", json={"plan": plan}, headers=headers, timeout=10
    )
    assert response.status_code == 201, response.text
    return response.json()["execution"]["task_id"]


def complete_step(
    server: BatonServer, task_id: str, step_id: str, headers: dict[str, str] | None = None
) -> None:
    for status in ("dispatched", "complete"):
        response = requests.post(
            f"{server.url}/api/v1/executions/{task_id}/record",
            json={"step_id": step_id, "agent": AGENT, "status": status},
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 200, response.text


def publish_from_another_process(
    server: BatonServer, task_id: str, count: int, topic: str = "step.completed"
) -> None:
    """Publish `count` events of one task from a separate process on the same database (not through daphne)."""
    code = textwrap.dedent(
        f"""
        from executions.events import publish_many
        publish_many({task_id!r}, [({topic!r}, {{"n": n}}) for n in range({count})])
        """
    )
    command = [sys.executable, "-m", "baton_site.cli", "manage", "shell", "-c", code]
    completed = subprocess.run(
        command, env=server.env, cwd=server.data_dir.parent, capture_output=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr.decode()


def stream_gauges(server: BatonServer) -> dict[str, int] | None:
    """The process's stream gauges from its last `stream opened/closed` log line."""
    lines = re.findall(r"stream (?:opened|closed): .*", server.log())
    if not lines:
        return None
    return {name: int(value) for name, value in re.findall(r"(\w+)=(\d+)", lines[-1])}


def wait_for(predicate, timeout: float = 10.0, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")


# `baton serve` runs a web process per core by default. Tests of one process's hub (its live push without the
# table watch, its gauges) run one, so that every request and stream meets the same hub.
ONE_PROCESS = ("--workers", "1")


def slow_watch_settings(tmp_path: Path) -> dict[str, str]:
    """Settings that stretch the table watch to a minute, so events can only arrive by live push in a test."""
    (tmp_path / "slow_watch_settings.py").write_text(
        "from baton_site.settings import *  # noqa: F403\nBATON_STREAM_POLL_INTERVAL = 60.0\n"
    )
    return {"DJANGO_SETTINGS_MODULE": "slow_watch_settings"}


# -- tests ---------------------------------------------------------------------------------------------------


def test_sse_replays_then_streams_live_events_and_keeps_alive(tmp_path):
    env = {"BATON_SSE_KEEPALIVE": "0.3", **slow_watch_settings(tmp_path)}
    with baton_server(tmp_path, *ONE_PROCESS, env=env) as server:
        task_id = start_execution(server, steps=3)
        stored = SSEConnection.open(server.url, f"/api/v1/events/{task_id}")
        assert stored.status == 200
        assert stored.headers["content-type"] == "text/event-stream"
        assert stored.headers["cache-control"] == "no-cache"
        assert stored.headers["x-accel-buffering"] == "no"

        # Replay: every stored event, in sequence order, framed as the contract says.
        replay = stored.drain()
        assert len(replay) >= 3
        assert [item.data["sequence"] for item in replay] == list(range(1, len(replay) + 1))
        assert [item.event for item in replay[:2]] == ["task.started", "phase.started"]
        for item in replay:
            assert list(item.data) == EVENT_KEYS
            assert item.event == item.data["topic"]
            assert item.id == item.data["event_id"]
            assert re.fullmatch(r"[0-9a-f]{12}", item.id)
            assert item.data["task_id"] == task_id

        # Keepalive: a comment after each 0.3 s of silence, and nothing else.
        keepalive = stored.next_item(timeout=2)
        assert keepalive.comment == "keepalive"
        assert stored.next_item(timeout=2).comment == "keepalive"

        # Live: events published by the server's own process arrive at once (the table watch is a minute here).
        started = time.monotonic()
        complete_step(server, task_id, "0.0")
        live = stored.next_event(timeout=5)
        assert time.monotonic() - started < 5
        assert live.data["sequence"] == replay[-1].data["sequence"] + 1
        assert (live.event, live.data["payload"]["step_id"]) == ("step.completed", "0.0")
        stored.close()
    assert "Traceback" not in server.log()


def test_sse_delivers_events_published_by_another_process_without_redis(tmp_path):
    with baton_server(tmp_path) as server:
        task_id = "task-from-elsewhere"
        publish_from_another_process(server, task_id, 2)
        stream = SSEConnection.open(server.url, f"/api/v1/events/{task_id}")
        assert [item.data["sequence"] for item in stream.events(2)] == [1, 2]
        # In-memory channel layer: another process cannot push, the table watch picks the events up.
        publish_from_another_process(server, task_id, 3)
        late = stream.events(3, timeout=10)
        assert [(item.data["sequence"], item.data["payload"]) for item in late] == [
            (3, {"n": 0}),
            (4, {"n": 1}),
            (5, {"n": 2}),
        ]
        stream.assert_silent(1.5)
        stream.close()


def test_sse_delivers_events_caused_through_any_web_process_of_the_default_server(tmp_path):
    # The default set-up runs a web process per core, each with its own in-memory channel layer.
    with baton_server(tmp_path) as server:
        task_id = start_execution(server, steps=6)
        stream = SSEConnection.open(server.url, f"/api/v1/events/{task_id}")
        replay = stream.drain()
        # Twelve requests on new connections. The process holding the stream has more open connections than the
        # others, so it accepts none of them: on a machine of several cores, every event here crosses processes.
        for step in range(6):
            complete_step(server, task_id, f"0.{step}")
        received: list[SSEItem] = []
        completed: list[str] = []
        while len(completed) < 6:
            received.append(stream.next_event(timeout=10))
            if received[-1].event == "step.completed":
                completed.append(received[-1].data["payload"]["step_id"])
        assert completed == [f"0.{step}" for step in range(6)]
        sequences = [item.data["sequence"] for item in [*replay, *received]]
        assert sequences == list(range(1, len(sequences) + 1))  # every event once, in order
        stream.close()


def test_sse_resumes_after_last_event_id_and_loses_nothing_published_during_the_replay(tmp_path):
    with baton_server(tmp_path) as server:
        task_id = "task-resume"
        publish_from_another_process(server, task_id, 5)
        first = SSEConnection.open(server.url, f"/api/v1/events/{task_id}")
        items = first.events(5)
        first.close()

        # Reconnecting with the id of the last event received: only what was missed, then live.
        resumed = SSEConnection.open(server.url, f"/api/v1/events/{task_id}", {"Last-Event-ID": items[1].id})
        assert [item.data["sequence"] for item in resumed.events(3)] == [3, 4, 5]
        resumed.assert_silent(0.5)
        # A sequence number works too; an unknown id replays everything rather than skipping anything.
        by_sequence = SSEConnection.open(server.url, f"/api/v1/events/{task_id}", {"Last-Event-ID": "4"})
        assert [item.data["sequence"] for item in by_sequence.events(1)] == [5]
        unknown = SSEConnection.open(server.url, f"/api/v1/events/{task_id}", {"Last-Event-ID": "nope"})
        assert [item.data["sequence"] for item in unknown.events(5)] == [1, 2, 3, 4, 5]

        # A long replay (two pages) while another process keeps publishing: every event exactly once, in order.
        publish_from_another_process(server, task_id, 700)
        writer = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "baton_site.cli",
                "manage",
                "shell",
                "-c",
                "from executions.events import publish\n"
                f"for n in range(60): publish({task_id!r}, 'step.completed', {{'late': n}})",
            ],
            env=server.env,
            cwd=server.data_dir.parent,
        )
        busy = SSEConnection.open(server.url, f"/api/v1/events/{task_id}", {"Last-Event-ID": "2"})
        received = [item.data["sequence"] for item in busy.events(765 - 2, timeout=60)]
        assert writer.wait(timeout=60) == 0
        assert received == list(range(3, 766))
        busy.assert_silent(1.5)
        # The clients that stayed connected got the new events live, once each.
        assert [item.data["sequence"] for item in resumed.events(760, timeout=30)] == list(range(6, 766))
        for connection in (resumed, by_sequence, unknown, busy):
            connection.close()


def test_sse_disconnects_release_the_subscription(tmp_path):
    with baton_server(tmp_path, *ONE_PROCESS) as server:
        task_id = start_execution(server, steps=2)
        streams = [SSEConnection.open(server.url, f"/api/v1/events/{task_id}") for _ in range(3)]
        other = SSEConnection.open(server.url, f"/api/v1/events/{start_execution(server, steps=1)}")
        for stream in [*streams, other]:
            stream.next_event()
        gauges = stream_gauges(server)
        assert gauges["open_streams"] == 4
        assert gauges["task_groups"] == 2
        assert (
            'baton_stream_clients{transport="sse"} 4.0'
            in requests.get(f"{server.url}/metrics", timeout=5).text
        )

        for stream in streams:
            stream.close()
        wait_for(lambda: stream_gauges(server)["open_streams"] == 1, message="three streams closed")
        assert stream_gauges(server)["task_groups"] == 1
        other.close()
        wait_for(lambda: stream_gauges(server)["open_streams"] == 0, message="all streams closed")
        # No group, no pump, no watcher left behind.
        assert stream_gauges(server) == {
            "open_streams": 0,
            "task_groups": 0,
            "background_tasks": 0,
        }
        assert server.log().count("stream opened:") == server.log().count("stream closed:") == 4
        assert (
            'baton_stream_clients{transport="sse"} 0.0'
            in requests.get(f"{server.url}/metrics", timeout=5).text
        )

        # The server keeps serving, and a new stream starts afresh.
        assert requests.get(f"{server.url}/api/v1/health", timeout=5).status_code == 200
        again = SSEConnection.open(server.url, f"/api/v1/events/{task_id}")
        assert again.next_event().data["sequence"] == 1
        again.close()
        assert server.stop(signal.SIGTERM) == 0


def test_sse_token_rules_and_unknown_tasks(tmp_path):
    with baton_server(tmp_path, "--token", TOKEN) as server:
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        task_id = start_execution(server, steps=1, headers=bearer)
        path = f"/api/v1/events/{task_id}"
        unauthorized = {"error": "unauthorized", "detail": "Valid Bearer token required."}

        for refused in (path, f"{path}?token=wrong", f"{path}?token="):
            response = SSEConnection.open(server.url, refused)
            assert response.status == 401
            assert response.json() == unauthorized
        # EventSource cannot send headers: the stream takes ?token=, and a header as well.
        for accepted, headers in ((f"{path}?token={TOKEN}", {}), (path, bearer)):
            stream = SSEConnection.open(server.url, accepted, headers)
            assert stream.status == 200
            assert stream.next_event().event == "task.started"
            stream.close()
        # ?token= is for the stream only.
        assert requests.get(f"{server.url}/api/v1/executions?token={TOKEN}", timeout=5).status_code == 401
        assert requests.get(f"{server.url}/api/v1/executions", headers=bearer, timeout=5).status_code == 200

        # A task id nothing knows of is refused with 404 instead of streaming keepalives forever.
        missing = SSEConnection.open(server.url, f"/api/v1/events/task-nothing?token={TOKEN}")
        assert missing.status == 404
        assert missing.json() == {"detail": "Task 'task-nothing' not found"}

        schema = requests.get(f"{server.url}/openapi.json", timeout=10).json()
        operation = schema["paths"]["/api/v1/events/{task_id}"]["get"]
        assert list(operation["responses"]["200"]["content"]) == ["text/event-stream"]
        assert {"401", "404"} <= set(operation["responses"])
        assert "404" in operation["description"]
        assert {parameter["name"] for parameter in operation["parameters"]} >= {
            "task_id",
            "Last-Event-ID",
            "token",
        }


def test_an_event_caused_through_one_process_reaches_a_client_of_another_through_redis(tmp_path):
    with redis_server(tmp_path) as redis_url:
        env = {"REDIS_URL": redis_url, **slow_watch_settings(tmp_path)}
        shared = tmp_path / "shared-data"
        with baton_server(tmp_path, env=env, data_dir=shared) as server_a:
            env_b = (
                {**env, "DATABASE_URL": server_a.env["DATABASE_URL"]}
                if "DATABASE_URL" in server_a.env
                else env
            )
            with baton_server(tmp_path, env=env_b, data_dir=shared) as server_b:
                task_id = start_execution(server_a, steps=2)
                stream = SSEConnection.open(server_b.url, f"/api/v1/events/{task_id}")
                assert stream.status == 200
                replay = stream.drain()
                assert replay[0].event == "task.started"
                client = redis.Redis.from_url(redis_url)
                group_key = f"asgi:group:task.{task_id}"
                assert client.zcard(group_key) == 1  # process B's hub, not one entry per client

                started = time.monotonic()
                complete_step(server_a, task_id, "0.1")
                live = stream.next_event(timeout=10)
                # The table watch runs once a minute here: only the Redis channel layer can have carried it.
                assert time.monotonic() - started < 10
                assert (live.event, live.data["payload"]["step_id"]) == ("step.completed", "0.1")
                assert live.data["sequence"] == replay[-1].data["sequence"] + 1

                stream.close()
                wait_for(lambda: client.zcard(group_key) == 0, message="process B to leave the Redis group")
                wait_for(
                    lambda: stream_gauges(server_b)["open_streams"] == 0, message="process B's stream closed"
                )


def test_websocket_streams_replay_live_and_all_tasks_with_ping(tmp_path):
    with baton_server(tmp_path, "--token", TOKEN, *ONE_PROCESS, env=slow_watch_settings(tmp_path)) as server:
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        task_id = start_execution(server, steps=2, headers=bearer)

        with pytest.raises(WebSocketRefused) as refused:
            WebSocketConnection(server.url, f"/ws/events/{task_id}")
        assert refused.value.status == 403
        with pytest.raises(WebSocketRefused):
            WebSocketConnection(server.url, f"/ws/events/{task_id}?token=wrong")
        with pytest.raises(WebSocketRefused):  # a foreign web page, even with the token
            WebSocketConnection(server.url, f"/ws/events/?token={TOKEN}", {"Origin": "https://evil.example"})

        everything = WebSocketConnection(
            server.url, "/ws/events/", {**bearer, "Origin": "http://localhost:5173"}
        )
        everything.send_json({"type": "ping"})
        assert everything.receive_json() == {"type": "pong"}

        sse = SSEConnection.open(server.url, f"/api/v1/events/{task_id}", bearer)
        stored = [item.data for item in sse.drain()]
        sse.close()
        task_socket = WebSocketConnection(server.url, f"/ws/events/{task_id}?token={TOKEN}")
        replay = [task_socket.receive_json() for _ in stored]
        assert replay == stored  # the same dicts as the SSE data lines, replayed in order
        assert all(list(event) == EVENT_KEYS for event in replay)
        assert replay[0]["topic"] == "task.started"
        task_socket.send_json({"type": "ping"})
        assert task_socket.receive_json() == {"type": "pong"}

        complete_step(server, task_id, "0.0", headers=bearer)
        live = task_socket.receive_json()
        assert (live["topic"], live["payload"]["step_id"]) == ("step.completed", "0.0")
        assert live["sequence"] == len(stored) + 1
        other_task = start_execution(server, steps=1, headers=bearer)
        seen = [everything.receive_json() for _ in range(2)]  # the step.completed, then the new task's start
        assert seen[0] == live
        assert (seen[1]["task_id"], seen[1]["topic"]) == (other_task, "task.started")

        resume_path = f"/ws/events/{task_id}?token={TOKEN}&last_event_id={live['event_id']}"
        resumed = WebSocketConnection(server.url, resume_path)
        complete_step(server, task_id, "0.1", headers=bearer)
        after = resumed.receive_json()
        assert (after["sequence"], after["payload"]["step_id"]) == (live["sequence"] + 1, "0.1")
        assert task_socket.receive_json() == after

        unknown = WebSocketConnection(server.url, f"/ws/events/task-nothing?token={TOKEN}")
        with pytest.raises(ConnectionError):
            unknown.receive_json()
        assert unknown.close_code == 4404

        for connection in (everything, task_socket, resumed, unknown):
            connection.close()
        wait_for(lambda: stream_gauges(server)["open_streams"] == 0, message="sockets released")
    assert "Traceback" not in server.log()
