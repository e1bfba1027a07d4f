"""`python -m baton_site.web`: one web process, daphne's command line with three costs of its HTTP layer removed.

- The access log: daphne builds an access-log line for every request when given any log stream, even
  `/dev/null`; with none it skips that work. `baton serve --verbosity 2` still runs plain daphne with its access
  log on stdout.
- Twisted's access log: Twisted's HTTP factory also formats a combined-log line for every request, query string
  included, and hands it to Twisted's legacy log. Nothing here reads that log; the factory below writes none.
- Twisted's parse of POST form bodies: Twisted's `Request` reads the Content-Type of every POST through the
  `email` package's header registry, to fill `request.args` with form fields. daphne never reads `request.args`:
  it hands the raw body to the ASGI application, and Django parses forms itself. That parse took about 5% of a
  web process's CPU time under the lifecycle benchmark, on the event loop's thread. The requests here skip it.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import daphne.server
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server
from twisted.web import http

# Twisted added the switch in 24.7; older versions always parse (and the requests below are then plain daphne's).
_CAN_SKIP_FORM_PARSING = "parsePOSTFormSubmission" in inspect.signature(http.Request.__init__).parameters


class RawBodyWebRequest(WebRequest):
    """daphne's request, without Twisted's parse of form bodies (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if _CAN_SKIP_FORM_PARSING:
            kwargs["parsePOSTFormSubmission"] = False
        super().__init__(*args, **kwargs)


class RawBodyHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = RawBodyWebRequest
        return protocol

    def log(self, request: Any) -> None:
        """No line per request for Twisted's own log (see the module docstring)."""


class QuietServer(Server):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs["action_logger"] = None
        super().__init__(*args, **kwargs)


class QuietCommandLineInterface(CommandLineInterface):
    server_class = QuietServer


if __name__ == "__main__":
    # daphne's Server.run builds its HTTP factory from this module-level name; only this process is affected.
    daphne.server.HTTPFactory = RawBodyHTTPFactory  # type: ignore[misc]
    QuietCommandLineInterface().run(sys.argv[1:])
