"""Who may open a stream: `?token=` on the SSE path only, and the WebSocket handshake's token and origin checks."""

from __future__ import annotations

import pytest

from baton_site.auth import query_token_allowed, scope_is_authorized
from baton_site.routing import origin_allowed

UNAUTHORIZED = {"error": "unauthorized", "detail": "Valid Bearer token required."}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/v1/events/task-1", True),
        ("HEAD", "/api/v1/events/task-1", False),
        ("POST", "/api/v1/events/task-1", False),
        ("GET", "/api/v1/events/task-1/more", False),
        ("GET", "/api/v1/events/", False),
        ("GET", "/api/v1/executions", False),
        ("GET", "/api/v1/traces/task-1", False),
    ],
)
def test_the_query_token_is_accepted_on_the_event_stream_only(method, path, allowed):
    assert query_token_allowed(method, path) is allowed


@pytest.mark.django_db
def test_the_stream_takes_the_token_from_the_query_and_other_paths_do_not(api, api_token):
    # Past authentication, an unknown task gets the stream's own 404.
    assert api.get(f"/api/v1/events/task-none?token={api_token}").status_code == 404
    wrong = api.get("/api/v1/events/task-none?token=wrong")
    assert wrong.status_code == 401
    assert wrong.json() == UNAUTHORIZED
    assert api.get("/api/v1/events/task-none").status_code == 401
    assert api.get(f"/api/v1/executions?token={api_token}").status_code == 401


def _scope(headers=(), query=b""):
    return {"type": "websocket", "headers": list(headers), "query_string": query}


def test_websocket_handshakes_need_the_token_in_the_header_or_the_query(settings):
    settings.BATON_API_TOKEN = "tok-123"
    assert scope_is_authorized(_scope([(b"authorization", b"Bearer tok-123")]))
    assert scope_is_authorized(_scope(query=b"token=tok-123"))
    assert not scope_is_authorized(_scope())
    assert not scope_is_authorized(_scope([(b"authorization", b"Bearer nope")]))
    assert not scope_is_authorized(_scope(query=b"token=nope"))
    assert not scope_is_authorized(_scope(query=b"token=tok-123&token=tok-123"))
    settings.BATON_API_TOKEN = ""
    assert scope_is_authorized(_scope())


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),  # not a browser
        (b"http://127.0.0.1:8741", True),  # the server's own page
        (b"http://localhost:5173", True),  # the default CORS allow-list
        (b"https://evil.example", False),
        (b"http://localhost.evil.example", False),
    ],
)
def test_websocket_handshakes_from_foreign_pages_are_refused(origin, allowed):
    headers = [(b"host", b"127.0.0.1:8741")] + ([(b"origin", origin)] if origin else [])
    assert origin_allowed(_scope(headers)) is allowed
