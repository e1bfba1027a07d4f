"""Baton's deterministic, rule-based planner: a pure-Python core (standard library only).

It takes plain data (a PlanRequest, the agent registry as AgentInfo values, past outcomes) and returns a Plan
dataclass. It never touches the ORM, HTTP, settings or the clock; the service layer translates rows to these
types and stores `plan_to_dict(plan)`.
"""

from __future__ import annotations

from .classify import normalise_task_type
from .models import (
    BUDGET_TIERS,
    COMPLEXITIES,
    RISK_LEVELS,
    AgentInfo,
    Gate,
    PastOutcome,
    Phase,
    Plan,
    PlanningError,
    PlanRequest,
    Stack,
    Step,
)
from .patterns import LEARNED_PATTERN_MIN_SHIPS
from .planner import make_plan
from .risk import RiskAssessment, assess_risk
from .serialize import plan_from_dict, plan_to_dict
from .stack import detect_stack, stack_from_description
from .vocabulary import TASK_TYPES

__all__ = [
    "BUDGET_TIERS",
    "COMPLEXITIES",
    "LEARNED_PATTERN_MIN_SHIPS",
    "RISK_LEVELS",
    "TASK_TYPES",
    "AgentInfo",
    "Gate",
    "PastOutcome",
    "Phase",
    "Plan",
    "PlanRequest",
    "PlanningError",
    "RiskAssessment",
    "Stack",
    "Step",
    "assess_risk",
    "detect_stack",
    "make_plan",
    "normalise_task_type",
    "plan_from_dict",
    "plan_to_dict",
    "stack_from_description",
]
