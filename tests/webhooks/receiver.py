"""A real HTTP receiver on loopback (http.server in a thread) that records every request it gets.

Each path answers from a script: a list of status codes consumed one per request (the last one repeats), where
`BLOCK` holds the request open until `release()` and then answers 200, and `SLOW` sleeps `slow_seconds` first.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

BLOCK = "block"
SLOW = "slow"


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    at: float  # time.monotonic()

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    host: str = "127.0.0.1"
    port: int = 0
    slow_seconds: float = 5.0
    requests: list[Received] = field(default_factory=list)
    scripts: dict[str, list[int | str]] = field(default_factory=dict)
    extra_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    close_idle: bool = False  # close each connection after its response (as a receiver without keep-alive)
    connections: int = 0  # TCP connections accepted
    _open: set[Any] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _released: threading.Event = field(default_factory=threading.Event)
    _blocked: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def script(self, path: str, *answers: int | str, headers: dict[str, str] | None = None) -> str:
        """Set how `path` answers; returns its URL."""
        self.scripts[path] = list(answers)
        if headers:
            self.extra_headers[path] = headers
        return self.url(path)

    def release(self) -> None:
        self._released.set()

    def close_connections(self) -> None:
        """Close every open connection (kept-alive ones included), as a receiver going away does."""
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def wait_blocked(self, timeout: float) -> bool:
        """True once a request is being held by BLOCK."""
        return self._blocked.wait(timeout)

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            seen = self.received()
            if predicate(seen):
                return seen
            if time.monotonic() > deadline:
                raise AssertionError(f"receiver: condition not met in {timeout} s; got {len(seen)} requests")
            time.sleep(0.02)

    def _answer(self, path: str) -> int | str:
        with self._lock:
            script = self.scripts.get(path)
            if not script:
                return 200
            return script.pop(0) if len(script) > 1 else script[0]

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver.connections += 1
                    receiver._open.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._open.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                record = Received(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()
                )
                with receiver._lock:
                    receiver.requests.append(record)
                answer = receiver._answer(self.path)
                if answer == BLOCK:
                    receiver._blocked.set()
                    receiver._released.wait(60)
                    answer = 200
                elif answer == SLOW:
                    time.sleep(receiver.slow_seconds)
                    answer = 200
                reply = b'{"ok": true}' if int(answer) < 300 else b"nope"
                try:
                    self.send_response(int(answer))
                    for name, value in receiver.extra_headers.get(self.path, {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                    if receiver.close_idle:
                        self.wfile.flush()
                        self.close_connection = True
                except OSError:
                    pass  # the client gave up (timeout, killed worker)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextlib.contextmanager
def running_receiver(**options: Any) -> Iterator[Receiver]:
    receiver = Receiver(**options)
    server = http.server.ThreadingHTTPServer((receiver.host, receiver.port), receiver.handler())
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release()
        server.shutdown()
        server.server_close()
        receiver.close_connections()
