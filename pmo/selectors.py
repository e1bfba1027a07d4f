"""Reads of the PMO: the Kanban board (a fixed number of queries whatever its size), program health, a card's
detail, projects, signals, the ADO placeholder search and the dashboard series."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from baton_site.errors import NotFound
from decisions.models import DecisionRequest
from decisions.selectors import decision_list
from executions.models import Event, Execution, GateResult, StepResult, UsageRecord
from executions.selectors import dashboard_metrics
from plans.models import Plan, PlanPhase
from plans.selectors import plan_get
from pmo.models import (
    COLUMN_COLOURS,
    COLUMN_HINTS,
    PRIORITY_LABELS,
    RISK_COLOURS,
    SIGNAL_OPEN_STATUSES,
    Column,
    PlanAssignment,
    Project,
    Signal,
    column_for,
    priority_for_risk,
)

SAFE_COLOUR = re.compile(r"#[0-9A-Fa-f]{3,8}|[A-Za-z]{1,30}")
ADO_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "ado_work_items.json"
TIMELINE_LIMIT = 200
_EXECUTION_FIELDS = (
    "pk",
    "task_id",
    "plan_id",
    "status",
    "current_phase",
    "steps_completed",
    "gates_passed",
    "open_decision",
    "error",
    "failure_reason",
    "cancelled",
    "started_at",
    "updated_at",
)


# --- The board ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """One plan on the board: every PmoCardResponse field, plus what the pages show beside them."""

    card_id: str
    project_id: str
    program: str
    title: str
    column: str
    risk_level: str
    priority: int
    agents: list[str]
    steps_completed: int
    steps_total: int
    gates_passed: int
    current_phase: str
    error: str
    created_at: datetime
    updated_at: datetime
    task_id: str = ""
    execution_status: str = ""
    blocked: bool = False
    project_name: str = ""
    project_color: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The contract's PmoCardResponse."""
        return {
            "card_id": self.card_id,
            "project_id": self.project_id,
            "program": self.program,
            "title": self.title,
            "column": self.column,
            "risk_level": self.risk_level,
            "priority": self.priority,
            "agents": list(self.agents),
            "steps_completed": self.steps_completed,
            "steps_total": self.steps_total,
            "gates_passed": self.gates_passed,
            "current_phase": self.current_phase,
            "error": self.error,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "updated_at": self.updated_at.isoformat(timespec="seconds"),
        }

    @property
    def progress_pct(self) -> int:
        return round(self.steps_completed / self.steps_total * 100) if self.steps_total else 0

    @property
    def risk_colour(self) -> str:
        return RISK_COLOURS.get(self.risk_level, "slate")

    @property
    def priority_label(self) -> str:
        return PRIORITY_LABELS.get(self.priority, "normal")

    @property
    def column_label(self) -> str:
        return Column(self.column).label

    @property
    def column_colour(self) -> str:
        return COLUMN_COLOURS[Column(self.column)]

    @property
    def safe_color(self) -> str:
        """The project's display colour when it is a plain CSS colour (a hex code or a name), else ""."""
        return self.project_color if SAFE_COLOUR.fullmatch(self.project_color) else ""


@dataclass
class ProgramHealth:
    """Health of one program: each card counts once in total and in exactly one bucket."""

    program: str
    total_plans: int = 0
    active: int = 0
    completed: int = 0
    blocked: int = 0
    failed: int = 0

    @property
    def completion_pct(self) -> float:
        return round(self.completed / self.total_plans * 100, 1) if self.total_plans else 0.0

    def add(self, card: Card) -> None:
        # Precedence: deployed, then waiting on a human, then failed, then everything else (queued included).
        self.total_plans += 1
        if card.column == Column.DEPLOYED:
            self.completed += 1
        elif card.blocked:
            self.blocked += 1
        elif card.column == Column.FAILED:
            self.failed += 1
        else:
            self.active += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "program": self.program,
            "total_plans": self.total_plans,
            "active": self.active,
            "completed": self.completed,
            "blocked": self.blocked,
            "failed": self.failed,
            "completion_pct": self.completion_pct,
        }


@dataclass(frozen=True)
class BoardColumn:
    value: str
    label: str
    hint: str
    colour: str
    cards: list[Card]


@dataclass
class Board:
    cards: list[Card]
    health: dict[str, ProgramHealth]
    projects: list[Project] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The contract's PmoBoardResponse."""
        return {
            "cards": [card.as_dict() for card in self.cards],
            "health": {program: health.as_dict() for program, health in self.health.items()},
        }

    @property
    def columns(self) -> list[BoardColumn]:
        return [
            BoardColumn(
                column.value,
                column.label,
                COLUMN_HINTS[column],
                COLUMN_COLOURS[column],
                [card for card in self.cards if card.column == column],
            )
            for column in Column
        ]

    @property
    def programs(self) -> list[str]:
        return sorted({project.program for project in self.projects}, key=str.lower)


def _assignment(plan: Plan) -> PlanAssignment | None:
    try:
        return plan.pmo_assignment
    except ObjectDoesNotExist:
        return None


def _latest_execution_pk() -> Subquery:
    latest = Execution.objects.filter(plan=OuterRef("pk")).order_by("-started_at", "-id").values("pk")[:1]
    return Subquery(latest)


def _cards(plans: Iterable[Plan], projects: list[Project]) -> list[Card]:
    """Cards for plans that carry `latest_execution_pk` and a selected `pmo_assignment`: two more queries (the
    latest executions, and the phase names of the plans that have one), whatever the number of plans."""
    plans = list(plans)
    by_id = {project.project_id: project for project in projects}
    by_path: dict[str, Project] = {}
    for project in projects:  # ordered by name: with two projects on one path, the first one wins
        by_path.setdefault(project.path, project)
    execution_pks = [plan.latest_execution_pk for plan in plans if plan.latest_execution_pk]
    executions = {
        execution.plan_id: execution
        for execution in Execution.objects.filter(pk__in=execution_pks).only(*_EXECUTION_FIELDS)
    }
    phase_names: dict[int, list[str]] = {}
    for plan_pk, name in (
        PlanPhase.objects.filter(plan_id__in=list(executions))
        .order_by("plan_id", "phase_id")
        .values_list("plan_id", "name")
    ):
        phase_names.setdefault(plan_pk, []).append(name)

    cards = []
    for plan in plans:
        assignment = _assignment(plan)
        project = (by_id.get(assignment.project_id) if assignment else None) or by_path.get(plan.project_path)
        execution = executions.get(plan.pk)
        status = execution.status if execution else None
        column = column_for(status, execution.open_decision if execution else None)
        names = phase_names.get(plan.pk, [])
        current_phase = ""
        error = ""
        if execution is not None:
            if column not in (Column.DEPLOYED, Column.FAILED) and execution.current_phase < len(names):
                current_phase = names[execution.current_phase]
            error = execution.error
            if column == Column.FAILED and not error:
                error = "Cancelled" if execution.cancelled else (execution.failure_reason or "Failed")
        cards.append(
            Card(
                card_id=plan.plan_id,
                project_id=project.project_id if project else (assignment.project_id if assignment else ""),
                program=project.program if project else "",
                title=plan.task_summary,
                column=column.value,
                risk_level=plan.risk_level,
                priority=assignment.priority if assignment else priority_for_risk(plan.risk_level),
                agents=list(plan.agents),
                steps_completed=execution.steps_completed if execution else 0,
                steps_total=plan.total_steps,
                gates_passed=execution.gates_passed if execution else 0,
                current_phase=current_phase,
                error=error,
                created_at=plan.created_at,
                updated_at=execution.updated_at if execution else plan.created_at,
                task_id=execution.task_id if execution else "",
                execution_status=status or "",
                blocked=bool(
                    execution and execution.open_decision and status in ("gate_pending", "approval_pending")
                ),
                project_name=project.name if project else "",
                project_color=project.color if project else "",
            )
        )
    return cards


def _board_plans(projects: list[Project]) -> list[Plan]:
    paths = sorted({project.path for project in projects})
    ids = [project.project_id for project in projects]
    return list(
        Plan.objects.filter(Q(project_path__in=paths) | Q(pmo_assignment__project_id__in=ids))
        .select_related("pmo_assignment")
        .defer("description", "extra")
        .annotate(latest_execution_pk=_latest_execution_pk())
        .order_by("-created_at", "-id")
    )


def pmo_board(*, program: str | None = None, project_id: str | None = None, risk: str | None = None) -> Board:
    """The board: one card per plan of the registered projects, and health per program. Four queries
    (projects, plans, their latest executions, phase names) whatever the number of cards.

    `program` (case-insensitive) narrows cards and health; `project_id` and `risk` narrow the cards only (the
    health figures stay those of the whole program)."""
    projects = list(Project.objects.order_by("name", "project_id"))
    if not projects:
        return Board(cards=[], health={}, projects=[])
    cards = _cards(_board_plans(projects), projects)
    cards.sort(key=lambda card: (-card.priority, -card.updated_at.timestamp(), card.card_id))
    wanted = program.casefold() if program else None
    health: dict[str, ProgramHealth] = {}
    for name in sorted({project.program for project in projects}, key=str.lower):
        if wanted is None or name.casefold() == wanted:
            health[name] = ProgramHealth(name)
    if wanted is not None:
        cards = [card for card in cards if card.program.casefold() == wanted]
    for card in cards:
        health.setdefault(card.program, ProgramHealth(card.program)).add(card)
    if project_id:
        cards = [card for card in cards if card.project_id == project_id]
    if risk:
        cards = [card for card in cards if card.risk_level == risk.upper()]
    return Board(cards=cards, health=health, projects=projects)


def pmo_health() -> dict[str, ProgramHealth]:
    return pmo_board().health


# --- A card's detail -----------------------------------------------------------------------------------------


@dataclass
class PhaseDetail:
    phase_id: int
    name: str
    status: str  # pending, current, complete
    requires_approval: bool
    gate_type: str | None
    gate_command: str | None
    gate_description: str
    steps: list[dict[str, Any]]
    gate_results: list[GateResult]


_EVENT_DETAIL_KEYS = (
    ("phase_name", "{}"),
    ("step_id", "step {}"),
    ("agent_name", "{}"),
    ("result", "{}"),
    ("decision_type", "{}"),
    ("chosen_option", "chose {}"),
    ("resolved_by", "by {}"),
    ("reason", "{}"),
)


def event_summary(payload: dict[str, Any]) -> str:
    """A short line for the timeline from the payload keys events commonly carry."""
    parts = []
    for key, template in _EVENT_DETAIL_KEYS:
        value = payload.get(key) if isinstance(payload, dict) else None
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            parts.append(template.format(value))
    return " · ".join(parts)


@dataclass(frozen=True)
class TimelineEntry:
    timestamp: datetime
    topic: str
    sequence: int
    summary: str


@dataclass
class CardDetail:
    card: Card
    plan: Plan
    execution: Execution | None
    phases: list[PhaseDetail]
    events: list[TimelineEntry]
    pending_decisions: list[DecisionRequest]
    runs: int


def pmo_card(*, card_id: str) -> CardDetail:
    """A card with its plan's phases and steps, the results of its latest execution, the event timeline (the
    latest TIMELINE_LIMIT events) and its pending decisions. A fixed number of queries; NotFound for an unknown
    plan id."""
    plan = plan_get(plan_id=card_id)  # phases and steps prefetched
    projects = list(Project.objects.order_by("name", "project_id"))
    row = (
        Plan.objects.filter(pk=plan.pk)
        .select_related("pmo_assignment")
        .defer("description", "extra")
        .annotate(latest_execution_pk=_latest_execution_pk())
        .get()
    )
    card = _cards([row], projects)[0]
    execution = (
        Execution.objects.filter(pk=row.latest_execution_pk).first() if row.latest_execution_pk else None
    )
    runs = Execution.objects.filter(plan=plan).count()
    step_rows: dict[str, StepResult] = {}
    gates: dict[int, list[GateResult]] = {}
    events: list[TimelineEntry] = []
    pending: list[DecisionRequest] = []
    if execution is not None:
        step_rows = {step.step_id: step for step in StepResult.objects.filter(execution=execution)}
        for gate in GateResult.objects.filter(execution=execution).order_by("recorded_at", "id"):
            gates.setdefault(gate.phase_id, []).append(gate)
        rows = Event.objects.filter(task_id=execution.task_id).order_by("-sequence")[:TIMELINE_LIMIT]
        events = [
            TimelineEntry(row.timestamp, row.topic, row.sequence, event_summary(row.payload)) for row in rows
        ]
        events.reverse()
        pending = list(decision_list(status="pending", task_id=execution.task_id))
    phases = []
    for index, phase in enumerate(plan.phases.all()):
        if execution is None:
            phase_status = "pending"
        elif execution.status == "complete" or index < execution.current_phase:
            phase_status = "complete"
        elif index == execution.current_phase:
            phase_status = "failed" if execution.status == "failed" else "current"
        else:
            phase_status = "pending"
        steps = []
        for step in phase.steps.all():
            result = step_rows.get(step.step_id)
            steps.append(
                {
                    "step_id": step.step_id,
                    "agent_name": step.agent_name,
                    "task_description": step.task_description,
                    "model": step.model,
                    "status": result.status if result else "pending",
                    "attempts": result.attempts if result else 0,
                    "output_summary": result.output_summary if result else "",
                    "error": result.error if result else "",
                    "tokens": result.tokens if result else 0,
                }
            )
        phases.append(
            PhaseDetail(
                phase_id=phase.phase_id,
                name=phase.name,
                status=phase_status,
                requires_approval=phase.requires_approval,
                gate_type=phase.gate_type,
                gate_command=phase.gate_command,
                gate_description=phase.gate_description,
                steps=steps,
                gate_results=gates.get(phase.phase_id, []),
            )
        )
    return CardDetail(
        card=card,
        plan=plan,
        execution=execution,
        phases=phases,
        events=events,
        pending_decisions=pending,
        runs=runs,
    )


# --- Projects and signals ------------------------------------------------------------------------------------


def project_list() -> list[Project]:
    return list(Project.objects.order_by("name", "project_id"))


def project_get(*, project_id: str) -> Project:
    project = Project.objects.filter(project_id=project_id).first()
    if project is None:
        raise NotFound(f"Project '{project_id}' not found")
    return project


def signal_list(*, open_only: bool = True) -> list[Signal]:
    """Signals that are not resolved (open and triaged), oldest first."""
    signals = Signal.objects.order_by("created_at", "id")
    if open_only:
        signals = signals.filter(status__in=SIGNAL_OPEN_STATUSES)
    return list(signals)


def signal_recently_resolved(limit: int = 10) -> list[Signal]:
    return list(Signal.objects.filter(status="resolved").order_by("-resolved_at", "-id")[:limit])


def signal_get(*, signal_id: str) -> Signal:
    signal = Signal.objects.filter(signal_id=signal_id).first()
    if signal is None:
        raise NotFound(f"Signal '{signal_id}' not found")
    return signal


# --- ADO placeholder -----------------------------------------------------------------------------------------


@functools.cache
def _ado_items() -> tuple[dict[str, str], ...]:
    items = json.loads(ADO_FIXTURE.read_text(encoding="utf-8"))
    return tuple({**item, "description": item.get("description", "")} for item in items)


def ado_search(*, q: str = "") -> list[dict[str, str]]:
    """Placeholder work items (a fixture shipped with the package) whose title, id or program contains `q`."""
    needle = q.strip().casefold()
    return [
        dict(item)
        for item in _ado_items()
        if not needle or any(needle in item[key].casefold() for key in ("title", "id", "program"))
    ]


# --- Dashboard -----------------------------------------------------------------------------------------------


@dataclass
class DashboardData:
    days: list[str]
    outcomes: list[str]
    outcomes_by_day: dict[str, dict[str, int]]
    tokens_by_day: dict[str, int]
    gates_by_day: dict[str, tuple[int, int]]
    metrics: dict[str, Any]


def pmo_dashboard(*, days: int = 14) -> DashboardData:
    """Usage over the last `days` days (finished tasks per outcome, tokens and gate results per day) plus the
    observe figures (`executions.selectors.dashboard_metrics`). A fixed number of aggregate queries."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    records = UsageRecord.objects.filter(timestamp__gte=since).annotate(day=TruncDate("timestamp"))
    outcomes_by_day: dict[str, dict[str, int]] = {}
    outcomes: set[str] = set()
    for row in records.values("day", "outcome").annotate(n=Count("id")).order_by("day", "outcome"):
        label = row["outcome"] or "UNKNOWN"
        outcomes.add(label)
        outcomes_by_day.setdefault(row["day"].isoformat(), {})[label] = row["n"]
    tokens_by_day: dict[str, int] = {}
    gates_by_day: dict[str, tuple[int, int]] = {}
    for row in (
        records.values("day")
        .annotate(tokens=Sum("total_tokens"), passed=Sum("gates_passed"), failed=Sum("gates_failed"))
        .order_by("day")
    ):
        day = row["day"].isoformat()
        tokens_by_day[day] = row["tokens"] or 0
        gates_by_day[day] = (row["passed"] or 0, row["failed"] or 0)
    order = ["SHIP", "REVISE", "BLOCK"]
    return DashboardData(
        days=[(first + timedelta(days=offset)).isoformat() for offset in range(days)],
        outcomes=[o for o in order if o in outcomes] + sorted(outcomes - set(order)),
        outcomes_by_day=outcomes_by_day,
        tokens_by_day=tokens_by_day,
        gates_by_day=gates_by_day,
        metrics=dashboard_metrics(),
    )
