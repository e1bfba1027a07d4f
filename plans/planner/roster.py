"""Who works on a task: roles per task type, stack flavours, and resolution against the registry.

A roster is a list of `Member`s: the role a registry agent plays in this plan and the agent's name. Roles are
base agent names ("backend-engineer"); names are whatever the registry holds ("backend-engineer--python"). The
planner never invents a name: a role whose agent (and fallbacks) are missing from the registry is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import vocabulary as v
from .classify import Concerns
from .models import AgentInfo, Stack

ARCHITECT = "architect"
BACKEND = "backend-engineer"
FRONTEND = "frontend-engineer"
TESTER = "test-engineer"
CODE_REVIEWER = "code-reviewer"
SECURITY_REVIEWER = "security-reviewer"
AUDITOR = "auditor"
DATA_ENGINEER = "data-engineer"
DATA_ANALYST = "data-analyst"
DATA_SCIENTIST = "data-scientist"
VISUALIZATION = "visualization-expert"
DEVOPS = "devops-engineer"
SRE = "site-reliability-engineer"
WRITER = "technical-writer"
SME = "subject-matter-expert"
ORCHESTRATOR = "orchestrator"
TEAM_LEAD = "team-lead"

KNOWN_ROLES = frozenset(
    {
        ARCHITECT, BACKEND, FRONTEND, TESTER, CODE_REVIEWER, SECURITY_REVIEWER, AUDITOR, DATA_ENGINEER,
        DATA_ANALYST, DATA_SCIENTIST, VISUALIZATION, DEVOPS, SRE, WRITER, SME, ORCHESTRATOR, TEAM_LEAD,
    }
)  # fmt: skip
#: Roles that write product code.
IMPLEMENTERS: tuple[str, ...] = (BACKEND, FRONTEND, DATA_ENGINEER, DATA_SCIENTIST)
REVIEWERS: tuple[str, ...] = (CODE_REVIEWER, SECURITY_REVIEWER)
#: Who covers a role whose own agent is missing from the registry.
ROLE_FALLBACKS: dict[str, tuple[str, ...]] = {
    WRITER: (ARCHITECT,),
    SRE: (DEVOPS,),
    DEVOPS: (SRE,),
    DATA_ANALYST: (DATA_SCIENTIST,),
    DATA_SCIENTIST: (DATA_ANALYST,),
    VISUALIZATION: (DATA_ANALYST,),
    DATA_ENGINEER: (BACKEND,),
    AUDITOR: (SECURITY_REVIEWER,),
    ORCHESTRATOR: (TEAM_LEAD,),
    TEAM_LEAD: (ORCHESTRATOR,),
}
#: Role for agents the planner has no rule for, by registry category (user-added agents).
CATEGORY_ROLES: dict[str, str] = {
    "engineering": BACKEND,
    "architecture": ARCHITECT,
    "quality": CODE_REVIEWER,
    "security": SECURITY_REVIEWER,
    "data": DATA_ANALYST,
    "operations": DEVOPS,
    "management": TEAM_LEAD,
}
_NAME_ROLE_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("test", "qa"), TESTER),
    (("review", "immune", "lint"), CODE_REVIEWER),
    (("audit", "compliance"), AUDITOR),
    (("security",), SECURITY_REVIEWER),
    (("architect",), ARCHITECT),
    (("scientist", "ml"), DATA_SCIENTIST),
    (("visual", "chart"), VISUALIZATION),
    (("analyst", "analytics"), DATA_ANALYST),
    (("data",), DATA_ENGINEER),
    (("sre", "reliability"), SRE),
    (("devops", "ops", "infra", "platform", "maintainer", "runner"), DEVOPS),
    (("writer", "doc"), WRITER),
    (("frontend", "ui"), FRONTEND),
    (("lead", "manager", "orchestrator", "coordinator"), TEAM_LEAD),
    (("expert", "domain"), SME),
)

_BACKEND_FLAVORS = {
    "python": "python",
    "javascript": "node",
    "typescript": "node",
    "go": "go",
    "rust": "rust",
    "java": "java",
}
_TEST_FLAVORS = {"python": "python", "javascript": "javascript", "typescript": "javascript"}
_JS = ("javascript", "typescript")


@dataclass(frozen=True)
class Member:
    role: str
    name: str


def role_of(agent: AgentInfo) -> str:
    """The role a registry agent plays: its base name when known, else a guess from name and category."""
    base = agent.base_name or agent.name.partition("--")[0]
    if base in KNOWN_ROLES:
        return base
    lowered = base.lower()
    for needles, role in _NAME_ROLE_HINTS:
        if any(needle in lowered for needle in needles):
            return role
    return CATEGORY_ROLES.get(agent.category.strip().lower(), BACKEND)


def flavors_for(role: str, stack: Stack, *, frontend_only: bool = False) -> tuple[str, ...]:
    """Registry flavours to try for a role on this stack, best first (the plain base agent is tried after)."""
    language = stack.language
    if role == BACKEND and language in _BACKEND_FLAVORS:
        return (_BACKEND_FLAVORS[language],)
    if role == FRONTEND:
        if stack.frontend in ("react", "vue"):
            return (stack.frontend,)
        if language == "csharp":
            return ("dotnet",)
        return ()
    if role == TESTER:
        if frontend_only and (stack.frontend or language in _JS):
            return ("javascript",)
        if language in _TEST_FLAVORS:
            return (_TEST_FLAVORS[language],)
    return ()


def implementer_roles(concerns: Concerns, stack: Stack, task_type: str) -> list[str]:
    """Which engineers build the change, from what the description talks about and what the project is.

    In a server-rendered project (a backend language and no JavaScript framework) forms and pages live in
    server templates, so the backend engineer owns them; a frontend engineer joins only for real UI work
    (styling, layout, accessibility, components).
    """
    roles: list[str] = []
    specialised = concerns.data_engineering or concerns.machine_learning
    language = stack.language
    server_rendered = language is not None and language not in (*_JS, "csharp") and stack.frontend is None
    frontend_project = language in _JS and stack.frontend is not None and stack.framework == stack.frontend
    frontend = concerns.frontend and (concerns.frontend_strong or not server_rendered)
    backend = concerns.backend or (concerns.frontend and not frontend) or not (frontend or specialised)
    if backend:
        roles.append(FRONTEND if frontend_project and not concerns.backend else BACKEND)
    if frontend and FRONTEND not in roles:
        roles.append(FRONTEND)
    if concerns.data_engineering:
        roles.append(DATA_ENGINEER)
    if concerns.machine_learning:
        roles.append(DATA_SCIENTIST)
    infrastructure = concerns.infrastructure or (concerns.production and task_type == v.MIGRATION)
    if infrastructure and task_type in (v.NEW_FEATURE, v.MIGRATION, v.GENERIC, v.BUG_FIX):
        roles.append(DEVOPS)
    if concerns.visualization and task_type in (v.NEW_FEATURE, v.GENERIC):
        roles.append(VISUALIZATION)
    if concerns.observability and task_type in (v.NEW_FEATURE, v.GENERIC):
        roles.append(SRE)
    return roles


def default_roles(task_type: str, *, light: bool, heavy: bool, concerns: Concerns, stack: Stack) -> list[str]:
    """The roles a task of this type needs before risk adds reviewers (order = order of first involvement)."""
    implementers = implementer_roles(concerns, stack, task_type)
    full = not light
    if task_type in (v.NEW_FEATURE, v.GENERIC):
        return _only([ARCHITECT] * full + implementers + [TESTER] + [CODE_REVIEWER] * full)
    if task_type == v.BUG_FIX:
        return _only(implementers + [TESTER] + [CODE_REVIEWER] * heavy)
    if task_type == v.INVESTIGATION:
        return _only(implementers[:1] + [TESTER, CODE_REVIEWER])
    if task_type == v.REFACTOR:
        return _only([ARCHITECT] * full + implementers + [TESTER] + [CODE_REVIEWER] * full)
    if task_type == v.MIGRATION:
        data = [DATA_ENGINEER] * concerns.database
        code = [role for role in implementers if role != DATA_ENGINEER] or [BACKEND]
        return _only([ARCHITECT] * full + data + code + [TESTER] + [CODE_REVIEWER] * full)
    if task_type == v.DOCUMENTATION:
        architect = [ARCHITECT] * (full and (heavy or concerns.architecture_docs))
        return _only(architect + [WRITER] + [CODE_REVIEWER] * full)
    if task_type == v.DATA_ANALYSIS:
        return _only(
            [DATA_ENGINEER] * concerns.data_engineering
            + [DATA_ANALYST]
            + [DATA_SCIENTIST] * concerns.machine_learning
            + [VISUALIZATION] * concerns.visualization
        )
    if task_type == v.TEST:
        return _only([TESTER] + [CODE_REVIEWER] * full)
    if task_type in (v.AUDIT, v.ASSESSMENT):
        return _only(_assessors(task_type, concerns) + [ARCHITECT] * full)
    if task_type == v.INFRASTRUCTURE:
        return _only(
            [ARCHITECT] * heavy + [DEVOPS] + [SRE] * ((full and concerns.runtime) or concerns.observability)
        )
    return _only([ARCHITECT, BACKEND, TESTER, CODE_REVIEWER])


def _assessors(task_type: str, concerns: Concerns) -> list[str]:
    roles: list[str] = []
    if concerns.security:
        roles.append(SECURITY_REVIEWER)
    if concerns.regulated:
        roles.append(AUDITOR)
    if concerns.performance or concerns.observability:
        roles.append(SRE)
    if concerns.infrastructure:
        roles.append(DEVOPS)
    if concerns.analytics and task_type == v.ASSESSMENT:
        roles.append(DATA_ANALYST)
    if concerns.quality or (task_type == v.AUDIT and not roles):
        roles.append(CODE_REVIEWER)
    if not roles:
        roles.append(ARCHITECT)
    return roles


def _only(roles: list[str]) -> list[str]:
    return list(dict.fromkeys(roles))


def resolve(
    role: str,
    stack: Stack,
    registry: Mapping[str, AgentInfo],
    *,
    frontend_only: bool = False,
    fallbacks: bool = True,
) -> Member | None:
    """The registry agent for a role: flavoured if the stack calls for it and it exists, else the base agent,
    else (when `fallbacks`) the agent of a covering role. None when nothing fits."""
    for flavor in flavors_for(role, stack, frontend_only=frontend_only):
        name = f"{role}--{flavor}"
        if name in registry:
            return Member(role, name)
    if role in registry:
        return Member(role, role)
    if fallbacks:
        for substitute in ROLE_FALLBACKS.get(role, ()):
            member = resolve(substitute, stack, registry, frontend_only=frontend_only, fallbacks=False)
            if member is not None:
                return Member(role, member.name)
    return None


def resolve_roles(
    roles: Sequence[str], stack: Stack, registry: Mapping[str, AgentInfo], *, frontend_only: bool = False
) -> list[Member]:
    members: list[Member] = []
    for role in roles:
        member = resolve(role, stack, registry, frontend_only=frontend_only and role == TESTER)
        if member is not None and member not in members:
            members.append(member)
    return members
