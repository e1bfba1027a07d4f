"""`make_plan`: from a request, the agent registry and past outcomes to a complete, deterministic plan.

Order of decisions (each step only reads what earlier steps produced):

1. validate the request (description, task type, explicit agents);
2. classify: task type, complexity, investigative wording, concerns; detect the stack;
3. risk from the description;
4. roster: explicit agents, else a learned pattern, else the type's roles for this stack; then the
   reviewers and auditor that the risk level requires;
5. phases: the type's template (short for light, low-risk work) filled with the roster; an Audit phase at
   CRITICAL;
6. approvals, numbering from 0, step texts, gates; budget and git strategy.

Nothing reads the clock, randomness or unordered collections, so the same input always gives the same plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from . import roster as r
from . import vocabulary as v
from .classify import (
    Concerns,
    classify_complexity,
    classify_task_type,
    detect_concerns,
    is_investigative,
    normalise_task_type,
)
from .gates import gate_for
from .layout import (
    AUDIT,
    PLANNING_KINDS,
    PhaseDraft,
    PhaseSpec,
    fill,
    place_leftovers,
    template_for,
    template_from_names,
)
from .models import (
    DEFAULT_MODEL,
    AgentInfo,
    PastOutcome,
    Phase,
    Plan,
    PlanningError,
    PlanRequest,
    Stack,
    Step,
)
from .patterns import LearnedPattern, find_pattern
from .risk import CRITICAL, HIGH, LOW, MANY_AGENTS, MEDIUM, assess_risk, raise_to
from .stack import detect_stack, stack_from_description
from .steps import (
    TaskContext,
    allowed_paths,
    blocked_paths,
    context_files,
    deliverables,
    describe,
    focus_clause,
    make_context,
)
from .text import Doc, headline, mentioned_paths

EXECUTION_MODE = "phased"
GIT_COMMIT_PER_AGENT = "commit-per-agent"
GIT_BRANCH_PER_PHASE = "branch-per-phase"
#: Roles whose steps get a "Focus on: <clause>" hint when several of them share a phase.
_FOCUSED_ROLES = frozenset({*r.IMPLEMENTERS, r.DEVOPS, r.SRE})


def make_plan(
    request: PlanRequest,
    registry: Sequence[AgentInfo],
    history: Sequence[PastOutcome] = (),
    *,
    plan_id: str,
    created_at: str,
    stack: Stack | None = None,
) -> Plan:
    """Build the plan for `request` using only agents in `registry`.

    `stack` may be passed when the caller already detected it; otherwise the planner scans
    `request.project_path` (if any) and falls back to technology names in the description.
    Raises PlanningError for an invalid request.
    """
    description = _check_description(request.description)
    hinted_type = normalise_task_type(request.task_type)
    agents_by_name = _registry_map(registry)
    explicit = _check_agents(request.agents, agents_by_name)

    doc = Doc(description)
    task_type = hinted_type or classify_task_type(doc)
    complexity = classify_complexity(doc)
    investigative = is_investigative(doc)
    concerns = detect_concerns(doc)
    stack = _resolve_stack(stack, request.project_path, description, doc)
    risk = assess_risk(description, task_type=task_type, doc=doc).level

    pattern: LearnedPattern | None = None
    if explicit is None:
        pattern = find_pattern(
            history, task_type=task_type, language=stack.language, registry_names=agents_by_name
        )
    light = complexity == "light" and risk in (LOW, MEDIUM) and explicit is None and pattern is None

    if explicit is not None:
        members = [r.Member(r.role_of(agents_by_name[name]), name) for name in explicit]
    elif pattern is not None:
        members = [r.Member(r.role_of(agents_by_name[name]), name) for name in pattern.agents]
    else:
        roles = r.default_roles(
            task_type, light=light, heavy=complexity == "heavy", concerns=concerns, stack=stack
        )
        frontend_only = [role for role in roles if role in r.IMPLEMENTERS] == [r.FRONTEND]
        members = r.resolve_roles(roles, stack, agents_by_name, frontend_only=frontend_only)
    members = _add_safety_members(members, task_type, risk, concerns, stack, agents_by_name)

    if pattern is not None and pattern.phase_names:
        specs = list(template_from_names(pattern.phase_names, task_type))
    else:
        keep_investigation = task_type == v.BUG_FIX and investigative
        specs = list(template_for(task_type, light=light and not keep_investigation))
    drafts = _lay_out(specs, members, risk)
    if not drafts:
        raise PlanningError(
            "agents",
            "no agent in the registry can carry out this task; register at least an implementer or pass "
            "agents",
        )

    agent_count = len({step.member.name for draft in drafts for step in draft.steps})
    if agent_count > MANY_AGENTS:
        risk = raise_to(risk, MEDIUM)
    _mark_approvals(drafts, risk)

    task_headline = _task_headline(description)
    ctx = make_context(
        headline=task_headline,
        doc=Doc(task_headline),
        task_type=task_type,
        stack=stack,
        concerns=concerns,
        mentioned=mentioned_paths(description),
        phase_kinds={draft.kind for draft in drafts},
        description_doc=doc,
    )
    phases = [_build_phase(index, drafts, ctx, agents_by_name) for index in range(len(drafts))]

    if risk == CRITICAL or agent_count > MANY_AGENTS:
        budget = "full"
    elif agent_count <= 2:
        budget = "lean"
    else:
        budget = "standard"
    return Plan(
        plan_id=plan_id,
        task_summary=description,
        task_type=task_type,
        risk_level=risk,
        budget_tier=budget,
        execution_mode=EXECUTION_MODE,
        git_strategy=GIT_BRANCH_PER_PHASE if risk in (HIGH, CRITICAL) else GIT_COMMIT_PER_AGENT,
        phases=phases,
        pattern_source=pattern.source if pattern else None,
        created_at=created_at,
        stack=stack.label,
        complexity=complexity,
    )


# --- Validation ---------------------------------------------------------------------------------------------


def _check_description(description: object) -> str:
    if not isinstance(description, str):
        raise PlanningError("description", "description must be a string")
    text = description.strip()
    if not text:
        raise PlanningError("description", "description must not be empty or only whitespace")
    return text


def _registry_map(registry: Sequence[AgentInfo]) -> dict[str, AgentInfo]:
    agents: dict[str, AgentInfo] = {}
    for agent in registry:
        agents.setdefault(agent.name, agent)
    return agents


def _check_agents(agents: object, registry: Mapping[str, AgentInfo]) -> list[str] | None:
    if agents is None:
        return None
    if isinstance(agents, str) or not isinstance(agents, Sequence):
        raise PlanningError("agents", "agents must be a list of agent names")
    if not agents:
        raise PlanningError("agents", "agents must not be an empty list; omit it to let the planner choose")
    names: list[str] = []
    for name in agents:
        if not isinstance(name, str) or not name.strip():
            raise PlanningError("agents", "every entry in agents must be a non-empty agent name")
        names.append(name.strip())
    unknown = [name for name in dict.fromkeys(names) if name not in registry]
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        raise PlanningError("agents", f"unknown agent(s), not in the registry: {listed}")
    return list(dict.fromkeys(names))


# --- Stack --------------------------------------------------------------------------------------------------


def _resolve_stack(stack: Stack | None, project_path: str | None, description: str, doc: Doc) -> Stack:
    if stack is None:
        stack = detect_stack(project_path) if project_path else Stack()
    hint = stack_from_description(description, doc)
    if stack.language is not None:
        if stack.frontend is None and hint.frontend is not None:
            # The files show no UI framework but the task names one (a separate UI repo, or not yet added).
            return replace(
                stack, frontend=hint.frontend, frontend_dirs=stack.frontend_dirs or hint.frontend_dirs
            )
        return stack
    if hint.language is None and not hint.infra:
        return stack
    return Stack(
        language=hint.language,
        framework=hint.framework,
        test_command=hint.test_command,
        build_command=hint.build_command,
        markers=stack.markers,
        frontend=hint.frontend,
        source_dirs=hint.source_dirs,
        test_dirs=hint.test_dirs,
        frontend_dirs=hint.frontend_dirs,
        infra=stack.infra or hint.infra,
        docs_command=stack.docs_command,
        from_description=True,
    )


# --- Roster and layout --------------------------------------------------------------------------------------


def _add_safety_members(
    members: list[r.Member],
    task_type: str,
    risk: str,
    concerns: Concerns,
    stack: Stack,
    registry: Mapping[str, AgentInfo],
) -> list[r.Member]:
    """Add the members the risk level requires, even to explicit or learned rosters.

    HIGH+ code-changing work gets a code reviewer (and a security reviewer when the topic is sensitive);
    CRITICAL work gets an auditor, and a domain expert when regulated data is involved.
    """
    wanted: list[str] = []
    if risk in (HIGH, CRITICAL) and task_type not in v.READ_ONLY_TYPES:
        wanted.append(r.CODE_REVIEWER)
        if concerns.security:
            wanted.append(r.SECURITY_REVIEWER)
    if risk == CRITICAL:
        wanted.append(r.AUDITOR)
        if concerns.regulated:
            wanted.append(r.SME)
    result = list(members)
    for role in wanted:
        if any(member.role == role for member in result):
            continue
        member = r.resolve(role, stack, registry)
        if member is not None and member not in result:
            result.append(member)
    return result


def _lay_out(specs: list[PhaseSpec], members: list[r.Member], risk: str) -> list[PhaseDraft]:
    if risk == CRITICAL and not any(spec.kind in ("assess", "audit") for spec in specs):
        specs = [*specs, AUDIT]
    drafts, leftovers = fill(specs, members)
    place_leftovers(drafts, leftovers)
    return [draft for draft in drafts if draft.steps]


def _mark_approvals(drafts: list[PhaseDraft], risk: str) -> None:
    """HIGH+: a human approves the first planning phase before work starts; CRITICAL: the last one too."""
    if risk in (HIGH, CRITICAL):
        for draft in drafts[:-1]:
            if draft.kind in PLANNING_KINDS:
                draft.requires_approval = True
                break
    if risk == CRITICAL:
        drafts[-1].requires_approval = True


def _task_headline(description: str) -> str:
    """The description's first sentence without leading filler ("We need to add X" -> "add X")."""
    first = headline(description)
    words = first.split(" ")
    index = 0
    while index < min(len(words) - 2, 5) and words[index].lower().strip(",.:;!") in v.LEAD_FILLER:
        index += 1
    if index > 0 and words[index].lower().strip(",.:;!") in v.LEADING_VERBS:
        return " ".join(words[index:])
    return first


# --- Phases and steps ---------------------------------------------------------------------------------------


def _build_phase(
    index: int, drafts: list[PhaseDraft], ctx: TaskContext, registry: Mapping[str, AgentInfo]
) -> Phase:
    draft = drafts[index]
    focused_roles = {step.member.role for step in draft.steps if step.member.role in _FOCUSED_ROLES}
    ids_by_action: dict[str, list[str]] = {}
    steps: list[Step] = []
    blocked = blocked_paths(ctx)
    for position, step_draft in enumerate(draft.steps):
        member = step_draft.member
        step_id = f"{index}.{position}"
        text = describe(step_draft.action, member.role, member.name, draft.name, ctx)
        if len(focused_roles) >= 2 and member.role in _FOCUSED_ROLES:
            clause = focus_clause(member.role, ctx, focused_roles)
            if clause:
                text += f" Focus on: {clause}."
        if index > 0:
            text += f" Builds on phase {index - 1} ({drafts[index - 1].name})."
        depends_on = list(
            dict.fromkeys(dep for action in step_draft.after for dep in ids_by_action.get(action, ()))
        )
        steps.append(
            Step(
                step_id=step_id,
                agent_name=member.name,
                task_description=text,
                model=registry[member.name].model or DEFAULT_MODEL,
                depends_on=depends_on,
                deliverables=deliverables(step_draft.action, member.role, ctx),
                allowed_paths=allowed_paths(member.role, step_draft.action, ctx),
                blocked_paths=list(blocked),
                context_files=context_files(member.role, ctx),
            )
        )
        ids_by_action.setdefault(step_draft.action, []).append(step_id)
    gate = gate_for((step.action for step in draft.steps), ctx.stack, infra_kind=ctx.infra_kind)
    return Phase(
        phase_id=index,
        name=draft.name,
        steps=steps,
        gate=gate,
        requires_approval=draft.requires_approval,
    )
