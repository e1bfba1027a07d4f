"""ASGI entry point served by daphne: HTTP (API, pages, SSE) and WebSocket streams.

Two Django handlers share the HTTP side. Streams (`/api/v1/events/...`, `/pmo/live`) go through Django's usual
async middleware chain, so an idle stream holds no thread. Everything else goes through `RequestASGIHandler`,
which runs the whole request in one synchronous call, as a WSGI worker would.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baton_site.settings")
django_asgi_app = get_asgi_application()

import asyncio  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

from asgiref.sync import SyncToAsync  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.core import signals  # noqa: E402
from django.core.exceptions import RequestAborted  # noqa: E402
from django.core.handlers.asgi import ASGIHandler, get_script_prefix  # noqa: E402
from django.http import HttpResponseBase  # noqa: E402
from django.urls import set_script_prefix  # noqa: E402

from baton_site import auditlog  # noqa: E402
from baton_site.context import server_loop  # noqa: E402
from baton_site.routing import websocket_urlpatterns  # noqa: E402
from baton_site.runtime import release_finished_response, tune_garbage_collector  # noqa: E402

STREAM_PREFIXES = ("/api/v1/events/", "/pmo/live")


class RequestASGIHandler(ASGIHandler):
    """Serves a request/response route the way a WSGI worker would, from inside daphne.

    The body is read on the event loop; then one synchronous call runs everything for the request: the
    `request_started` signal, the sync middleware chain and view, rendering, and `request_finished`. The status,
    headers and bytes are then sent by the loop. Compared with Django's `ASGIHandler` this saves, per request: a
    new thread (Django gives each request its own thread-sensitive executor), a new database connection
    (connections are per thread, so that thread's connection died with it), the extra thread hops for the two
    signals and `response.close()`, and two asyncio tasks. A request is not cancelled when its client goes away,
    as with WSGI; these routes are short by design (streams take the async path).

    Where the call runs (`BATON_HTTP_THREADS`):
    - 0, the default: on the event loop's own thread, one request at a time, as a sync WSGI worker runs them. The
      process is bound by its CPU, and one interpreter runs one thread at a time, so a pool only interleaves
      requests. It also cost: each SQL statement lets go of the interpreter lock, a sibling thread took it, and a
      request holding SQLite's writer lock waited for it back while every writer of every process waited on it.
      Measured with bench/lifecycle.py (8 clients, two processes): the writer lock's mean wait fell from 11 ms to
      1.3 ms per transaction, and lifecycles/s rose 10-25%.
      For the length of the call the thread is a plain sync thread: the loop is marked as not running in it (see
      `_respond_on_loop_thread`), so Django's thread-locals (its database connection among them) are the thread's
      own and last from one request to the next, and its check against database calls from async code holds.
    - N > 0: in a pool of N threads, each with its own database connection, kept for `CONN_MAX_AGE`, so that a
      slow request does not hold up the others of its process.
    """

    def __init__(self, threads: int) -> None:
        super().__init__()
        self._respond_in_pool: SyncToAsync | None = None
        if threads:
            executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="baton-http")
            # asgiref's wrapper (not a bare run_in_executor) so async_to_sync inside a request finds this
            # process's event loop.
            self._respond_in_pool = SyncToAsync(self._respond, thread_sensitive=False, executor=executor)

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def __call__(self, scope: dict, receive, send) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        server_loop.set(asyncio.get_running_loop())  # copied into a pool thread with the context
        try:
            if self._respond_in_pool is None:
                status, headers, body = self._respond_on_loop_thread(scope, body_file)
            else:
                status, headers, body = await self._respond_in_pool(scope, body_file)
        finally:
            body_file.close()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _respond_on_loop_thread(self, scope: dict, body_file) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """`_respond` on the loop's thread, as a sync thread would run it.

        While the loop counts as running in this thread, asgiref's thread-critical locals (Django's database
        connections) act as context variables, and each request, a task of its own, would find none and open a
        new connection: that was a sixth of a web process's CPU. Nothing else can run on this thread until the call
        returns, so the loop is set aside for its length (`asyncio`'s low-level `_set_running_loop`, the hook event
        loop implementations use) and put back after.
        """
        loop = asyncio.get_running_loop()
        asyncio.events._set_running_loop(None)
        try:
            return self._respond(scope, body_file)
        finally:
            asyncio.events._set_running_loop(loop)

    def _respond(self, scope: dict, body_file) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        response: HttpResponseBase = error_response if request is None else self.get_response(request)
        try:
            body = b"".join(response) if response.streaming else response.content
            headers = [
                (
                    name.encode("ascii") if isinstance(name, str) else bytes(name),
                    value.encode("latin1") if isinstance(value, str) else bytes(value),
                )
                for name, value in response.items()
            ]
            headers.extend(
                (b"Set-Cookie", cookie.output(header="").encode("ascii").strip())
                for cookie in response.cookies.values()
            )
            return response.status_code, headers, body
        finally:
            response.close()  # sends request_finished, which keeps or closes this thread's DB connection
            release_finished_response(response)


request_app = RequestASGIHandler(threads=settings.BATON_HTTP_THREADS)


async def http_app(scope: dict, receive: object, send: object) -> None:
    if scope.get("path", "").startswith(STREAM_PREFIXES):
        await django_asgi_app(scope, receive, send)
    else:
        await request_app(scope, receive, send)


# Static assets (Swagger UI, ReDoc, page scripts) are served by the server itself from the installed apps, so the
# documentation and pages work offline with no CDN and no collectstatic step. The handler only answers /static/.
application = ProtocolTypeRouter(
    {
        "http": ASGIStaticFilesHandler(http_app),
        "websocket": URLRouter(websocket_urlpatterns),
    }
)


auditlog.writer.enable()
tune_garbage_collector()
