"""Topic matching for subscriptions: shell-glob patterns (fnmatch), case-sensitive on every platform."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase


def topic_matches(patterns: Iterable[str], topic: str) -> bool:
    """True when any pattern matches the topic. `*` spans dots (`step.*` matches `step.a.b`), `?` is one
    character, `[...]` a class; a pattern without wildcards must equal the topic."""
    return any(fnmatchcase(topic, pattern) for pattern in patterns)
