"""Phase templates per task type, and placing roster members into them.

A template is an ordered list of phases; each phase has slots saying which members do what ("the testers write
a regression test, then the implementers fix, after it"). Filling a template with a roster gives phase drafts;
members no slot asked for (explicit or learned rosters) are then placed in the phase their role fits best.
Phases that end up with no step are dropped, so a roster without an architect simply has no Design phase.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from . import roster as r
from . import vocabulary as v
from .roster import Member


@dataclass(frozen=True)
class Slot:
    selector: str
    action: str
    after: tuple[str, ...] = ()
    fallback: tuple[str, ...] = ()


@dataclass(frozen=True)
class PhaseSpec:
    name: str
    kind: str
    slots: tuple[Slot, ...]

    def renamed(self, name: str) -> PhaseSpec:
        return PhaseSpec(name, self.kind, self.slots)


@dataclass
class StepDraft:
    member: Member
    action: str
    after: tuple[str, ...] = ()


@dataclass
class PhaseDraft:
    name: str
    kind: str
    steps: list[StepDraft] = field(default_factory=list)
    requires_approval: bool = False

    def has_agent(self, name: str) -> bool:
        return any(step.member.name == name for step in self.steps)


DESIGN = PhaseSpec(
    "Design",
    "design",
    (Slot(r.ARCHITECT, "design"), Slot(r.SME, "domain-brief"), Slot("coordinators", "coordinate")),
)
IMPLEMENT = PhaseSpec(
    "Implement",
    "implement",
    (
        Slot("implementers", "implement"),
        Slot(r.DEVOPS, "deploy-config", after=("implement",)),
        Slot(r.SRE, "observability", after=("implement",)),
    ),
)
TEST = PhaseSpec("Test", "test", (Slot("testers", "test", fallback=("lead",)),))
REVIEW = PhaseSpec("Review", "review", (Slot("reviewers", "review"),))
INVESTIGATE = PhaseSpec(
    "Investigate",
    "investigate",
    (Slot("lead", "investigate", fallback=("testers",)), Slot("coordinators", "coordinate")),
)
HYPOTHESIZE = PhaseSpec("Hypothesize", "hypothesize", (Slot("lead", "hypothesize"),))
FIX = PhaseSpec(
    "Fix",
    "fix",
    (
        Slot("testers", "regression-test"),
        Slot("implementers", "fix", after=("regression-test",)),
        Slot(r.DEVOPS, "deploy-config", after=("fix",)),
    ),
)
FIX_SMALL = PhaseSpec(
    "Fix",
    "fix",
    (Slot("implementers", "fix-small"), Slot(r.DEVOPS, "deploy-config", after=("fix-small",))),
)
VERIFY = PhaseSpec(
    "Verify",
    "verify",
    (Slot("testers", "verify", fallback=("lead",)), Slot("reviewers", "review", after=("verify",))),
)
ANALYZE_CODE = PhaseSpec(
    "Analyze",
    "analyze-code",
    (
        Slot(r.ARCHITECT, "refactor-analysis"),
        Slot("testers", "characterize"),
        Slot("coordinators", "coordinate"),
    ),
)
REFACTOR = PhaseSpec("Refactor", "refactor", (Slot("implementers", "refactor"),))
PLAN_MIGRATION = PhaseSpec(
    "Plan",
    "plan",
    (
        Slot(r.ARCHITECT, "migration-plan"),
        Slot(r.DATA_ENGINEER, "backup-rollback", after=("migration-plan",), fallback=("lead",)),
        Slot(r.SME, "domain-brief"),
        Slot("coordinators", "coordinate"),
    ),
)
MIGRATE = PhaseSpec(
    "Migrate",
    "migrate",
    (
        Slot(r.DATA_ENGINEER, "migrate-data"),
        Slot("code-implementers", "migrate-code", after=("migrate-data",)),
        Slot(r.DEVOPS, "rollout", after=("migrate-data", "migrate-code")),
    ),
)
VALIDATE = PhaseSpec(
    "Validate",
    "validate",
    (
        Slot("testers", "validate", fallback=(r.DATA_ENGINEER, "lead")),
        Slot("reviewers", "review", after=("validate",)),
    ),
)
RESEARCH = PhaseSpec(
    "Research",
    "research",
    (Slot(r.ARCHITECT, "research", fallback=(r.WRITER,)), Slot(r.SME, "domain-brief")),
)
WRITE = PhaseSpec("Write", "write", (Slot(r.WRITER, "write-docs", fallback=(r.ARCHITECT,)),))
DOCS_REVIEW = PhaseSpec("Review", "review", (Slot("reviewers", "review-docs"),))
EXPLORE = PhaseSpec(
    "Explore",
    "explore",
    (Slot(r.DATA_ENGINEER, "prepare-data"), Slot(r.DATA_ANALYST, "explore", fallback=(r.DATA_SCIENTIST,))),
)
ANALYZE_DATA = PhaseSpec(
    "Analyze", "analyze-data", (Slot(r.DATA_ANALYST, "analyze"), Slot(r.DATA_SCIENTIST, "model"))
)
REPORT_DATA = PhaseSpec(
    "Report",
    "report",
    (
        Slot(r.VISUALIZATION, "visualize"),
        Slot(r.DATA_ANALYST, "report", after=("visualize",), fallback=(r.DATA_SCIENTIST,)),
    ),
)
TEST_GAPS = PhaseSpec("Analyze gaps", "test-gaps", (Slot("testers", "test-gaps"),))
WRITE_TESTS = PhaseSpec("Write tests", "write-tests", (Slot("testers", "write-tests", fallback=("lead",)),))
VERIFY_TESTS = PhaseSpec(
    "Verify",
    "verify-tests",
    (Slot("testers", "run-tests"), Slot("reviewers", "review-tests", after=("run-tests",))),
)
ASSESS = PhaseSpec("Assess", "assess", (Slot("assessors", "assess"),))
REPORT_FINDINGS = PhaseSpec("Report", "report-findings", (Slot("report-author", "report-findings"),))
PLAN_INFRA = PhaseSpec(
    "Plan",
    "plan-infra",
    (
        Slot(r.ARCHITECT, "design"),
        Slot(r.DEVOPS, "infra-plan", after=("design",), fallback=(r.SRE,)),
        Slot("coordinators", "coordinate"),
    ),
)
PROVISION = PhaseSpec("Provision", "provision", (Slot(r.DEVOPS, "provision", fallback=(r.SRE,)),))
VERIFY_INFRA = PhaseSpec(
    "Verify",
    "verify-infra",
    (Slot(r.SRE, "verify-infra", fallback=(r.DEVOPS,)), Slot("reviewers", "review", after=("verify-infra",))),
)
AUDIT = PhaseSpec("Audit", "audit", (Slot(r.AUDITOR, "audit"),))

#: (full template, light template) per task type.
TEMPLATES: dict[str, tuple[tuple[PhaseSpec, ...], tuple[PhaseSpec, ...]]] = {
    v.NEW_FEATURE: ((DESIGN, IMPLEMENT, TEST, REVIEW), (IMPLEMENT, TEST)),
    v.GENERIC: ((DESIGN, IMPLEMENT, TEST, REVIEW), (IMPLEMENT, TEST)),
    v.BUG_FIX: ((INVESTIGATE, FIX, VERIFY), (FIX_SMALL, VERIFY)),
    v.INVESTIGATION: ((INVESTIGATE, HYPOTHESIZE, FIX, VERIFY), (INVESTIGATE, HYPOTHESIZE, FIX, VERIFY)),
    v.REFACTOR: ((ANALYZE_CODE, REFACTOR, VERIFY), (REFACTOR, VERIFY)),
    v.MIGRATION: ((PLAN_MIGRATION, MIGRATE, VALIDATE), (PLAN_MIGRATION, MIGRATE, VALIDATE)),
    v.DOCUMENTATION: ((RESEARCH, WRITE, DOCS_REVIEW), (WRITE, DOCS_REVIEW)),
    v.DATA_ANALYSIS: ((EXPLORE, ANALYZE_DATA, REPORT_DATA), (ANALYZE_DATA, REPORT_DATA)),
    v.TEST: ((TEST_GAPS, WRITE_TESTS, VERIFY_TESTS), (WRITE_TESTS, VERIFY_TESTS)),
    v.AUDIT: ((ASSESS, REPORT_FINDINGS), (ASSESS, REPORT_FINDINGS)),
    v.ASSESSMENT: ((ASSESS, REPORT_FINDINGS), (ASSESS, REPORT_FINDINGS)),
    v.INFRASTRUCTURE: ((PLAN_INFRA, PROVISION, VERIFY_INFRA), (PROVISION, VERIFY_INFRA)),
}

#: Phase kinds where thinking happens before code changes; at HIGH risk the first of them needs approval.
PLANNING_KINDS = frozenset(
    {"design", "plan", "plan-infra", "investigate", "analyze-code", "research", "explore", "test-gaps"}
)
#: Phase kinds that change the product; unplaced members with no better home join the first of them.
WORK_KINDS = ("implement", "fix", "refactor", "migrate", "provision", "write", "write-tests", "analyze-data")
_REVIEW_KINDS = ("review", "verify", "validate", "verify-tests", "verify-infra")

#: Phase kinds a role fits, best first (used for members no slot asked for).
AFFINITY: dict[str, tuple[str, ...]] = {
    r.ARCHITECT: (
        "design",
        "plan",
        "plan-infra",
        "analyze-code",
        "research",
        "report-findings",
        "assess",
        "review",
    ),
    r.BACKEND: ("implement", "fix", "refactor", "migrate", "provision", "write-tests", "analyze-data"),
    r.FRONTEND: ("implement", "fix", "refactor", "migrate", "write-tests"),
    r.DATA_ENGINEER: ("migrate", "implement", "explore", "plan", "analyze-data", "provision"),
    r.DATA_SCIENTIST: ("analyze-data", "implement", "explore"),
    r.DATA_ANALYST: ("analyze-data", "explore", "report", "assess", "research", "implement"),
    r.VISUALIZATION: ("report", "analyze-data", "implement"),
    r.TESTER: (
        "test",
        "verify",
        "validate",
        "write-tests",
        "verify-tests",
        "fix",
        "analyze-code",
        "test-gaps",
    ),
    r.CODE_REVIEWER: (*_REVIEW_KINDS, "assess"),
    r.SECURITY_REVIEWER: (*_REVIEW_KINDS, "assess"),
    r.AUDITOR: ("audit", "assess", *_REVIEW_KINDS),
    r.DEVOPS: ("provision", "implement", "migrate", "plan-infra", "verify-infra", "fix"),
    r.SRE: ("verify-infra", "provision", "implement", "verify", "validate"),
    r.WRITER: ("write", "research", "report-findings", "report"),
    r.SME: ("research", "design", "plan", "assess", "review", "explore"),
    r.ORCHESTRATOR: tuple(sorted(PLANNING_KINDS)) + ("assess",),
    r.TEAM_LEAD: tuple(sorted(PLANNING_KINDS)) + ("assess",),
}

#: Phase names (lower case) a learned pattern may use, mapped to a kind; some depend on the task type.
_NAME_KINDS: dict[str, str] = {
    "design": "design",
    "architecture": "design",
    "investigate": "investigate",
    "investigation": "investigate",
    "reproduce": "investigate",
    "hypothesize": "hypothesize",
    "fix": "fix",
    "implement": "implement",
    "implementation": "implement",
    "build": "implement",
    "develop": "implement",
    "development": "implement",
    "test": "test",
    "tests": "test",
    "testing": "test",
    "validate": "validate",
    "validation": "validate",
    "review": "review",
    "code review": "review",
    "audit": "audit",
    "research": "research",
    "write": "write",
    "draft": "write",
    "document": "write",
    "documentation": "write",
    "explore": "explore",
    "exploration": "explore",
    "analyze gaps": "test-gaps",
    "write tests": "write-tests",
    "assess": "assess",
    "assessment": "assess",
    "synthesize": "report-findings",
    "provision": "provision",
    "deploy": "provision",
    "migrate": "migrate",
    "migration": "migrate",
    "refactor": "refactor",
}
KIND_SPECS: dict[str, PhaseSpec] = {
    spec.kind: spec
    for spec in (
        DESIGN, IMPLEMENT, TEST, REVIEW, INVESTIGATE, HYPOTHESIZE, FIX, VERIFY, ANALYZE_CODE, REFACTOR,
        PLAN_MIGRATION, MIGRATE, VALIDATE, RESEARCH, WRITE, EXPLORE, ANALYZE_DATA, REPORT_DATA, TEST_GAPS,
        WRITE_TESTS, VERIFY_TESTS, ASSESS, REPORT_FINDINGS, PLAN_INFRA, PROVISION, VERIFY_INFRA, AUDIT,
    )
}  # fmt: skip


def template_for(task_type: str, *, light: bool) -> tuple[PhaseSpec, ...]:
    full, short = TEMPLATES.get(task_type, TEMPLATES[v.GENERIC])
    return short if light else full


def kind_for_name(name: str, task_type: str) -> str:
    """The kind of a phase named in a learned pattern ("Plan" means different things for different types)."""
    key = name.split(":", 1)[0].strip().lower()
    if key in ("plan", "planning", "prepare"):
        return {v.MIGRATION: "plan", v.INFRASTRUCTURE: "plan-infra"}.get(task_type, "design")
    if key in ("verify", "verification"):
        return {v.INFRASTRUCTURE: "verify-infra", v.TEST: "verify-tests"}.get(task_type, "verify")
    if key in ("analyze", "analyse", "analysis"):
        return {v.DATA_ANALYSIS: "analyze-data", v.TEST: "test-gaps"}.get(task_type, "analyze-code")
    if key == "report":
        return "report" if task_type == v.DATA_ANALYSIS else "report-findings"
    return _NAME_KINDS.get(key, "implement")


def template_from_names(names: Sequence[str], task_type: str) -> tuple[PhaseSpec, ...]:
    return tuple(KIND_SPECS[kind_for_name(name, task_type)].renamed(name) for name in names)


def _select(selector: str, members: Sequence[Member]) -> list[Member]:
    if selector == "implementers":
        return [m for m in members if m.role in r.IMPLEMENTERS]
    if selector == "code-implementers":
        return [m for m in members if m.role in r.IMPLEMENTERS and m.role != r.DATA_ENGINEER]
    if selector == "lead":
        return [m for m in members if m.role in r.IMPLEMENTERS][:1]
    if selector == "testers":
        return [m for m in members if m.role == r.TESTER]
    if selector == "reviewers":
        return [m for m in members if m.role in r.REVIEWERS]
    if selector == "coordinators":
        return [m for m in members if m.role in (r.ORCHESTRATOR, r.TEAM_LEAD)]
    if selector in ("assessors", "report-author"):
        author = report_author(members)
        if selector == "report-author":
            return [author] if author else []
        others = [m for m in members if m != author and m.role not in (r.ORCHESTRATOR, r.TEAM_LEAD)]
        return others or ([author] if author else [])
    return [m for m in members if m.role == selector]


def report_author(members: Sequence[Member]) -> Member | None:
    for role in (r.ARCHITECT, r.AUDITOR, r.SECURITY_REVIEWER, r.CODE_REVIEWER, r.WRITER):
        for member in members:
            if member.role == role:
                return member
    return members[0] if members else None


def fill(specs: Sequence[PhaseSpec], members: Sequence[Member]) -> tuple[list[PhaseDraft], list[Member]]:
    """Fill template slots; return the drafts (empty phases included) and the members no slot took."""
    drafts: list[PhaseDraft] = []
    placed: set[Member] = set()
    for spec in specs:
        draft = PhaseDraft(spec.name, spec.kind)
        for slot in spec.slots:
            chosen = _select(slot.selector, members)
            if not chosen:
                for fallback in slot.fallback:
                    chosen = _select(fallback, members)[:1]
                    if chosen:
                        break
            for member in chosen:
                if not draft.has_agent(member.name):
                    draft.steps.append(StepDraft(member, slot.action, slot.after))
                    placed.add(member)
        drafts.append(draft)
    return drafts, [m for m in members if m not in placed]


def place_leftovers(drafts: list[PhaseDraft], leftovers: Sequence[Member]) -> None:
    """Put members no slot asked for into the phase their role fits best (adding a Review phase if needed)."""
    for member in leftovers:
        target = _best_phase(drafts, member)
        if target is None:
            if member.role in (*r.REVIEWERS, r.AUDITOR):
                target = PhaseDraft("Review", "review")
                audit_index = next((i for i, d in enumerate(drafts) if d.kind == "audit"), len(drafts))
                drafts.insert(audit_index, target)
            else:
                target = next((d for d in drafts if d.kind in WORK_KINDS), drafts[-1] if drafts else None)
                if target is None:
                    target = PhaseDraft("Implement", "implement")
                    drafts.append(target)
        if target.has_agent(member.name):
            continue
        after: tuple[str, ...] = ()
        if member.role in (*r.REVIEWERS, r.AUDITOR):
            after = tuple(dict.fromkeys(s.action for s in target.steps if s.member.role not in r.REVIEWERS))
        target.steps.append(StepDraft(member, action_for(member.role, target.kind), after))


def _best_phase(drafts: Sequence[PhaseDraft], member: Member) -> PhaseDraft | None:
    for kind in AFFINITY.get(member.role, WORK_KINDS):
        for draft in drafts:
            if draft.kind == kind and not draft.has_agent(member.name):
                return draft
    return None


def action_for(role: str, kind: str) -> str:
    """What a member of this role does in a phase of this kind when no slot said so."""
    if kind == "assess":
        return "assess"
    if role in r.REVIEWERS:
        return {"write": "review-docs", "verify-tests": "review-tests"}.get(kind, "review")
    if role == r.AUDITOR:
        return "audit"
    if role == r.TESTER:
        return {
            "fix": "regression-test",
            "verify": "verify",
            "validate": "validate",
            "write-tests": "write-tests",
            "verify-tests": "run-tests",
            "test-gaps": "test-gaps",
            "analyze-code": "characterize",
        }.get(kind, "test")
    if role == r.ARCHITECT:
        return {
            "design": "design",
            "plan": "migration-plan",
            "plan-infra": "design",
            "analyze-code": "refactor-analysis",
            "research": "research",
            "report-findings": "report-findings",
            "review": "architecture-review",
        }.get(kind, "advise")
    if role in (r.BACKEND, r.FRONTEND):
        return {
            "fix": "fix",
            "refactor": "refactor",
            "migrate": "migrate-code",
            "investigate": "investigate",
            "hypothesize": "hypothesize",
            "write-tests": "write-tests",
            "test": "test",
        }.get(kind, "implement")
    if role == r.DATA_ENGINEER:
        return {"migrate": "migrate-data", "explore": "prepare-data", "plan": "backup-rollback"}.get(
            kind, "implement"
        )
    if role == r.DATA_SCIENTIST:
        return "explore" if kind == "explore" else "model"
    if role == r.DATA_ANALYST:
        return {"explore": "explore", "report": "report", "implement": "metrics"}.get(kind, "analyze")
    if role == r.VISUALIZATION:
        return "visualize"
    if role == r.DEVOPS:
        return {
            "provision": "provision",
            "plan-infra": "infra-plan",
            "migrate": "rollout",
            "verify-infra": "verify-infra",
        }.get(kind, "deploy-config")
    if role == r.SRE:
        return {"verify-infra": "verify-infra", "provision": "provision"}.get(kind, "observability")
    if role == r.WRITER:
        return {"research": "research", "report-findings": "report-findings"}.get(kind, "write-docs")
    if role == r.SME:
        return "domain-brief"
    return "coordinate"
