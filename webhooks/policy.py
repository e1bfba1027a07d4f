"""What happens after an attempt: succeed, retry later, or give up. Pure: no Django, no I/O.

The contract's schedule is the first attempt plus one retry per configured delay (5, 30, 300 s: 4 attempts). Only
failures that can heal are retried: connection errors, timeouts, DNS failures, 5xx and 429. Anything else (a 3xx,
since redirects are never followed, another 4xx, a URL that now resolves to a refused address) ends the delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class FailureKind(StrEnum):
    HTTP_STATUS = "http_status"  # the receiver answered, outside 2xx
    TIMEOUT = "timeout"
    CONNECTION = "connection"  # refused, reset, TLS failure
    DNS = "dns"  # the host did not resolve
    REFUSED_ADDRESS = "refused_address"  # resolves to an address the URL policy refuses
    INVALID_URL = "invalid_url"


HEALABLE_KINDS = frozenset({FailureKind.TIMEOUT, FailureKind.CONNECTION, FailureKind.DNS})


class Verdict(StrEnum):
    SUCCEEDED = "succeeded"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    retry_in: float | None = None  # seconds, for RETRY


def is_success(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def can_heal(kind: FailureKind, status_code: int | None) -> bool:
    if kind is FailureKind.HTTP_STATUS:
        return status_code is not None and (status_code >= 500 or status_code == 429)
    return kind in HEALABLE_KINDS


def decide(
    *,
    succeeded: bool,
    kind: FailureKind | None,
    status_code: int | None,
    failed_attempts: int,
    delays: Sequence[float],
) -> Decision:
    """`failed_attempts` counts this attempt when it failed. A crashed attempt (no result) is never counted, so a
    worker dying mid-attempt does not use up the receiver's retries."""
    if succeeded:
        return Decision(Verdict.SUCCEEDED)
    if kind is not None and can_heal(kind, status_code) and 1 <= failed_attempts <= len(delays):
        return Decision(Verdict.RETRY, float(delays[failed_attempts - 1]))
    return Decision(Verdict.FAILED)
