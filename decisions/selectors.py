"""Reads of decisions, including their context files read safely from disk."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from baton_site.errors import NotFound, RuleViolation
from decisions.models import DecisionRequest, DecisionStatus

MAX_CONTEXT_FILE_BYTES = 256 * 1024


def decision_list(*, status: str | None = None, task_id: str | None = None) -> QuerySet[DecisionRequest]:
    decisions = DecisionRequest.objects.order_by("-created_at", "-id")
    if task_id:
        decisions = decisions.filter(task_id=task_id)
    if status:
        now = timezone.now()
        not_expired = Q(deadline__isnull=True) | Q(deadline__gt=now)
        if status == DecisionStatus.PENDING:
            decisions = decisions.filter(not_expired, status=DecisionStatus.PENDING)
        elif status == DecisionStatus.EXPIRED:
            decisions = decisions.filter(
                Q(status=DecisionStatus.EXPIRED) | Q(status=DecisionStatus.PENDING, deadline__lte=now)
            )
        elif status == DecisionStatus.RESOLVED:
            decisions = decisions.filter(status=DecisionStatus.RESOLVED)
        else:
            valid = ", ".join(DecisionStatus.values)
            raise RuleViolation(f"Unknown status '{status}'. Valid values: {valid}.")
    return decisions


def pending_decision_count() -> int:
    return decision_list(status=DecisionStatus.PENDING).count()


def decision_get(*, request_id: str) -> DecisionRequest:
    decision = DecisionRequest.objects.filter(request_id=request_id).first()
    if decision is None:
        raise NotFound(f"Decision '{request_id}' not found")
    return decision


def _allowed_roots(task_id: str) -> list[Path]:
    from executions.models import Execution

    roots = [Path(settings.DATA_DIR).resolve()]
    project = Execution.objects.filter(task_id=task_id).values_list("plan__project_path", flat=True).first()
    if project:
        roots.append(Path(project).resolve())
    return roots


def read_context_file(path: str, roots: list[Path]) -> str | None:
    """A context file's text when it resolves (symlinks included) inside an allowed root, exists, is a regular
    file of at most MAX_CONTEXT_FILE_BYTES and is UTF-8; None otherwise. Relative paths are taken from the
    first root whose resolved join stays inside it."""
    if "\x00" in path:
        return None
    raw = Path(path)
    candidates = [raw] if raw.is_absolute() else [root / raw for root in roots]
    for candidate in candidates:
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            continue
        if not any(resolved.is_relative_to(root) for root in roots):
            continue
        try:
            if not resolved.is_file() or resolved.stat().st_size > MAX_CONTEXT_FILE_BYTES:
                return None
            return resolved.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
    return None


def context_file_contents(decision: DecisionRequest) -> dict[str, str | None]:
    roots = _allowed_roots(decision.task_id)
    return {path: read_context_file(path, roots) for path in decision.context_files}
