"""`python -m baton_site.web`: one web process, daphne's command line with three costs of its HTTP layer removed
and its responses sent as soon as they are made.

- The access log: daphne builds an access-log line for every request when given any log stream, even
  `/dev/null`; with none it skips that work. `baton serve --verbosity 2` still runs plain daphne with its access
  log on stdout.
- Twisted's access log: Twisted's HTTP factory also formats a combined-log line for every request, query string
  included, and hands it to Twisted's legacy log. Nothing here reads that log; the factory below writes none.
- Twisted's parse of POST form bodies: Twisted's `Request` reads the Content-Type of every POST through the
  `email` package's header registry, to fill `request.args` with form fields. daphne never reads `request.args`:
  it hands the raw body to the ASGI application, and Django parses forms itself. That parse took about 5% of a
  web process's CPU time under the lifecycle benchmark, on the event loop's thread. The requests here skip it.

Sending: Twisted only buffers what a response writes, and sends it when the event loop next finds the socket
writable. By then the loop has usually started the requests that arrived meanwhile, and a request runs to its end
on the loop's thread (`baton_site.asgi`), so a finished response waited for one or more other requests to be
handled before it left. Traced under the lifecycle benchmark (8 clients, two processes), a response spent 10 ms on
average between its last byte being made and the client reading it, 23 ms for the slowest 1%, and the order in
which clients were answered was not the order in which their requests were handled. Here the request sends what
it buffered as soon as its body is written (`RawBodyWebRequest.handle_reply`); whatever the socket does not take at
once is sent by the loop as before.
"""

from __future__ import annotations

import inspect
import mmap
import os
import sys
from typing import Any

import daphne.server
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server
from twisted.internet.task import LoopingCall
from twisted.web import http

# Twisted added the switch in 24.7; older versions always parse (and the requests below are then plain daphne's).
_CAN_SKIP_FORM_PARSING = "parsePOSTFormSubmission" in inspect.signature(http.Request.__init__).parameters


class RawBodyWebRequest(WebRequest):
    """daphne's request, without Twisted's parse of form bodies (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if _CAN_SKIP_FORM_PARSING:
            kwargs["parsePOSTFormSubmission"] = False
        super().__init__(*args, **kwargs)

    def handle_reply(self, message: dict[str, Any]) -> None:
        """daphne's handling of a response message, then, for body bytes, a send of them now (see the module
        docstring)."""
        channel = self.channel  # let go of by the request when it finishes
        transport = channel.transport if channel is not None else None
        if message.get("type") != "http.response.body" or not isinstance(transport, DirectWrites):
            super().handle_reply(message)
            return
        transport.holding = True
        try:
            super().handle_reply(message)
        finally:
            transport.holding = False
        transport.send_held()


class DirectWrites:
    """Mixed into the server's TCP connections: what a response writes can be sent by the request itself.

    A Twisted write buffers its bytes and registers the socket with the loop for writing; the loop sends them once
    the socket is writable and then unregisters it: two `epoll_ctl` calls and their Python layers per response.
    While `holding`, writes only buffer; `send_held` then sends the buffer at once. The loop is only asked to
    write what the socket did not take, or to finish a connection being closed (its last write also closes it),
    or to meet again a send that failed, so that it closes the connection as usual. TLS connections are left
    alone: their bytes are encrypted on the way out.
    """

    holding = False
    _asked = False  # a write asked for the loop while holding
    _drained = False

    def startWriting(self) -> None:
        if self.holding:
            self._asked = True
        else:
            super().startWriting()  # type: ignore[misc]

    def stopWriting(self) -> None:
        self._drained = True
        super().stopWriting()  # type: ignore[misc]

    def send_held(self) -> None:
        if not self._asked:
            return
        self._asked = False
        if not self.connected:  # type: ignore[attr-defined]
            return
        if self.disconnecting or getattr(self, "TLS", False):  # type: ignore[attr-defined]
            self.startWriting()
            return
        self._drained = False
        failure = self.doWrite()  # type: ignore[attr-defined]
        if failure or not self._drained:
            self.startWriting()


class RawBodyHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = RawBodyWebRequest
        return protocol

    def log(self, request: Any) -> None:
        """No line per request for Twisted's own log (see the module docstring)."""


class ConnectionBalancer:
    """Keeps the open connections of the web processes that share one listening socket within one of each other.

    Twisted accepts up to a hundred connections each time the socket is readable, so the first process to wake took
    a whole burst, and keep-alive clients stay where they landed (8 benchmark clients split 6 and 2). `SO_REUSEPORT`
    spreads connections by a hash, blind to load (5 and 3 as often as 4 and 4). Here each process counts its open
    connections in its slot of a memory block shared by the processes (`baton serve` makes it with memfd_create
    and names it in BATON_WEB_BALANCE as `fd:slot:processes`), accepts one connection at a time, and stops accepting
    while it has more connections than the least loaded process. That one never stops, so the socket is always
    served. A process that stopped checks every 2 ms whether the others have caught up, and resumes accepting then;
    after 50 ms stopped (a burst of connections is over, and the counts stay uneven, as with an odd number of
    clients), every 50 ms. (With a check every 50 ms from the start, a burst of new connections met both processes
    stopped in turn: the first requests of 8 benchmark clients connecting at once waited up to 100 ms.)
    """

    CHECK_SECONDS = 0.002  # while stopped, for the first BURST_CHECKS checks
    BURST_CHECKS = 25
    SLOW_CHECK_SECONDS = 0.05

    def __init__(self, fd: int, slot: int, processes: int) -> None:
        self._memory = mmap.mmap(fd, processes * 8)
        self.counts = memoryview(self._memory).cast("q")
        self.slot = slot
        self.port: Any = None
        self.paused = False
        self._check = LoopingCall(self.rebalance)
        self._checks = 0  # checks since this process stopped accepting

    @classmethod
    def from_environment(cls) -> ConnectionBalancer | None:
        setting = os.environ.get("BATON_WEB_BALANCE", "")
        if not setting:
            return None
        fd, slot, processes = (int(part) for part in setting.split(":"))
        return cls(fd, slot, processes)

    def attach(self, port: Any) -> None:
        """Take over a listening port: one accept per wake-up, and every connection counted."""
        balancer = self

        class CountedConnection(port.transport):  # type: ignore[name-defined,misc]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                balancer.opened()

            def connectionLost(self, reason: Any) -> None:
                try:
                    super().connectionLost(reason)
                finally:
                    balancer.closed()

        class BalancedPort(port.__class__):  # type: ignore[name-defined,misc]
            @property
            def numberAccepts(self) -> int:
                return 1

            @numberAccepts.setter
            def numberAccepts(self, value: int) -> None:
                pass  # Twisted raises it after a full batch; here a batch is one connection

        port.__class__ = BalancedPort
        port.transport = CountedConnection  # on the instance, where `QuietServer` may have set its own class
        self.port = port
        self.rebalance()

    def opened(self) -> None:
        self.counts[self.slot] += 1
        self.rebalance()

    def closed(self) -> None:
        self.counts[self.slot] -= 1
        self.rebalance()

    def rebalance(self) -> None:
        port = self.port
        if port is None or port.disconnecting or not port.connected:
            if self._check.running:
                self._check.stop()
            return  # not listening yet, or no longer (the server is stopping)
        pause = self.counts[self.slot] > min(self.counts)
        if pause == self.paused:
            if pause and self._check.running:
                self._checks += 1
                if self._checks == self.BURST_CHECKS:
                    self._check.stop()
                    self._check.start(self.SLOW_CHECK_SECONDS, now=False)
            return
        self.paused = pause
        if pause:
            port.stopReading()
            self._checks = 0
            self._check.start(self.CHECK_SECONDS, now=False)
        else:
            port.startReading()
            self._check.stop()


class QuietServer(Server):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs["action_logger"] = None
        super().__init__(*args, **kwargs)
        self.balancer = ConnectionBalancer.from_environment()

    def listen_success(self, port: Any) -> None:
        # A TCP port names the class of its connections.
        connection = getattr(port, "transport", None)
        if isinstance(connection, type) and hasattr(connection, "doWrite"):
            port.transport = type("DirectConnection", (DirectWrites, connection), {})
        if self.balancer is not None and hasattr(port, "numberAccepts") and self.balancer.port is None:
            self.balancer.attach(port)
        super().listen_success(port)


class QuietCommandLineInterface(CommandLineInterface):
    server_class = QuietServer


if __name__ == "__main__":
    # daphne's Server.run builds its HTTP factory from this module-level name; only this process is affected.
    daphne.server.HTTPFactory = RawBodyHTTPFactory  # type: ignore[misc]
    QuietCommandLineInterface().run(sys.argv[1:])
