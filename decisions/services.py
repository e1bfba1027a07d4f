"""Writes of human decisions: opening them (from the engine's events) and resolving them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from baton_site.errors import ConcurrentModification, NotFound, RuleViolation
from decisions.models import DecisionRequest, DecisionStatus
from executions import engine
from executions.models import Event
from executions.services import ActionResult, execution_resolve_decision


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def on_events(published: Sequence[Event]) -> None:
    """Event-bus subscriber (runs inside the publishing transaction): `human.decision_needed` opens a decision
    row; `task.failed` (a cancel or a failure) expires the task's pending decision."""
    for event in published:
        if event.topic == engine.HUMAN_DECISION_NEEDED:
            payload = event.payload
            DecisionRequest.objects.create(
                request_id=payload["request_id"],
                task_id=event.task_id,
                decision_type=payload["decision_type"],
                summary=payload.get("summary", ""),
                options=list(payload.get("options", [])),
                context=payload.get("context") or {},
                context_files=list(payload.get("context_files", [])),
                deadline=_parse_time(payload.get("deadline")),
                created_at=_parse_time(payload.get("created_at")) or event.timestamp,
            )
        elif event.topic == engine.TASK_FAILED:
            DecisionRequest.objects.filter(task_id=event.task_id, status=DecisionStatus.PENDING).update(
                status=DecisionStatus.EXPIRED, resolved_at=event.timestamp
            )


def _claim(decision: DecisionRequest, *, option: str, rationale: str, resolved_by: str) -> bool:
    """Compare-and-set: mark the decision resolved only if it is still pending. True when this call won."""
    claimed = DecisionRequest.objects.filter(pk=decision.pk, status=DecisionStatus.PENDING).update(
        status=DecisionStatus.RESOLVED,
        chosen_option=option,
        rationale=rationale,
        resolved_by=resolved_by,
        resolved_at=timezone.now(),
    )
    return claimed == 1


def decision_resolve(
    *, request_id: str, option: str, rationale: str = "", resolved_by: str = "human"
) -> tuple[DecisionRequest, ActionResult]:
    """Resolve a pending decision and apply the choice to its execution, atomically.

    400 when the decision is not pending (resolved or expired) or the option is not one of its options; 409 when
    another resolution claimed it between our read and our write (the claim is a compare-and-set UPDATE, so of
    two concurrent resolutions exactly one succeeds).
    """
    decision = DecisionRequest.objects.filter(request_id=request_id).first()
    if decision is None:
        raise NotFound(f"Decision '{request_id}' not found")
    if decision.effective_status != DecisionStatus.PENDING:
        raise RuleViolation(f"Decision '{request_id}' is not pending (status: {decision.effective_status})")
    if option not in decision.options:
        raise RuleViolation(
            f"Option '{option}' is not one of the decision's options: {', '.join(decision.options)}"
        )
    with transaction.atomic():
        if not _claim(decision, option=option, rationale=rationale, resolved_by=resolved_by or "human"):
            raise ConcurrentModification(f"Decision '{request_id}' was resolved concurrently")
        result = execution_resolve_decision(
            task_id=decision.task_id,
            decision_type=decision.decision_type,
            option=option,
            request_id=request_id,
            rationale=rationale,
            resolved_by=resolved_by or "human",
        )
    decision.refresh_from_db()
    return decision, result
