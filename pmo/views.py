"""PMO API (contract 4.9): thin adapters that validate, call one service or selector, and answer."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.request import Request
from rest_framework.response import Response

from baton_site.errors import QueryValidationError
from baton_site.schema import ERROR_400, ERROR_404, ERROR_409, ERROR_422
from pmo import selectors, services
from pmo.serializers import (
    HEALTH_SCHEMA,
    AdoSearchQuerySerializer,
    AdoSearchResponseSerializer,
    ApproveForgeRequestSerializer,
    ApproveForgeResponseSerializer,
    BoardSerializer,
    CreateForgeRequestSerializer,
    CreateSignalRequestSerializer,
    ForgePlanSerializer,
    InterviewQuestionSerializer,
    InterviewRequestSerializer,
    InterviewResponseSerializer,
    ProjectSerializer,
    RegeneratedPlanSerializer,
    RegenerateRequestSerializer,
    RegisterProjectRequestSerializer,
    ResolvedSignalSerializer,
    SignalForgeRequestSerializer,
    SignalForgeResponseSerializer,
    SignalSerializer,
)

TAGS = ["PMO"]


def _body(serializer_class: type, request: Request) -> dict:
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data


class ProjectViewSet(viewsets.ViewSet):
    """Projects registered with the PMO; their plans are the board's cards."""

    lookup_field = "project_id"
    lookup_value_regex = "[^/]+"

    @extend_schema(
        operation_id="pmo_projects_list",
        tags=TAGS,
        responses={200: ProjectSerializer(many=True)},
        description="Every registered project, ordered by name.",
    )
    def list(self, request: Request) -> Response:
        return Response(ProjectSerializer(selectors.project_list(), many=True).data)

    @extend_schema(
        operation_id="pmo_projects_register",
        tags=TAGS,
        request=RegisterProjectRequestSerializer,
        responses={201: ProjectSerializer, 400: ERROR_400, 409: ERROR_409, 422: ERROR_422},
        description="Register a project. The same `project_id` replaces the project (its `registered_at` is "
        "kept). `path` must be an absolute path to an existing directory (400 otherwise); it is stored resolved.",
    )
    def create(self, request: Request) -> Response:
        project = services.project_register(**_body(RegisterProjectRequestSerializer, request))
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="pmo_projects_remove",
        tags=TAGS,
        responses={204: None, 404: ERROR_404},
        description="Unregister a project. Its plans, executions and signals are kept: registering it again "
        "brings its cards back.",
    )
    def destroy(self, request: Request, project_id: str) -> Response:
        services.project_remove(project_id=project_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SignalViewSet(viewsets.ViewSet):
    """Signals: bugs, escalations and blockers raised against projects."""

    lookup_field = "signal_id"
    lookup_value_regex = "[^/]+"

    @extend_schema(
        operation_id="pmo_signals_list",
        tags=TAGS,
        responses={200: SignalSerializer(many=True)},
        description="Signals that are not resolved (open and triaged), oldest first.",
    )
    def list(self, request: Request) -> Response:
        return Response(SignalSerializer(selectors.signal_list(), many=True).data)

    @extend_schema(
        operation_id="pmo_signals_create",
        tags=TAGS,
        request=CreateSignalRequestSerializer,
        responses={201: SignalSerializer, 409: ERROR_409, 422: ERROR_422},
        description="Raise a signal; it starts `open`. A `signal_id` already used answers 409 (never overwritten).",
    )
    def create(self, request: Request) -> Response:
        signal = services.signal_create(**_body(CreateSignalRequestSerializer, request))
        return Response(SignalSerializer(signal).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="pmo_signals_resolve",
        tags=TAGS,
        request=None,
        responses={200: ResolvedSignalSerializer, 404: ERROR_404},
        description="Mark a signal resolved; resolving it again changes nothing. Answers the signal with "
        "`resolved: true`.",
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, signal_id: str) -> Response:
        signal = services.signal_resolve(signal_id=signal_id)
        return Response({**SignalSerializer(signal).data, "resolved": True})

    @extend_schema(
        operation_id="pmo_signals_forge",
        tags=TAGS,
        request=SignalForgeRequestSerializer,
        responses={201: SignalForgeResponseSerializer, 400: ERROR_400, 404: ERROR_404, 422: ERROR_422},
        description="Triage an open signal: plan a bug fix from it for `project_id`, save the plan, link it to "
        "the project and the signal, write it as the project's `.claude/team-context/plan.json`, and mark the "
        "signal `triaged`. `plan` is accepted and ignored. 404 for an unknown project (checked first) or "
        "signal; 400 for a signal that is not open or a plan the planner refuses.",
    )
    @action(detail=True, methods=["post"])
    def forge(self, request: Request, signal_id: str) -> Response:
        body = _body(SignalForgeRequestSerializer, request)
        signal, plan, path = services.signal_forge(signal_id=signal_id, project_id=body["project_id"])
        return Response(
            {"signal_id": signal.signal_id, "plan_id": plan.plan_id, "path": str(path)},
            status=status.HTTP_201_CREATED,
        )


@extend_schema(
    operation_id="pmo_board",
    tags=TAGS,
    responses={200: BoardSerializer},
    description="The Kanban board: one card per plan of the registered projects (a plan belongs to the project "
    "whose path it was planned for, or to the project it was forged for), its column from its latest "
    "execution, and health per program.",
)
@api_view(["GET"])
def board(request: Request) -> Response:
    return Response(selectors.pmo_board().as_dict())


@extend_schema(
    operation_id="pmo_board_program",
    tags=TAGS,
    parameters=[OpenApiParameter("program", str, OpenApiParameter.PATH, description="Case-insensitive")],
    responses={200: BoardSerializer},
    description="The board of one program (case-insensitive); an unknown program has no cards and no health.",
)
@api_view(["GET"])
def board_program(request: Request, program: str) -> Response:
    return Response(selectors.pmo_board(program=program).as_dict())


@extend_schema(
    operation_id="pmo_health",
    tags=TAGS,
    responses={200: OpenApiResponse(HEALTH_SCHEMA, description="Health per program")},
    description="Health per program: every card counts once in `total_plans` and in one bucket: `completed` "
    "(deployed), `blocked` (waiting on a human), `failed`, or `active` (everything else, queued included). "
    "`completion_pct` = completed / total x 100, rounded to one decimal (0.0 with no plans).",
)
@api_view(["GET"])
def health(request: Request) -> Response:
    return Response({program: item.as_dict() for program, item in selectors.pmo_health().items()})


@extend_schema(
    operation_id="pmo_forge_plan",
    tags=TAGS,
    request=CreateForgeRequestSerializer,
    responses={201: ForgePlanSerializer, 400: ERROR_400, 404: ERROR_404, 422: ERROR_422},
    description="Plan a task for a registered project with the planner. The plan dict is returned for review "
    "and NOT saved; it carries the requested `priority`.",
)
@api_view(["POST"])
def forge_plan(request: Request) -> Response:
    body = _body(CreateForgeRequestSerializer, request)
    plan = services.forge_plan(
        project_id=body["project_id"],
        description=body["description"],
        task_type=body.get("task_type"),
        priority=body["priority"],
    )
    return Response(plan, status=status.HTTP_201_CREATED)


@extend_schema(
    operation_id="pmo_forge_approve",
    tags=TAGS,
    request=ApproveForgeRequestSerializer,
    responses={
        200: ApproveForgeResponseSerializer,
        400: ERROR_400,
        404: ERROR_404,
        409: ERROR_409,
        422: ERROR_422,
    },
    description="Save an approved plan dict for a project: the plan is stored and linked to the project (it "
    "appears on the board), and written as `<project>/.claude/team-context/plan.json`; never outside the "
    "project's path. 400 for an invalid plan, a plan of another project, or a file that cannot be written.",
)
@api_view(["POST"])
def forge_approve(request: Request) -> Response:
    body = _body(ApproveForgeRequestSerializer, request)
    plan, path = services.forge_approve(
        project_id=body["project_id"], data=body["plan"], priority=body.get("priority")
    )
    return Response(
        {
            "saved": True,
            "plan_id": plan.plan_id,
            "project_id": body["project_id"],
            "priority": plan.pmo_assignment.priority,
            "path": str(path),
        }
    )


@extend_schema(
    operation_id="pmo_forge_interview",
    tags=TAGS,
    request=InterviewRequestSerializer,
    responses={200: InterviewResponseSerializer, 400: ERROR_400, 422: ERROR_422},
    description="Three to five questions about what the plan leaves open (tests, risk, coordination, gates, "
    "agents unknown to the registry, scope), derived from the plan itself.",
)
@api_view(["POST"])
def forge_interview(request: Request) -> Response:
    body = _body(InterviewRequestSerializer, request)
    questions = services.forge_interview(data=body["plan"], feedback=body.get("feedback") or "")
    return Response(
        {
            "questions": InterviewQuestionSerializer(
                [
                    {
                        "id": q.id,
                        "question": q.question,
                        "context": q.context,
                        "answer_type": q.answer_type,
                        "choices": list(q.choices) if q.choices is not None else None,
                    }
                    for q in questions
                ],
                many=True,
            ).data
        }
    )


@extend_schema(
    operation_id="pmo_forge_regenerate",
    tags=TAGS,
    request=RegenerateRequestSerializer,
    responses={201: RegeneratedPlanSerializer, 400: ERROR_400, 404: ERROR_404, 422: ERROR_422},
    description="The original plan refined by the interview answers, under a new plan id (not saved). "
    "`refinements` lists what the answers changed; answers that change nothing are kept in `shared_context`.",
)
@api_view(["POST"])
def forge_regenerate(request: Request) -> Response:
    body = _body(RegenerateRequestSerializer, request)
    plan = services.forge_regenerate(
        project_id=body["project_id"],
        description=body["description"],
        original_plan=body["original_plan"],
        answers=body["answers"],
        task_type=body.get("task_type"),
        priority=body.get("priority"),
    )
    return Response(plan, status=status.HTTP_201_CREATED)


@extend_schema(
    operation_id="pmo_ado_search",
    tags=TAGS,
    parameters=[AdoSearchQuerySerializer],
    responses={200: AdoSearchResponseSerializer, 422: ERROR_422},
    description="Placeholder Azure DevOps work items (shipped with the server) whose title, id or program "
    "contains `q` (case-insensitive); all of them without `q`.",
)
@api_view(["GET"])
def ado_search(request: Request) -> Response:
    query = AdoSearchQuerySerializer(data=request.query_params)
    if not query.is_valid():
        raise QueryValidationError(query.errors)
    return Response({"items": selectors.ado_search(q=query.validated_data["q"])})
