"""One HTTP POST to a checked target, connecting to an address that was checked (never resolving the name again).

urllib3 (requests' transport) is given the IP address to connect to, while the request keeps the URL's host in
the `Host` header, in TLS SNI and in certificate verification. Redirects are never followed (a 3xx is a failure),
the library never retries on its own, and the whole attempt (connect and response headers) is bounded by one
timeout. A refused connection moves on to the next checked address of the host.

Connections are kept alive per worker thread, keyed by (scheme, checked address, port, host name): a later attempt
reuses one only when its own check gave that same address again, so the address is never taken on trust, and the
TLS certificate was verified for that host name when the connection was made. A connection whose response was
not read to its end, or that failed, is closed. If a reused connection turns out to have been closed by the
receiver before the request went out (a keep-alive race), the attempt goes once more on a fresh connection.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from http.client import RemoteDisconnected

import certifi
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import (
    TimeoutError as Urllib3TimeoutError,
)

from webhooks.policy import FailureKind
from webhooks.urlsafety import Target

EXCERPT_BYTES = 512  # kept from a failed response's body, for the delivery log
DRAIN_LIMIT = 64 * 1024  # read (and discard) at most this much of a response before closing


@dataclass(frozen=True)
class PostResult:
    status_code: int | None
    failure: FailureKind | None  # None on a 2xx answer
    error: str
    duration_ms: int
    address: str | None  # the address the request went to


POOLS_PER_THREAD = (
    32  # receivers a worker thread keeps a connection open to (least recently used closed first)
)

_threads = threading.local()


def _pool(target: Target, address: str) -> urllib3.HTTPConnectionPool:
    if target.scheme == "http":
        return urllib3.HTTPConnectionPool(address, port=target.port, maxsize=1, retries=False)
    try:
        ipaddress.ip_address(target.host)
        name = None  # an IP literal URL: no SNI, the certificate is checked against the address itself
    except ValueError:
        name = target.host
    return urllib3.HTTPSConnectionPool(
        address,
        port=target.port,
        maxsize=1,
        retries=False,
        server_hostname=name,
        assert_hostname=name,
        cert_reqs="CERT_REQUIRED",
        ca_certs=certifi.where(),
    )


class _Pools:
    """One thread's kept-alive connections, one pool (of one connection) per key."""

    def __init__(self) -> None:
        self.pools: OrderedDict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = OrderedDict()

    def get(self, target: Target, address: str) -> tuple[urllib3.HTTPConnectionPool, bool]:
        """The pool for this address and whether it already served a request (its connection may be reused)."""
        key = (target.scheme, address, target.port, target.host)
        pool = self.pools.get(key)
        if pool is not None:
            self.pools.move_to_end(key)
            return pool, pool.num_requests > 0
        pool = self.pools[key] = _pool(target, address)
        while len(self.pools) > POOLS_PER_THREAD:
            self.pools.popitem(last=False)[1].close()
        return pool, False

    def discard(self, target: Target, address: str) -> None:
        pool = self.pools.pop((target.scheme, address, target.port, target.host), None)
        if pool is not None:
            pool.close()


def _thread_pools() -> _Pools:
    pools = getattr(_threads, "pools", None)
    if pools is None:
        pools = _threads.pools = _Pools()
    return pools


def _read_excerpt(response: urllib3.BaseHTTPResponse) -> tuple[bytes, bool]:
    """The first EXCERPT_BYTES of the body, and whether the body was read to its end (within DRAIN_LIMIT)."""
    head = response.read(EXCERPT_BYTES)
    if len(head) < EXCERPT_BYTES:
        return head, True
    drained = 0
    while drained < DRAIN_LIMIT:
        chunk = response.read(16 * 1024)
        if not chunk:
            return head, True
        drained += len(chunk)
    return head, False


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> PostResult:
    """POST `body` to the target. Never raises for network trouble: the failure is in the result."""
    started = time.monotonic()
    request_headers = {**headers, "Host": target.host_header}
    pools = _thread_pools()
    kind = FailureKind.CONNECTION
    error = "no address to connect to"
    address = None
    addresses = list(target.addresses)
    fresh_retry_used = False
    while addresses:
        address = addresses[0]
        remaining = timeout - (time.monotonic() - started)
        if remaining <= 0:
            kind, error = FailureKind.TIMEOUT, f"timed out after {timeout:g} s"
            break
        pool, reused = pools.get(target, address)
        try:
            response = pool.urlopen(
                "POST",
                target.request_path,
                body=body,
                headers=request_headers,
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
                timeout=urllib3.Timeout(total=remaining),
            )
            try:
                excerpt, complete = _read_excerpt(response)
            finally:
                if complete:
                    response.release_conn()
                else:
                    response.close()
                    pools.discard(target, address)
        except NewConnectionError as exc:
            pools.discard(target, address)
            kind, error = FailureKind.CONNECTION, f"connection failed: {_reason(exc)}"
            addresses.pop(0)
            continue  # try the host's next checked address
        except (ConnectTimeoutError, ReadTimeoutError, Urllib3TimeoutError, TimeoutError):
            pools.discard(target, address)
            kind, error = FailureKind.TIMEOUT, f"timed out after {timeout:g} s"
            break
        except ProtocolError as exc:
            pools.discard(target, address)
            if reused and not fresh_retry_used and _closed_before_answer(exc):
                fresh_retry_used = True
                continue  # the receiver had closed the idle connection: once more, on a new one
            kind, error = FailureKind.CONNECTION, f"connection failed: {_reason(exc)}"
            break
        except (HTTPError, OSError) as exc:
            pools.discard(target, address)
            kind, error = FailureKind.CONNECTION, f"connection failed: {_reason(exc)}"
            break
        duration = _elapsed_ms(started)
        status = response.status
        if 200 <= status < 300:
            return PostResult(status, None, "", duration, address)
        text = excerpt.decode("utf-8", errors="replace").strip()
        detail = f"HTTP {status}" + (f": {text}" if text else "")
        if 300 <= status < 400 and response.headers.get("Location"):
            detail += f" (redirect to {response.headers['Location'][:200]} not followed)"
        return PostResult(status, FailureKind.HTTP_STATUS, detail, duration, address)
    return PostResult(None, kind, error, _elapsed_ms(started), address)


def _closed_before_answer(exc: ProtocolError) -> bool:
    """A kept-alive connection the receiver had already closed: no answer at all (not a half-read one)."""
    cause = exc.args[1] if len(exc.args) > 1 else exc.__cause__
    return isinstance(cause, RemoteDisconnected | ConnectionResetError | BrokenPipeError)


def _elapsed_ms(started: float) -> int:
    return max(0, round((time.monotonic() - started) * 1000))


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if ": " in text and isinstance(exc, NewConnectionError):
        text = text.split(": ", 1)[1]
    return text[:300]
