"""Risk level from concrete signals in the description.

CRITICAL needs a dangerous combination (deleting production data, changing payments storage, rotating
production secrets, exporting personal data, or several regulated-data signals at once); single sensitive
topics give HIGH; schema, scripting and public-API work gives MEDIUM. Combinations that describe one action
(delete + production + data) must occur in the same sentence, so a long specification does not combine words
from unrelated sections.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import vocabulary as v
from .models import RISK_LEVELS
from .text import Doc, Lexicon, sentences

LOW, MEDIUM, HIGH, CRITICAL = RISK_LEVELS
#: Distinct regulated / personal-data terms that make a task CRITICAL on their own.
REGULATED_CRITICAL_HITS = 3
#: A plan with more agents than this is at least MEDIUM risk (coordination risk).
MANY_AGENTS = 5

_HIGH_SIGNALS: tuple[tuple[str, Lexicon], ...] = (
    ("authentication or authorization", v.AUTH),
    ("payments or billing", v.PAYMENTS),
    ("production", v.PRODUCTION),
    ("deployment", v.DEPLOY),
    ("infrastructure", v.INFRA_RISK),
    ("security", v.SECURITY),
    ("secrets or credentials", v.SECRETS),
    ("compliance or regulated data", v.REGULATED),
)


@dataclass(frozen=True)
class RiskAssessment:
    level: str
    reasons: tuple[str, ...]


def raise_to(level: str, floor: str) -> str:
    return max(level, floor, key=RISK_LEVELS.index)


def assess_risk(text: str, *, task_type: str | None = None, doc: Doc | None = None) -> RiskAssessment:
    """Risk from the description alone (roster size is applied by the planner afterwards)."""
    doc = doc if doc is not None else Doc(text)
    critical = _critical_reasons(text, doc)
    if critical:
        return RiskAssessment(CRITICAL, tuple(critical))

    reasons: list[str] = []
    level = LOW
    for reason, lexicon in _HIGH_SIGNALS:
        hits = lexicon.hits(doc)
        if hits:
            level = HIGH
            reasons.append(f"{reason} ({', '.join(hits[:3])})")
    medium_hits = v.MEDIUM_RISK.hits(doc)
    if medium_hits:
        level = raise_to(level, MEDIUM)
        reasons.append(f"schema, scripts or public interfaces ({', '.join(medium_hits[:3])})")
    if _any_sentence(text, doc, (v.DESTRUCTIVE, v.DATA_NOUNS)):
        level = raise_to(level, MEDIUM)
        reasons.append("destructive data operation")
    if task_type in v.READ_ONLY_TYPES and level != LOW:
        level = RISK_LEVELS[RISK_LEVELS.index(level) - 1]
        reasons.append(f"lowered one level: {task_type} work does not change production code")
    return RiskAssessment(level, tuple(reasons))


def _critical_reasons(text: str, doc: Doc) -> list[str]:
    reasons: list[str] = []
    if v.DROP_STATEMENTS.matches(doc):
        reasons.append("drops or truncates a table or database")
    if _any_sentence(text, doc, (v.DESTRUCTIVE, v.PRODUCTION, v.DATA_NOUNS)):
        reasons.append("deletes production data")
    if v.PAYMENTS.matches(doc) and v.MIGRATION_WORDS.matches(doc):
        reasons.append("migrates payment data")
    if v.ROTATION.matches(doc) and v.ROTATED_THINGS.matches(doc) and v.PRODUCTION.matches(doc):
        reasons.append("rotates production secrets")
    if _any_sentence(text, doc, (v.PERSONAL_DATA, v.DATA_EXPORT)):
        reasons.append("exports personal data")
    regulated = v.REGULATED.hits(doc)
    if len(regulated) >= REGULATED_CRITICAL_HITS:
        reasons.append(f"regulated personal data ({', '.join(regulated[:4])})")
    return reasons


def _any_sentence(text: str, doc: Doc, lexicons: tuple[Lexicon, ...]) -> bool:
    """Whether one sentence matches every lexicon (checked on the whole text first, which is cheap)."""
    if not all(lexicon.matches(doc) for lexicon in lexicons):
        return False
    for sentence in sentences(text):
        lowered = sentence.lower()
        if not all(lexicon.may_match(lowered) for lexicon in lexicons):
            continue
        sentence_doc = Doc(sentence)
        if all(lexicon.matches(sentence_doc) for lexicon in lexicons):
            return True
    return False
