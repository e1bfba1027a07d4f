"""What kind of work a description asks for: task type, complexity, investigative wording and concerns."""

from __future__ import annotations

from dataclasses import dataclass

from . import vocabulary as v
from .models import PlanningError
from .text import Doc, Lexicon

#: Extra score for the type of the description's leading verb ("Fix ...", "Document ...").
LEADING_VERB_WEIGHT = 3
#: How many leading words may be skipped as filler ("We need to ...") when looking for the leading verb.
LEADING_VERB_WINDOW = 6
#: Extra score for the type named by the work object after a generic verb; beats the verb's own bonus.
WORK_OBJECT_WEIGHT = LEADING_VERB_WEIGHT + 2
#: Distinct terms a specialist concern needs in a long description (one is enough in a short one).
SPECIALIST_MIN_TERMS_LONG = 2


def normalise_task_type(value: str | None) -> str | None:
    """Map a client's task_type hint to a canonical type; None or blank means "no hint".

    Raises PlanningError(field="task_type") for anything unknown, listing the valid values.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise PlanningError("task_type", "task_type must be a string")
    key = value.strip().lower().replace("_", "-").replace(" ", "-")
    if not key:
        return None
    if key in v.TASK_TYPES:
        return key
    if key in v.TASK_TYPE_ALIASES:
        return v.TASK_TYPE_ALIASES[key]
    valid = ", ".join(sorted(v.TASK_TYPES))
    aliases = ", ".join(sorted(alias for alias in v.TASK_TYPE_ALIASES if alias not in v.TASK_TYPES))
    raise PlanningError(
        "task_type",
        f"unknown task_type {value.strip()!r}; valid values are: {valid} (also accepted: {aliases})",
    )


def _leading_verb_at(doc: Doc) -> tuple[int, str | None]:
    """Position and text of the first known imperative verb, skipping filler ("please", "we need to")."""
    for index, token in enumerate(doc.tokens[:LEADING_VERB_WINDOW]):
        if token in v.LEADING_VERBS:
            return index, token
        if token not in v.LEAD_FILLER:
            break
    return -1, None


def classify_task_type(doc: Doc) -> str:
    """Score every type by distinct keyword hits plus a leading-verb bonus; ties go to the earlier type.

    Two refinements of the verb signal: after a generic verb ("add", "fix", "write"), a work object in the
    next few words decides ("Add end-to-end tests" is test work, "Fix typos in the guide" documentation); a
    data operation verb on data ("Delete inactive accounts from the database") is a data migration.
    """
    scores = {task_type: lexicon.count(doc) for task_type, lexicon in v.TYPE_KEYWORDS.items()}
    index, verb = _leading_verb_at(doc)
    if verb is not None:
        scores[v.LEADING_VERBS[verb]] = scores.get(v.LEADING_VERBS[verb], 0) + LEADING_VERB_WEIGHT
    if verb is not None and verb in v.GENERIC_VERBS:
        window = Doc(" ".join(doc.tokens[index + 1 : index + 1 + v.WORK_OBJECT_WINDOW]))
        for task_type, objects in v.WORK_OBJECTS.items():
            if objects.matches(window):
                scores[task_type] = scores.get(task_type, 0) + WORK_OBJECT_WEIGHT
                break
    first = doc.tokens[0] if doc.tokens else ""
    if first in v.DATA_OPERATION_VERBS and v.DATA_NOUNS.matches(doc):
        scores[v.MIGRATION] = scores.get(v.MIGRATION, 0) + WORK_OBJECT_WEIGHT
    best_type, best_score = v.NEW_FEATURE, 0
    for task_type in v.TASK_TYPES:
        score = scores.get(task_type, 0)
        if score > best_score:
            best_type, best_score = task_type, score
    return best_type


def classify_complexity(doc: Doc) -> str:
    """light / medium / heavy from scope, architecture and multi-domain words, size words and length."""
    heavy = sum(
        1 for lexicon in (v.HEAVY_SCOPE, v.HEAVY_ARCHITECTURE, v.HEAVY_MULTI_DOMAIN) if lexicon.matches(doc)
    )
    if len(doc) > v.VERY_LONG_DESCRIPTION_TOKENS:
        heavy += 2
    elif len(doc) > v.LONG_DESCRIPTION_TOKENS:
        heavy += 1
    light = int(v.LIGHT_VERBS.matches(doc)) + int(_has_small_quantity(doc))
    if heavy >= 2 or (heavy == 1 and light == 0):
        return "heavy"
    if light and not heavy:
        return "light"
    return "medium"


def _has_small_quantity(doc: Doc) -> bool:
    if doc.words.isdisjoint(v.LIGHT_QUANTIFIERS) or doc.words.isdisjoint(v.LIGHT_UNITS):
        return False
    tokens = doc.tokens
    for index in range(len(tokens) - 1):
        if tokens[index] in v.LIGHT_QUANTIFIERS:
            following = tokens[index + 1]
            if following in v.LIGHT_UNITS:
                return True
            # "one more field", "a single new endpoint"
            if index + 2 < len(tokens) and tokens[index + 2] in v.LIGHT_UNITS:
                return True
    return False


def is_investigative(doc: Doc) -> bool:
    """Wording that calls for reproducing and finding a root cause before changing code."""
    return v.INVESTIGATIVE.matches(doc)


@dataclass(frozen=True)
class Concerns:
    """Which kinds of work the description mentions; drives who implements."""

    frontend: bool
    frontend_strong: bool
    backend: bool
    data_engineering: bool
    machine_learning: bool
    visualization: bool
    analytics: bool
    infrastructure: bool
    observability: bool
    database: bool
    security: bool
    regulated: bool
    architecture_docs: bool
    quality: bool
    performance: bool
    production: bool
    runtime: bool


def detect_concerns(doc: Doc) -> Concerns:
    """Concerns mentioned in the text. In a long specification a specialist concern (data pipelines, models,
    charts, infrastructure, monitoring) needs two distinct terms, so one passing mention ("the existing
    dashboards") does not add a specialist to the roster.
    """
    needed = SPECIALIST_MIN_TERMS_LONG if len(doc) > v.LONG_DESCRIPTION_TOKENS else 1

    def specialist(lexicon: Lexicon) -> bool:
        return lexicon.matches(doc) if needed == 1 else lexicon.count(doc) >= needed

    return Concerns(
        frontend=v.FRONTEND.matches(doc),
        frontend_strong=v.FRONTEND_STRONG.matches(doc),
        backend=v.BACKEND.matches(doc),
        data_engineering=specialist(v.DATA_ENGINEERING),
        machine_learning=specialist(v.MACHINE_LEARNING),
        visualization=specialist(v.VISUALIZATION),
        analytics=v.ANALYTICS.matches(doc),
        infrastructure=specialist(v.INFRA),
        observability=specialist(v.OBSERVABILITY),
        database=v.DATABASE.matches(doc),
        security=any(lexicon.matches(doc) for lexicon in v.SECURITY_REVIEW_TRIGGERS),
        regulated=v.REGULATED.matches(doc),
        architecture_docs=v.ARCHITECTURE_DOCS.matches(doc),
        quality=v.QUALITY_FOCUS.matches(doc),
        performance=v.PERFORMANCE.matches(doc),
        production=v.PRODUCTION.matches(doc),
        runtime=v.RUNTIME.matches(doc) or v.OBSERVABILITY.matches(doc),
    )
