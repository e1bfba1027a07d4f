"""The PMO's server-rendered pages: the Kanban board, a card, signals, projects and the dashboard.

Every page reads through `pmo.selectors` and writes through the same services as the API (`pmo.services`,
`decisions.services.decision_resolve`), validating forms with the API's request serializers. With a token
configured (`BATON_API_TOKEN`), every page needs a Django session login (the admin's login page).

Live updates: `live` is a Server-Sent Events stream of compact "something changed" notices, fed by the same
per-process stream hub as the API's event streams; the pages' small script (`static/pmo/live.js`) answers a
notice by fetching the re-rendered fragment (`board_fragment`, `card_fragment`) and swapping it in. Without
JavaScript the pages are complete, and a reload shows the latest state.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from baton_site.errors import BatonError
from decisions.services import decision_resolve as resolve_decision_service
from executions import streams
from plans.models import RiskLevel
from pmo import charts, selectors, services
from pmo.models import (
    PRIORITY_LABELS,
    RISK_COLOURS,
    SEVERITY_COLOURS,
    Severity,
    SignalType,
)
from pmo.serializers import CreateSignalRequestSerializer, RegisterProjectRequestSerializer

OUTCOME_COLOURS = {"SHIP": "green", "REVISE": "amber", "BLOCK": "red"}
KEEPALIVE_FRAME = b": keepalive\n\n"


# --- Access ---------------------------------------------------------------------------------------------------


def page_login_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """With a token configured, anonymous visitors are sent to the login page (read at request time)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if settings.BATON_API_TOKEN and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def _actor(request: HttpRequest) -> str:
    return request.user.get_username() if request.user.is_authenticated else "pmo page"


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _errors(serializer_errors: dict[str, Any]) -> dict[str, str]:
    return {
        field: " ".join(str(message) for message in problems) for field, problems in serializer_errors.items()
    }


# --- The board ------------------------------------------------------------------------------------------------


def _board_context(request: HttpRequest) -> dict[str, Any]:
    program = request.GET.get("program", "").strip()
    project_id = request.GET.get("project", "").strip()
    risk = request.GET.get("risk", "").strip().upper()
    if risk not in RiskLevel.values:
        risk = ""
    board = selectors.pmo_board(project_id=project_id or None, risk=risk or None)
    known_programs = {name.casefold(): name for name in board.health}
    program = known_programs.get(program.casefold(), "") if program else ""
    if program:
        board.cards = [card for card in board.cards if card.program == program]
    query = {
        key: value for key, value in (("program", program), ("project", project_id), ("risk", risk)) if value
    }
    return {
        "board": board,
        "columns": board.columns,
        "health": list(board.health.values()),
        "selected_program": program,
        "selected_project": project_id,
        "selected_risk": risk,
        "risk_levels": RiskLevel.values,
        "querystring": urlencode(query),
        "risk_colours": RISK_COLOURS,
        "priority_labels": PRIORITY_LABELS,
        "rendered_at": timezone.now(),
    }


@require_GET
@page_login_required
def board(request: HttpRequest) -> HttpResponse:
    return render(request, "pmo/board.html", _board_context(request))


@require_GET
@page_login_required
def board_fragment(request: HttpRequest) -> HttpResponse:
    return render(request, "pmo/_board.html", _board_context(request))


# --- A card ---------------------------------------------------------------------------------------------------


def _card_context(card_id: str) -> dict[str, Any]:
    detail = selectors.pmo_card(card_id=card_id)
    return {
        "detail": detail,
        "card": detail.card,
        "risk_colours": RISK_COLOURS,
        "priority_labels": PRIORITY_LABELS,
        "rendered_at": timezone.now(),
    }


def _render_card(request: HttpRequest, template: str, card_id: str) -> HttpResponse:
    try:
        context = _card_context(card_id)
    except BatonError as exc:
        return render(request, "pmo/not_found.html", {"detail": exc.detail}, status=exc.status_code)
    return render(request, template, context)


@require_GET
@page_login_required
def card(request: HttpRequest, card_id: str) -> HttpResponse:
    return _render_card(request, "pmo/card.html", card_id)


@require_GET
@page_login_required
def card_fragment(request: HttpRequest, card_id: str) -> HttpResponse:
    return _render_card(request, "pmo/_card.html", card_id)


@require_POST
@page_login_required
def decision_resolve(request: HttpRequest, request_id: str) -> HttpResponse:
    """Resolve a pending decision with the option of the button pressed (the same service as the API)."""
    option = request.POST.get("option", "")
    rationale = request.POST.get("rationale", "")[:20_000]
    try:
        decision, _ = resolve_decision_service(
            request_id=request_id, option=option, rationale=rationale, resolved_by=_actor(request)
        )
    except BatonError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Decision {decision.request_id} resolved: {option}.")
    return redirect(_safe_next(request, reverse("pmo:board")))


# --- Live -----------------------------------------------------------------------------------------------------


async def live(request: HttpRequest) -> HttpResponseBase:
    """GET /pmo/live: Server-Sent Events, one `change` message (the task ids and topics) per batch of events of
    any task, and a keepalive comment in silence. A client that falls too far behind is disconnected; its
    EventSource reconnects and the page refetches, so nothing is missed."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    if settings.BATON_API_TOKEN:
        user = await request.auser()
        if not user.is_authenticated:
            return HttpResponse("Login required.", status=401, content_type="text/plain")
    response = StreamingHttpResponse(_live_frames(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def change_frame(batch: list[streams.StreamEvent]) -> bytes:
    """One SSE message naming the tasks and topics of a batch of events."""
    data = {
        "tasks": sorted({event.task_id for event in batch}),
        "topics": sorted({str(event.data.get("topic", "")) for event in batch}),
    }
    return f"event: change\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def _live_frames() -> AsyncIterator[bytes]:
    streams.release_request_thread()
    keepalive = float(settings.BATON_SSE_KEEPALIVE)
    async with streams.get_hub().subscription(None, kind="pmo-page") as subscription:
        feed = streams.AllTasksFeed(subscription)
        yield b"retry: 3000\n\n"
        while True:
            try:
                batch = await feed.next_batch(keepalive)
            except streams.StreamOverflow:
                return
            except asyncio.CancelledError:
                raise
            if batch is None:
                yield KEEPALIVE_FRAME
            elif batch:
                yield change_frame(batch)


# --- Signals --------------------------------------------------------------------------------------------------


@page_login_required
def signals(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        body = CreateSignalRequestSerializer(data=request.POST)
        values = request.POST.dict()
        if body.is_valid():
            try:
                signal = services.signal_create(**body.validated_data)
            except BatonError as exc:
                errors["signal_id"] = exc.detail
            else:
                messages.success(request, f"Signal {signal.signal_id} raised.")
                return redirect("pmo:signals")
        else:
            errors = _errors(body.errors)
    elif request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    if not values:
        values = {"signal_id": f"sig-{int(timezone.now().timestamp() * 1000)}", "severity": "medium"}
    return render(
        request,
        "pmo/signals.html",
        {
            "signals": selectors.signal_list(),
            "resolved": selectors.signal_recently_resolved(),
            "projects": selectors.project_list(),
            "signal_types": SignalType.values,
            "severities": Severity.values,
            "severity_colours": SEVERITY_COLOURS,
            "errors": errors,
            "values": values,
        },
        status=422 if errors else 200,
    )


@require_POST
@page_login_required
def signal_resolve(request: HttpRequest, signal_id: str) -> HttpResponse:
    try:
        services.signal_resolve(signal_id=signal_id)
    except BatonError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Signal {signal_id} resolved.")
    return redirect("pmo:signals")


@require_POST
@page_login_required
def signal_forge(request: HttpRequest, signal_id: str) -> HttpResponse:
    project_id = request.POST.get("project_id", "")
    try:
        signal, plan, path = services.signal_forge(signal_id=signal_id, project_id=project_id)
    except BatonError as exc:
        messages.error(request, exc.detail)
        return redirect("pmo:signals")
    messages.success(request, f"Signal {signal.signal_id} triaged: plan {plan.plan_id} written to {path}.")
    return redirect("pmo:card", card_id=plan.plan_id)


# --- Projects -------------------------------------------------------------------------------------------------


@page_login_required
def projects(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        body = RegisterProjectRequestSerializer(data=request.POST)
        values = request.POST.dict()
        if body.is_valid():
            try:
                project = services.project_register(**body.validated_data)
            except BatonError as exc:
                errors["path"] = exc.detail
            else:
                messages.success(request, f"Project {project.project_id} registered.")
                return redirect("pmo:projects")
        else:
            errors = _errors(body.errors)
    elif request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    return render(
        request,
        "pmo/projects.html",
        {"projects": selectors.project_list(), "errors": errors, "values": values},
        status=422 if errors else 200,
    )


@require_POST
@page_login_required
def project_remove(request: HttpRequest, project_id: str) -> HttpResponse:
    try:
        services.project_remove(project_id=project_id)
    except BatonError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Project {project_id} removed. Its plans are kept.")
    return redirect("pmo:projects")


# --- Dashboard ------------------------------------------------------------------------------------------------


@require_GET
@page_login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    data = selectors.pmo_dashboard(days=14)
    labels = [day[5:] for day in data.days]  # MM-DD
    outcome_series = [
        (
            outcome,
            OUTCOME_COLOURS.get(outcome, "slate"),
            [data.outcomes_by_day.get(day, {}).get(outcome, 0) for day in data.days],
        )
        for outcome in data.outcomes
    ]
    tokens = [data.tokens_by_day.get(day, 0) for day in data.days]
    gate_rates: list[float] = []
    gate_rows = []
    for day in data.days:
        passed, failed = data.gates_by_day.get(day, (0, 0))
        rate = round(passed / (passed + failed) * 100, 1) if passed + failed else 0.0
        gate_rates.append(rate)
        gate_rows.append(
            {"day": day, "passed": passed, "failed": failed, "rate": rate if passed + failed else None}
        )
    agents = data.metrics["agents"][:12]
    return render(
        request,
        "pmo/dashboard.html",
        {
            "data": data,
            "metrics": data.metrics,
            "outcome_chart": charts.column_chart(labels, outcome_series, label_every=2),
            "outcome_rows": [
                {"day": day, "counts": [data.outcomes_by_day.get(day, {}).get(o, 0) for o in data.outcomes]}
                for day in data.days
            ],
            "token_chart": charts.column_chart(labels, [("tokens", "blue", tokens)], label_every=2),
            "token_rows": list(zip(data.days, tokens, strict=True)),
            "agent_chart": charts.bar_chart(
                [row["agent_name"] for row in agents], [row["tokens"] for row in agents], colour="violet"
            ),
            "agents": agents,
            "gate_chart": charts.column_chart(
                labels, [("pass rate", "green", gate_rates)], maximum=100, unit="%", label_every=2
            ),
            "gate_rows": gate_rows,
        },
    )
