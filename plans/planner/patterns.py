"""Learned patterns: reuse a roster and phase shape that shipped several times for the same kind of task."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from .classify import normalise_task_type
from .models import PastOutcome, PlanningError

#: SHIP outcomes with the same roster needed before the roster is reused.
LEARNED_PATTERN_MIN_SHIPS = 3


@dataclass(frozen=True)
class LearnedPattern:
    agents: tuple[str, ...]
    phase_names: tuple[str, ...]
    ship_runs: int
    source: str


@lru_cache(maxsize=512)
def stack_language(stack: str | None) -> str | None:
    """The language part of a stack label ("python/django+react" -> "python")."""
    if not stack:
        return None
    return stack.replace("+", "/").split("/", 1)[0].strip().lower() or None


def find_pattern(
    history: Sequence[PastOutcome],
    *,
    task_type: str,
    language: str | None,
    registry_names: Collection[str],
) -> LearnedPattern | None:
    """The roster that shipped at least `LEARNED_PATTERN_MIN_SHIPS` times for this task type (and language,
    when known), provided it shipped more often than it was sent back (REVISE or BLOCK). None otherwise.

    Rosters are compared as sets; among qualifying rosters the one with most SHIP runs wins, ties broken by
    name order, so the choice never depends on the order of `history`.
    """
    # The history is up to 500 outcomes and this runs for every plan: the per-outcome keys (a handful of distinct
    # strings and rosters) come from small caches instead of being worked out again each time.
    groups: dict[tuple[str, ...], list[PastOutcome]] = {}
    for outcome in history:
        if _task_type(outcome.task_type) != task_type:
            continue
        if language is not None and stack_language(outcome.stack) != language:
            continue
        if not outcome.agents:
            continue
        groups.setdefault(_roster(outcome.agents), []).append(outcome)

    best: tuple[int, tuple[str, ...]] | None = None
    for roster, outcomes in groups.items():
        ships = sum(1 for outcome in outcomes if _shipped(outcome.outcome))
        if ships < LEARNED_PATTERN_MIN_SHIPS or ships <= len(outcomes) - ships:
            continue
        if best is None or (-ships, roster) < (-best[0], best[1]):
            best = (ships, roster)
    if best is None:
        return None

    ships, roster = best
    shipped = [o for o in groups[roster] if _shipped(o.outcome)]
    agents = _most_common(_in_order(o.agents) for o in shipped)
    agents = tuple(name for name in agents if name in registry_names)
    if not agents:
        return None
    phase_names = _most_common(tuple(o.phase_names) for o in shipped)
    source = f"learned:{task_type}:{language or 'any'} ({ships} SHIP runs)"
    return LearnedPattern(agents=agents, phase_names=phase_names, ship_runs=ships, source=source)


def _most_common(values: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    counts = Counter(values)
    return min(counts, key=lambda value: (-counts[value], value))


@lru_cache(maxsize=512)
def _task_type(value: str) -> str | None:
    try:
        return normalise_task_type(value)
    except PlanningError:
        return None


@lru_cache(maxsize=512)
def _roster(agents: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(agents)))


@lru_cache(maxsize=512)
def _in_order(agents: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(agents))


@lru_cache(maxsize=64)
def _shipped(outcome: str) -> bool:
    return outcome.strip().upper() == "SHIP"
