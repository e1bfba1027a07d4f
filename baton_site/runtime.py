"""Process-wide facts: when this process started and which version of Baton it runs."""

from __future__ import annotations

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
