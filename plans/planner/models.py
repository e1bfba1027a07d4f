"""Plain data types shared by the planner: inputs, the plan itself and the planning error.

Everything here is a dataclass with no behaviour beyond small derived properties, so the service layer can
build inputs from database rows and store the output as JSON without knowing how the planner works.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RISK_LEVELS: tuple[str, ...] = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
BUDGET_TIERS: tuple[str, ...] = ("lean", "standard", "full")
COMPLEXITIES: tuple[str, ...] = ("light", "medium", "heavy")
DEFAULT_MODEL = "sonnet"


class PlanningError(Exception):
    """A request or plan dict the planner cannot accept.

    `field` names the offending input ("description", "task_type", "agents", "project_path") or, for plan
    dicts, the JSON path of the problem ("phases[1].steps[0].step_id"). `message` is a complete sentence meant
    for the API client (it is returned as the body of a 400).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def __repr__(self) -> str:
        return f"PlanningError(field={self.field!r}, message={self.message!r})"


@dataclass(frozen=True)
class AgentInfo:
    """One registry agent as the planner sees it (built by the service layer from the agent registry)."""

    name: str
    base_name: str
    flavor: str | None
    category: str
    model: str
    description: str = ""

    @classmethod
    def from_name(
        cls, name: str, *, category: str, model: str = DEFAULT_MODEL, description: str = ""
    ) -> AgentInfo:
        """Build an AgentInfo, deriving base name and flavour from `name` ("backend-engineer--python")."""
        base, separator, flavor = name.partition("--")
        return cls(
            name=name,
            base_name=base,
            flavor=(flavor.split("--")[0] or None) if separator else None,
            category=category,
            model=model,
            description=description,
        )


@dataclass(frozen=True)
class PastOutcome:
    """A finished execution of an earlier plan, used to learn rosters that shipped."""

    task_type: str
    outcome: str
    agents: tuple[str, ...]
    phase_names: tuple[str, ...]
    stack: str | None = None
    plan_id: str = ""


@dataclass(frozen=True)
class PlanRequest:
    """What a client asks for (the contract's CreatePlanRequest)."""

    description: str
    task_type: str | None = None
    agents: tuple[str, ...] | None = None
    project_path: str | None = None

    def __post_init__(self) -> None:
        # Callers often hold the agent list as a JSON list; keep the frozen value a tuple either way.
        if isinstance(self.agents, list):
            object.__setattr__(self, "agents", tuple(self.agents))


@dataclass(frozen=True)
class Stack:
    """What the planner knows about the target project's technology.

    `language` and `framework` describe the primary (backend or only) part; `frontend` is set for a full-stack
    project whose UI uses a different framework (python + react). Commands are the ones gates should run; they
    are None when nothing is known. `markers` are the project files the detection found (relative paths).
    """

    language: str | None = None
    framework: str | None = None
    test_command: str | None = None
    build_command: str | None = None
    markers: tuple[str, ...] = ()
    frontend: str | None = None
    source_dirs: tuple[str, ...] = ()
    test_dirs: tuple[str, ...] = ()
    frontend_dirs: tuple[str, ...] = ()
    infra: tuple[str, ...] = ()
    docs_command: str | None = None
    from_description: bool = False

    @property
    def label(self) -> str | None:
        """Short name stored on the plan: "python/django", "typescript/react", "python+react", or None."""
        if self.language is None:
            return None
        text = self.language
        if self.framework:
            text += f"/{self.framework}"
        if self.frontend and self.frontend != self.framework:
            text += f"+{self.frontend}"
        return text


@dataclass(frozen=True)
class Gate:
    """A check run after a phase's steps are done (the contract's PlanGateResponse)."""

    gate_type: str
    command: str = ""
    description: str = ""
    fail_on: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Step:
    """One agent dispatch (the contract's PlanStepResponse). `step_id` is "<phase_id>.<n>", both from 0."""

    step_id: str
    agent_name: str
    task_description: str
    model: str = DEFAULT_MODEL
    depends_on: list[str] = field(default_factory=list)
    deliverables: list[str] = field(default_factory=list)
    allowed_paths: list[str] = field(default_factory=list)
    blocked_paths: list[str] = field(default_factory=list)
    context_files: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Phase:
    """Steps that run together; phases run strictly in order. Approval, if required, follows the last step."""

    phase_id: int
    name: str
    steps: list[Step]
    gate: Gate | None = None
    requires_approval: bool = False


@dataclass(frozen=True)
class Plan:
    """A complete plan: the contract's PlanResponse fields plus task_type, stack and complexity.

    Instances are immutable; derive an edited plan with `dataclasses.replace`.
    """

    plan_id: str
    task_summary: str
    task_type: str
    risk_level: str
    budget_tier: str
    execution_mode: str
    git_strategy: str
    phases: list[Phase]
    pattern_source: str | None
    created_at: str
    stack: str | None = None
    complexity: str = "medium"

    @property
    def total_steps(self) -> int:
        return sum(len(phase.steps) for phase in self.phases)

    @property
    def agents(self) -> list[str]:
        """Agent names in order of first use, each once."""
        seen: dict[str, None] = {}
        for phase in self.phases:
            for step in phase.steps:
                seen.setdefault(step.agent_name, None)
        return list(seen)
