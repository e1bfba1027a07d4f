"""One HTTP POST to a checked target, connecting to an address that was checked (never resolving the name again).

urllib3 (requests' transport) is given the IP address to connect to, while the request keeps the URL's host in
the `Host` header, in TLS SNI and in certificate verification. Redirects are never followed (a 3xx is a failure),
the library never retries on its own, and the whole attempt (connect and response headers) is bounded by one
timeout. Each attempt uses a fresh connection closed afterwards, so no connection outlives the check that
allowed it. A refused connection moves on to the next checked address of the host.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass

import certifi
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
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


def _pool(target: Target, address: str, timeout: float) -> urllib3.HTTPConnectionPool:
    common = {"port": target.port, "maxsize": 1, "retries": False, "timeout": urllib3.Timeout(total=timeout)}
    if target.scheme == "http":
        return urllib3.HTTPConnectionPool(address, **common)
    try:
        ipaddress.ip_address(target.host)
        name = None  # an IP literal URL: no SNI, the certificate is checked against the address itself
    except ValueError:
        name = target.host
    return urllib3.HTTPSConnectionPool(
        address,
        server_hostname=name,
        assert_hostname=name,
        cert_reqs="CERT_REQUIRED",
        ca_certs=certifi.where(),
        **common,
    )


def _read_excerpt(response: urllib3.BaseHTTPResponse) -> bytes:
    head = response.read(EXCERPT_BYTES)
    drained = 0
    while drained < DRAIN_LIMIT:
        chunk = response.read(16 * 1024)
        if not chunk:
            break
        drained += len(chunk)
    return head


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> PostResult:
    """POST `body` to the target. Never raises for network trouble: the failure is in the result."""
    started = time.monotonic()
    request_headers = {**headers, "Host": target.host_header, "Connection": "close"}
    kind = FailureKind.CONNECTION
    error = "no address to connect to"
    address = None
    for address in target.addresses:
        remaining = timeout - (time.monotonic() - started)
        if remaining <= 0:
            kind, error = FailureKind.TIMEOUT, f"timed out after {timeout:g} s"
            break
        pool = _pool(target, address, remaining)
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
            )
            try:
                excerpt = _read_excerpt(response)
            finally:
                response.release_conn()
        except NewConnectionError as exc:
            kind, error = FailureKind.CONNECTION, f"connection failed: {_reason(exc)}"
            continue  # try the host's next checked address
        except (ConnectTimeoutError, ReadTimeoutError, Urllib3TimeoutError, TimeoutError):
            kind, error = FailureKind.TIMEOUT, f"timed out after {timeout:g} s"
            break
        except (HTTPError, OSError) as exc:
            kind, error = FailureKind.CONNECTION, f"connection failed: {_reason(exc)}"
            break
        finally:
            pool.close()
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


def _elapsed_ms(started: float) -> int:
    return max(0, round((time.monotonic() - started) * 1000))


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if ": " in text and isinstance(exc, NewConnectionError):
        text = text.split(": ", 1)[1]
    return text[:300]
