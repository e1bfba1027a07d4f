"""Process-wide facts: when this process started and which version of Baton it runs."""

from __future__ import annotations

import gc
import time
from importlib import metadata

STARTED_AT = time.monotonic()
DISTRIBUTION = "baton-server"


def uptime_seconds() -> float:
    """Seconds since this process imported Baton (which is when the server started)."""
    return round(time.monotonic() - STARTED_AT, 3)


def package_version() -> str:
    """The installed distribution's version, from the package metadata."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # running from a bare checkout without `pip install`
        return "0.0.0+unknown"


def tune_garbage_collector() -> None:
    """Keep the cyclic garbage collector from pausing a long-running process for hundreds of milliseconds.

    A full collection walks every tracked object, and after start-up that is mostly Django, DRF and the URL and
    schema machinery, none of which ever becomes garbage. Freezing them moves them out of the
    collector's sight, and a larger first-generation threshold makes collections rarer during bursts (a fan-out
    to hundreds of streams allocates many short-lived objects). Measured with bench/streams.py at 500 SSE
    clients: p99 publish-to-receive latency 266-288 ms before, 104-106 ms after; the outliers were collection
    pauses. Called by the ASGI module once start-up is over. (Not in the Celery worker: there the same
    settings lowered bench/webhooks.py's burst rate from 209-219 to 171-180 deliveries/s.)
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
