"""The HTTP POST itself, against real servers on loopback: pinned address, Host header, SNI, no redirects,
timeouts, connection failures."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading

import pytest

from tests.integration.servers import free_port
from tests.webhooks.receiver import SLOW, running_receiver
from webhooks import transport
from webhooks.policy import FailureKind
from webhooks.urlsafety import Target


def target_for(
    receiver, path: str, *, host: str = "hooks.example", addresses: tuple[str, ...] = ("127.0.0.1",)
):
    return Target(
        url=f"http://{host}:{receiver.port}{path}",
        scheme="http",
        host=host,
        port=receiver.port,
        host_header=f"{host}:{receiver.port}",
        request_path=path,
        addresses=addresses,
    )


def test_post_connects_to_the_checked_address_and_keeps_the_host_header(receiver):
    # `hooks.example` resolves nowhere: the request can only have gone to the pinned address.
    result = transport.post(target_for(receiver, "/in?x=1"), b'{"a":1}', {"X-Test": "yes"}, timeout=2)
    assert result.status_code == 200
    assert result.failure is None
    assert result.error == ""
    assert result.address == "127.0.0.1"
    (request,) = receiver.received()
    assert request.path == "/in?x=1"
    assert request.headers["host"] == f"hooks.example:{receiver.port}"
    assert request.headers["x-test"] == "yes"
    assert request.body == b'{"a":1}'


def test_redirects_are_not_followed(receiver):
    receiver.script("/moved", 302, headers={"Location": receiver.url("/elsewhere")})
    result = transport.post(target_for(receiver, "/moved"), b"{}", {}, timeout=2)
    assert result.status_code == 302
    assert result.failure is FailureKind.HTTP_STATUS
    assert "not followed" in result.error
    assert [r.path for r in receiver.received()] == ["/moved"]


def test_error_answers_carry_an_excerpt_of_the_body(receiver):
    receiver.script("/down", 503)
    result = transport.post(target_for(receiver, "/down"), b"{}", {}, timeout=2)
    assert (result.status_code, result.failure, result.error) == (
        503,
        FailureKind.HTTP_STATUS,
        "HTTP 503: nope",
    )


def test_a_slow_receiver_times_out(receiver):
    receiver.script("/slow", SLOW)
    result = transport.post(target_for(receiver, "/slow"), b"{}", {}, timeout=0.3)
    assert result.status_code is None
    assert result.failure is FailureKind.TIMEOUT
    assert 250 <= result.duration_ms < 1500


def test_a_refused_connection_moves_on_to_the_next_checked_address(receiver):
    closed = free_port()
    target = Target(
        url="http://hooks.example/",
        scheme="http",
        host="hooks.example",
        port=receiver.port,
        host_header="hooks.example",
        request_path="/",
        addresses=("127.0.0.2", "127.0.0.1"),
    )
    # Nothing listens on 127.0.0.2 at the receiver's port (the receiver binds 127.0.0.1 only).
    assert transport.post(target, b"{}", {}, timeout=2).address == "127.0.0.1"
    dead = Target(
        url="http://127.0.0.1/",
        scheme="http",
        host="127.0.0.1",
        port=closed,
        host_header="x",
        request_path="/",
        addresses=("127.0.0.1",),
    )
    result = transport.post(dead, b"{}", {}, timeout=2)
    assert result.failure is FailureKind.CONNECTION
    assert result.status_code is None
    assert result.error.startswith("connection failed")


@pytest.fixture
def tls_server(tmp_path):
    """A TLS server on loopback with a self-signed certificate for hooks.example, recording the SNI it sees."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=hooks.example",
            "-addext",
            "subjectAltName=DNS:hooks.example",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    seen: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: seen.append(name)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        try:
            conn, _ = listener.accept()
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except (OSError, ssl.SSLError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port, seen
    listener.close()
    thread.join(timeout=5)


def test_tls_keeps_the_host_name_for_sni_and_verifies_the_certificate(tls_server):
    port, seen = tls_server
    target = Target(
        url=f"https://hooks.example:{port}/",
        scheme="https",
        host="hooks.example",
        port=port,
        host_header=f"hooks.example:{port}",
        request_path="/",
        addresses=("127.0.0.1",),
    )
    result = transport.post(target, b"{}", {}, timeout=3)
    # The self-signed certificate is not trusted: verification is on, so the attempt fails before sending.
    assert result.failure is FailureKind.CONNECTION
    assert "certificate" in result.error.lower()
    assert seen == ["hooks.example"]


def test_attempts_to_one_checked_address_share_a_kept_alive_connection(receiver):
    target = target_for(receiver, "/in")
    for _ in range(3):
        assert transport.post(target, b"{}", {}, timeout=2).failure is None
    assert len(receiver.received("/in")) == 3
    assert receiver.connections == 1


def test_a_connection_is_only_reused_for_the_same_checked_address(receiver):
    assert transport.post(target_for(receiver, "/a"), b"{}", {}, timeout=2).failure is None
    # Same host name and port, but this check gave another address, where nothing listens (the receiver is
    # bound to 127.0.0.1 only): the open connection to 127.0.0.1 must not carry the request.
    other = target_for(receiver, "/a", addresses=("127.0.0.2",))
    result = transport.post(other, b"{}", {}, timeout=2)
    assert result.address == "127.0.0.2"
    assert result.failure is FailureKind.CONNECTION
    assert len(receiver.received("/a")) == 1


def test_a_connection_the_receiver_closed_is_replaced_without_a_failed_attempt(receiver):
    target = target_for(receiver, "/in")
    assert transport.post(target, b"{}", {}, timeout=2).failure is None
    receiver.close_connections()  # the receiver drops its idle keep-alive connection
    result = transport.post(target, b"{}", {}, timeout=2)
    assert result.failure is None
    assert len(receiver.received("/in")) == 2
    assert receiver.connections == 2


def test_receivers_without_keep_alive_get_a_new_connection_each_time():
    with running_receiver(close_idle=True) as closing:
        target = target_for(closing, "/in")
        for _ in range(3):
            assert transport.post(target, b"{}", {}, timeout=2).failure is None
        assert len(closing.received("/in")) == 3
        assert closing.connections == 3


def test_an_answer_not_read_to_its_end_closes_its_connection(receiver, monkeypatch):
    monkeypatch.setattr(transport, "DRAIN_LIMIT", 0)  # so the 12-byte error body is "too long" to drain
    monkeypatch.setattr(transport, "EXCERPT_BYTES", 4)
    receiver.script("/big", 500)
    target = target_for(receiver, "/big")
    assert transport.post(target, b"{}", {}, timeout=2).status_code == 500
    assert transport.post(target, b"{}", {}, timeout=2).status_code == 500
    assert receiver.connections == 2
