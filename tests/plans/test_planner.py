"""The rule-based planner as plain data in, plain data out: no database, no Django.

The table below is the planner's behaviour contract: for each description (and project stack) the task type,
risk level, exact roster and the gate command of every phase ("-" = no gate, "review" = a manual review gate).
"""

from __future__ import annotations

import ast
import dataclasses
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from plans import planner
from plans.planner import (
    LEARNED_PATTERN_MIN_SHIPS,
    AgentInfo,
    PastOutcome,
    Plan,
    PlanningError,
    PlanRequest,
    Stack,
    assess_risk,
    make_plan,
    normalise_task_type,
    plan_from_dict,
    plan_to_dict,
)
from tests.roster import ROSTER_CATEGORIES

#: The test roster: agent name -> registry category.
ROSTER = ROSTER_CATEGORIES
OPUS = {
    "architect",
    "security-reviewer",
    "auditor",
    "data-scientist",
    "orchestrator",
    "subject-matter-expert",
}
BANNED_ROOTS = {"django", "rest_framework", "channels", "celery", "requests"}
PLANNER_DIR = Path(planner.__file__).parent


def build_registry(names: list[str] | None = None) -> list[AgentInfo]:
    return [
        AgentInfo.from_name(
            name,
            category=ROSTER[name],
            model="opus" if name in OPUS else "sonnet",
            description=f"The {name} agent.",
        )
        for name in (names if names is not None else ROSTER)
    ]


@pytest.fixture
def roster_registry() -> list[AgentInfo]:
    return build_registry()


STACKS: dict[str | None, Stack | None] = {
    "django": Stack(
        language="python",
        framework="django",
        test_command="pytest",
        build_command="ruff check . && python manage.py check",
        markers=("README.md", "manage.py", "pyproject.toml"),
        source_dirs=("shop/",),
        test_dirs=("tests/",),
    ),
    "react": Stack(
        language="typescript",
        framework="react",
        frontend="react",
        test_command="npm test",
        build_command="npm run build",
        markers=("package.json", "tsconfig.json"),
        source_dirs=("src/",),
        test_dirs=("tests/",),
        frontend_dirs=("src/",),
    ),
    "node": Stack(
        language="typescript",
        framework="express",
        test_command="npm test",
        build_command="npm run build",
        markers=("package.json", "tsconfig.json"),
        source_dirs=("src/",),
        test_dirs=("tests/",),
    ),
    "go": Stack(
        language="go",
        test_command="go test ./...",
        build_command="go build ./...",
        markers=("go.mod",),
        source_dirs=("cmd/", "internal/"),
        test_dirs=("**/*_test.go",),
    ),
    "rust": Stack(
        language="rust",
        test_command="cargo test",
        build_command="cargo build",
        markers=("Cargo.toml",),
        source_dirs=("src/",),
        test_dirs=("tests/",),
    ),
    "java": Stack(
        language="java",
        framework="spring",
        test_command="mvn test",
        build_command="mvn compile",
        markers=("pom.xml",),
        source_dirs=("src/main/",),
        test_dirs=("src/test/",),
    ),
    "dotnet": Stack(
        language="csharp",
        framework="dotnet",
        test_command="dotnet test",
        build_command="dotnet build",
        markers=("App.sln",),
        source_dirs=("src/",),
        test_dirs=("tests/",),
    ),
    "vue": Stack(
        language="javascript",
        framework="vue",
        frontend="vue",
        test_command="npm test",
        build_command="npm run build",
        markers=("package.json",),
        source_dirs=("src/",),
        test_dirs=("tests/",),
        frontend_dirs=("src/",),
    ),
    # No project: the planner falls back to technology names in the description, else knows nothing.
    None: None,
}


@dataclass(frozen=True)
class Case:
    description: str
    stack: str | None
    task_type: str | None
    expected_type: str
    risk: str
    agents: list[str]
    gates: list[str]


def plan_for(
    description: str,
    registry: list[AgentInfo],
    *,
    stack: str | None = None,
    task_type: str | None = None,
    agents: tuple[str, ...] | None = None,
    history: tuple[PastOutcome, ...] = (),
) -> Plan:
    request = PlanRequest(description=description, task_type=task_type, agents=agents)
    return make_plan(
        request,
        registry,
        history,
        plan_id="task-test",
        created_at="2026-01-01T00:00:00+00:00",
        stack=STACKS[stack],
    )


def gate_summary(plan: Plan) -> list[str]:
    return [
        "-" if phase.gate is None else "review" if phase.gate.gate_type == "review" else phase.gate.command
        for phase in plan.phases
    ]


CASES = [
    Case(
        "Add a CSV export endpoint for invoices",
        "django",
        None,
        "new-feature",
        "LOW",
        ["architect", "backend-engineer--python", "test-engineer--python", "code-reviewer"],
        ["-", "ruff check . && python manage.py check", "pytest", "-"],
    ),
    Case(
        "Add pagination to the orders API",
        "django",
        None,
        "new-feature",
        "LOW",
        ["architect", "backend-engineer--python", "test-engineer--python", "code-reviewer"],
        ["-", "ruff check . && python manage.py check", "pytest", "-"],
    ),
    Case(
        "Build a notifications center with a bell icon dropdown in the React app and a websocket endpoint",
        "django",
        None,
        "new-feature",
        "LOW",
        [
            "architect",
            "backend-engineer--python",
            "frontend-engineer--react",
            "test-engineer--python",
            "code-reviewer",
        ],
        ["-", "ruff check . && python manage.py check", "pytest", "-"],
    ),
    Case(
        "Add a dark-mode toggle to the settings page",
        "react",
        None,
        "new-feature",
        "LOW",
        ["frontend-engineer--react", "test-engineer--javascript"],
        ["npm run build", "npm test"],
    ),
    Case(
        "Implement OAuth login with Google",
        "django",
        None,
        "new-feature",
        "HIGH",
        [
            "architect",
            "backend-engineer--python",
            "test-engineer--python",
            "code-reviewer",
            "security-reviewer",
        ],
        ["-", "ruff check . && python manage.py check", "pytest", "-"],
    ),
    Case(
        "Add Stripe webhooks to update subscription billing status",
        "django",
        None,
        "new-feature",
        "HIGH",
        [
            "architect",
            "backend-engineer--python",
            "test-engineer--python",
            "code-reviewer",
            "security-reviewer",
        ],
        ["-", "ruff check . && python manage.py check", "pytest", "-"],
    ),
    Case(
        "Create an ETL pipeline that ingests Shopify orders into the warehouse nightly",
        None,
        None,
        "new-feature",
        "MEDIUM",
        ["architect", "data-engineer", "test-engineer", "code-reviewer"],
        ["-", "review", "review", "-"],
    ),
    Case(
        "Fix the login bug where users get a 500 error",
        "django",
        "bugfix",
        "bug-fix",
        "HIGH",
        ["backend-engineer--python", "test-engineer--python", "code-reviewer", "security-reviewer"],
        ["-", "pytest", "pytest"],
    ),
    Case(
        "Fix typo in the signup confirmation email",
        "django",
        None,
        "bug-fix",
        "LOW",
        ["backend-engineer--python", "test-engineer--python"],
        ["pytest", "pytest"],
    ),
    Case(
        "The checkout page crashes on Safari when the cart is empty",
        "react",
        None,
        "bug-fix",
        "LOW",
        ["frontend-engineer--react", "test-engineer--javascript"],
        ["-", "npm test", "npm test"],
    ),
    Case(
        "Debug why the nightly report job is flaky and intermittently times out",
        "django",
        None,
        "bug-fix",
        "LOW",
        ["backend-engineer--python", "test-engineer--python"],
        ["-", "pytest", "pytest"],
    ),
    Case(
        "Fix XSS vulnerability in comment rendering",
        "django",
        None,
        "bug-fix",
        "HIGH",
        ["backend-engineer--python", "test-engineer--python", "code-reviewer", "security-reviewer"],
        ["-", "pytest", "pytest"],
    ),
    Case(
        "Refactor the pricing module to extract discount rules into a separate service",
        "django",
        None,
        "refactor",
        "LOW",
        ["architect", "test-engineer--python", "backend-engineer--python", "code-reviewer"],
        ["pytest", "ruff check . && python manage.py check", "pytest"],
    ),
    Case(
        "Rename the getUser helper to fetchUser across all modules",
        "react",
        None,
        "refactor",
        "LOW",
        ["architect", "test-engineer--javascript", "frontend-engineer--react", "code-reviewer"],
        ["npm test", "npm run build", "npm test"],
    ),
    Case(
        "Clean up dead code and simplify the order state machine",
        "go",
        None,
        "refactor",
        "LOW",
        ["architect", "test-engineer", "backend-engineer--go", "code-reviewer"],
        ["go test ./...", "go build ./...", "go test ./..."],
    ),
    Case(
        "Migrate the orders table to the new schema and drop the legacy price column in production",
        "django",
        None,
        "migration",
        "CRITICAL",
        [
            "architect",
            "data-engineer",
            "backend-engineer--python",
            "devops-engineer",
            "test-engineer--python",
            "code-reviewer",
            "auditor",
        ],
        ["-", "ruff check . && python manage.py check", "pytest", "-"],
    ),
    Case(
        "Upgrade Django from 4.2 to 5.2",
        "django",
        None,
        "migration",
        "LOW",
        ["architect", "backend-engineer--python", "test-engineer--python", "code-reviewer"],
        ["-", "ruff check . && python manage.py check", "pytest"],
    ),
    Case(
        "Migrate payment records to the new ledger schema",
        "django",
        None,
        "migration",
        "CRITICAL",
        [
            "architect",
            "data-engineer",
            "backend-engineer--python",
            "test-engineer--python",
            "code-reviewer",
            "security-reviewer",
            "auditor",
        ],
        ["-", "ruff check . && python manage.py check", "pytest", "-"],
    ),
    Case(
        "Bump the lodash dependency to the latest version",
        "react",
        None,
        "migration",
        "LOW",
        ["frontend-engineer--react", "test-engineer--javascript"],
        ["-", "npm run build", "npm test"],
    ),
    Case(
        "Document the public REST API in the README",
        "django",
        "docs",
        "documentation",
        "LOW",
        ["technical-writer", "code-reviewer"],
        ["-", "review", "-"],
    ),
    Case(
        "Write an ADR describing the event sourcing architecture",
        None,
        None,
        "documentation",
        "LOW",
        ["architect", "technical-writer", "code-reviewer"],
        ["-", "review", "-"],
    ),
    Case(
        "Fix typos in the contributing guide",
        None,
        None,
        "documentation",
        "LOW",
        ["technical-writer"],
        ["review"],
    ),
    Case(
        "Analyze checkout funnel conversion by cohort and report weekly KPIs",
        None,
        None,
        "data-analysis",
        "LOW",
        ["data-analyst"],
        ["-", "review", "review"],
    ),
    Case(
        "Train a churn prediction model on last year's subscription data and visualize the drivers",
        None,
        None,
        "data-analysis",
        "LOW",
        ["data-analyst", "data-scientist", "visualization-expert"],
        ["-", "review", "review"],
    ),
    Case(
        "Write unit tests for the billing module",
        "django",
        None,
        "test",
        "MEDIUM",
        ["test-engineer--python", "code-reviewer"],
        ["-", "pytest", "pytest"],
    ),
    Case(
        "Add end-to-end tests with Playwright for the signup flow",
        "react",
        None,
        "test",
        "LOW",
        ["test-engineer--javascript", "code-reviewer"],
        ["-", "npm test", "npm test"],
    ),
    Case(
        "Increase test coverage of the scheduler package",
        "go",
        None,
        "test",
        "LOW",
        ["test-engineer", "code-reviewer"],
        ["-", "go test ./...", "go test ./..."],
    ),
    Case(
        "Audit the codebase for code smells and dead code",
        "django",
        None,
        "audit",
        "LOW",
        ["code-reviewer", "architect"],
        ["-", "review"],
    ),
    Case(
        "Security audit of the authentication service",
        "django",
        None,
        "audit",
        "MEDIUM",
        ["security-reviewer", "architect"],
        ["-", "review"],
    ),
    Case(
        "Audit GDPR compliance of how we store user data",
        "django",
        None,
        "audit",
        "MEDIUM",
        ["auditor", "architect"],
        ["-", "review"],
    ),
    Case(
        "Assess whether the monolith can handle 10x traffic",
        "django",
        None,
        "assessment",
        "LOW",
        ["site-reliability-engineer", "architect"],
        ["-", "review"],
    ),
    Case(
        "Deploy the billing service to Kubernetes with Helm",
        None,
        None,
        "infrastructure",
        "HIGH",
        ["devops-engineer", "site-reliability-engineer", "code-reviewer", "security-reviewer"],
        ["-", "helm lint .", "review"],
    ),
    Case(
        "Set up a CI pipeline with GitHub Actions that runs tests on every pull request",
        "react",
        None,
        "infrastructure",
        "LOW",
        ["devops-engineer"],
        ["-", "review", "npm test"],
    ),
    Case(
        "Add Prometheus alerts for API latency",
        "go",
        None,
        "infrastructure",
        "LOW",
        ["devops-engineer", "site-reliability-engineer"],
        ["-", "review", "go test ./..."],
    ),
    Case(
        "Provision a new staging environment with Terraform",
        None,
        None,
        "infrastructure",
        "HIGH",
        ["devops-engineer", "site-reliability-engineer", "code-reviewer"],
        ["-", "terraform fmt -check -recursive && terraform validate", "review"],
    ),
    Case(
        "Rotate the database credentials in production",
        "django",
        None,
        "infrastructure",
        "CRITICAL",
        ["devops-engineer", "site-reliability-engineer", "code-reviewer", "security-reviewer", "auditor"],
        ["-", "review", "pytest", "-"],
    ),
    Case(
        "Delete inactive user accounts from the production database",
        "django",
        None,
        "migration",
        "CRITICAL",
        [
            "architect",
            "data-engineer",
            "backend-engineer--python",
            "devops-engineer",
            "test-engineer--python",
            "code-reviewer",
            "auditor",
        ],
        ["-", "ruff check . && python manage.py check", "pytest", "-"],
    ),
    Case(
        "Export all customer PII to a CSV for the marketing team",
        "django",
        None,
        "new-feature",
        "CRITICAL",
        [
            "architect",
            "subject-matter-expert",
            "backend-engineer--python",
            "test-engineer--python",
            "code-reviewer",
            "auditor",
        ],
        ["-", "ruff check . && python manage.py check", "pytest", "-", "-"],
    ),
    Case(
        "Store patient records with GDPR and HIPAA compliance",
        "django",
        None,
        "new-feature",
        "CRITICAL",
        [
            "architect",
            "subject-matter-expert",
            "backend-engineer--python",
            "test-engineer--python",
            "code-reviewer",
            "auditor",
        ],
        ["-", "ruff check . && python manage.py check", "pytest", "-", "-"],
    ),
    Case(
        "Show the author name on blog posts",
        "django",
        None,
        "new-feature",
        "LOW",
        ["architect", "backend-engineer--python", "test-engineer--python", "code-reviewer"],
        ["-", "ruff check . && python manage.py check", "pytest", "-"],
    ),
    Case(
        "Add a dropdown to filter the stable releases table",
        "react",
        None,
        "new-feature",
        "LOW",
        ["architect", "frontend-engineer--react", "test-engineer--javascript", "code-reviewer"],
        ["-", "npm run build", "npm test", "-"],
    ),
    Case(
        "Add user authentication with JWT tokens",
        None,
        None,
        "new-feature",
        "HIGH",
        ["architect", "backend-engineer", "test-engineer", "code-reviewer", "security-reviewer"],
        ["-", "review", "review", "-"],
    ),
    Case(
        "Add a streaming parser for the config crate",
        "rust",
        None,
        "new-feature",
        "LOW",
        ["architect", "backend-engineer--rust", "test-engineer", "code-reviewer"],
        ["-", "cargo build", "cargo test", "-"],
    ),
    Case(
        "Fix the NullPointerException in the invoice PDF generator",
        "java",
        None,
        "bug-fix",
        "LOW",
        ["backend-engineer--java", "test-engineer"],
        ["-", "mvn test", "mvn test"],
    ),
    Case(
        "Add a customer search page with filters",
        "dotnet",
        None,
        "new-feature",
        "LOW",
        ["architect", "frontend-engineer--dotnet", "test-engineer", "code-reviewer"],
        ["-", "dotnet build", "dotnet test", "-"],
    ),
    Case(
        "Add form validation to the checkout wizard",
        "vue",
        None,
        "new-feature",
        "LOW",
        ["architect", "frontend-engineer--vue", "test-engineer--javascript", "code-reviewer"],
        ["-", "npm run build", "npm test", "-"],
    ),
    Case(
        "Add rate limiting middleware to the public API",
        "node",
        None,
        "new-feature",
        "MEDIUM",
        ["architect", "backend-engineer--node", "test-engineer--javascript", "code-reviewer"],
        ["-", "npm run build", "npm test", "-"],
    ),
    Case(
        "Build a Django admin action to resend welcome emails",
        None,
        None,
        "new-feature",
        "LOW",
        ["architect", "backend-engineer--python", "test-engineer--python", "code-reviewer"],
        ["-", "python manage.py check", "pytest", "-"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.description[:48] for case in CASES])
def test_table(case: Case, roster_registry):
    plan = plan_for(case.description, roster_registry, stack=case.stack, task_type=case.task_type)

    assert plan.task_type == case.expected_type
    assert plan.risk_level == case.risk
    assert plan.agents == case.agents
    assert gate_summary(plan) == case.gates


def test_table_is_varied():
    assert len(CASES) >= 35
    assert {case.expected_type for case in CASES} >= {
        "new-feature", "bug-fix", "refactor", "migration", "documentation", "data-analysis", "test", "audit",
        "assessment", "infrastructure",
    }  # fmt: skip
    assert {case.risk for case in CASES} == {"LOW", "MEDIUM", "HIGH", "CRITICAL"}


@pytest.mark.parametrize("case", CASES, ids=[case.description[:48] for case in CASES])
def test_plan_invariants(case: Case, roster_registry):
    plan = plan_for(case.description, roster_registry, stack=case.stack, task_type=case.task_type)
    models = {agent.name: agent.model for agent in roster_registry}

    assert [phase.phase_id for phase in plan.phases] == list(range(len(plan.phases)))
    seen_in_phase: list[str] = []
    for phase in plan.phases:
        assert phase.steps, phase.name
        seen_in_phase = []
        for index, step in enumerate(phase.steps):
            assert step.step_id == f"{phase.phase_id}.{index}"
            assert step.agent_name in models
            assert step.model == models[step.agent_name]
            # Dependencies only point backwards inside the phase; phases themselves run in order.
            assert set(step.depends_on) <= set(seen_in_phase)
            if index == 0:
                assert step.depends_on == []
            assert step.task_description
            assert step.task_description != plan.task_summary
            assert step.deliverables
            assert {".env", "secrets/", ".git/"} <= set(step.blocked_paths)
            seen_in_phase.append(step.step_id)
    assert plan.total_steps == sum(len(phase.steps) for phase in plan.phases)
    assert plan.agents == list(dict.fromkeys(s.agent_name for p in plan.phases for s in p.steps))
    assert plan.execution_mode == "phased"
    assert plan.git_strategy == (
        "branch-per-phase" if plan.risk_level in ("HIGH", "CRITICAL") else "commit-per-agent"
    )
    count = len(plan.agents)
    expected_budget = (
        "full" if plan.risk_level == "CRITICAL" or count > 5 else "lean" if count <= 2 else "standard"
    )
    assert plan.budget_tier == expected_budget
    assert plan.phases[-1].requires_approval == (plan.risk_level == "CRITICAL")
    if plan.risk_level == "CRITICAL":
        assert plan.phases[-1].name == "Audit" or any(p.name == "Assess" for p in plan.phases)
    if plan.risk_level in ("HIGH", "CRITICAL") and len(plan.phases) > 1:
        assert plan.phases[0].requires_approval
    if plan.risk_level in ("LOW", "MEDIUM"):
        assert not any(phase.requires_approval for phase in plan.phases)
    assert plan_from_dict(plan_to_dict(plan)) == plan


# --- Risk signals: word starts, not substrings --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("Show the author name on blog posts", "LOW"),
        ("List books by authority and authorship", "LOW"),
        ("Add authentication to the admin area", "HIGH"),
        ("Check the Authorization header on every request", "HIGH"),
        ("Support OAuth2 sign-in", "HIGH"),
        ("Add a dropdown to the settings form", "LOW"),
        ("Sort the stable releases table", "LOW"),
        ("Drop table legacy_sessions", "CRITICAL"),
        ("Delete stale sessions from the production database", "CRITICAL"),
        ("Delete the unused production feature flag", "HIGH"),
        ("Migrate invoices to the new payments ledger", "CRITICAL"),
        ("Rotate the API keys in production", "CRITICAL"),
        ("Rotate the API keys on staging", "HIGH"),
        ("Export customer PII to the analytics vendor", "CRITICAL"),
        ("Store patient records with GDPR and HIPAA compliance", "CRITICAL"),
        ("Add a database index to speed up search", "MEDIUM"),
        ("Tune the Postgres autovacuum settings", "MEDIUM"),
        ("Write a bash script that archives old logs", "MEDIUM"),
        ("Purge expired rows from the audit table", "MEDIUM"),
        ("Version the public API under /v2", "MEDIUM"),
        ("Add a tooltip to the save button", "LOW"),
        ("Fix the SQL injection vulnerability in search", "HIGH"),
        ("Deploy the worker to Kubernetes", "HIGH"),
        ("Manage Terraform state for the VPC", "HIGH"),
        ("Encrypt secrets at rest", "HIGH"),
    ],
)
def test_risk_signals(text, level):
    assert assess_risk(text).level == level


def test_read_only_work_is_one_level_lower():
    assert assess_risk("Audit the authentication service", task_type="audit").level == "MEDIUM"
    assert assess_risk("Audit the authentication service", task_type="new-feature").level == "HIGH"
    # CRITICAL combinations are never lowered.
    assert assess_risk("Report on exporting patient records", task_type="data-analysis").level == "CRITICAL"


def test_risk_reasons_name_the_signals():
    reasons = assess_risk("Add OAuth login and deploy it").reasons
    assert any("authentication" in reason for reason in reasons)
    assert any("deployment" in reason for reason in reasons)


def test_long_specification_does_not_combine_words_from_different_sentences(roster_registry):
    text = (
        "Add a weekly digest email for team admins. "
        "The digest lists the projects that moved to production this week. "
        "Users can delete a draft digest before it is sent."
    )
    assert assess_risk(text).level == "HIGH"  # production, but no deletion of production data


def test_many_agents_raise_risk_to_medium(roster_registry):
    agents = ("architect", "backend-engineer--python", "frontend-engineer--react", "test-engineer--python",
              "code-reviewer", "technical-writer")  # fmt: skip
    plan = plan_for("Add a profile page", roster_registry, stack="django", agents=agents)
    assert len(plan.agents) == 6
    assert plan.risk_level == "MEDIUM"
    assert plan.budget_tier == "full"


# --- Task types ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("feature", "new-feature"),
        ("Feature", "new-feature"),
        ("new_feature", "new-feature"),
        ("bugfix", "bug-fix"),
        ("bug", "bug-fix"),
        ("bug_fix", "bug-fix"),
        ("docs", "documentation"),
        ("doc", "documentation"),
        ("testing", "test"),
        ("refactoring", "refactor"),
        ("migrate", "migration"),
        ("analysis", "data-analysis"),
        ("infra", "infrastructure"),
        ("devops", "infrastructure"),
        ("assess", "assessment"),
        (" audit ", "audit"),
        ("", None),
        (None, None),
    ],
)
def test_task_type_aliases(alias, canonical):
    assert normalise_task_type(alias) == canonical


def test_task_type_hint_overrides_keywords(roster_registry):
    plan = plan_for("Add a retry to the webhook sender", roster_registry, stack="django", task_type="bugfix")
    assert plan.task_type == "bug-fix"
    assert [phase.name for phase in plan.phases] == ["Investigate", "Fix", "Verify"]


@pytest.mark.parametrize(
    ("description", "task_type"),
    [
        ("We need to add a search box to the orders page", "new-feature"),
        ("Please fix the broken password reset link", "bug-fix"),
        ("Review the payments module for code quality", "audit"),
        ("Fix typos in the README", "documentation"),
        ("Add integration tests for the export endpoint", "test"),
        ("Add a Dockerfile for the API service", "infrastructure"),
        ("Purge soft-deleted records older than a year", "migration"),
        ("Remove the deprecated v1 endpoints", "refactor"),
        ("Investigate why checkout latency spikes every evening", "bug-fix"),
        ("Explore retention by signup channel", "data-analysis"),
        ("Evaluate whether we should move search to Elasticsearch", "assessment"),
        ("Something about invoices", "new-feature"),
    ],
)
def test_task_type_classification(description, task_type, roster_registry):
    assert plan_for(description, roster_registry, stack="django").task_type == task_type


# --- Validation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("description", ["", "   ", "\n\t "])
def test_empty_description_is_rejected(description, roster_registry):
    with pytest.raises(PlanningError) as error:
        plan_for(description, roster_registry)
    assert error.value.field == "description"
    assert "empty" in error.value.message


def test_non_string_description_is_rejected(roster_registry):
    request = PlanRequest(description=None)  # type: ignore[arg-type]
    with pytest.raises(PlanningError) as error:
        make_plan(request, roster_registry, plan_id="p", created_at="t")
    assert error.value.field == "description"


def test_unknown_task_type_lists_valid_values(roster_registry):
    with pytest.raises(PlanningError) as error:
        plan_for("Add a search box", roster_registry, task_type="epic")
    assert error.value.field == "task_type"
    assert "'epic'" in error.value.message
    for valid in ("new-feature", "bug-fix", "refactor", "migration", "documentation", "feature", "bugfix"):
        assert valid in error.value.message


def test_unknown_agents_are_each_named(roster_registry):
    with pytest.raises(PlanningError) as error:
        plan_for("Add a search box", roster_registry, agents=("architect", "wizard", "backend-ninja"))
    assert error.value.field == "agents"
    assert "'wizard'" in error.value.message
    assert "'backend-ninja'" in error.value.message
    assert "'architect'" not in error.value.message


def test_empty_agent_list_is_rejected(roster_registry):
    with pytest.raises(PlanningError) as error:
        plan_for("Add a search box", roster_registry, agents=())
    assert error.value.field == "agents"
    assert "empty" in error.value.message


def test_agent_list_must_hold_names(roster_registry):
    with pytest.raises(PlanningError) as error:
        make_plan(
            PlanRequest(description="Add a search box", agents=("architect", "")),
            roster_registry,
            plan_id="p",
            created_at="t",
        )
    assert error.value.field == "agents"


def test_request_agents_list_is_stored_as_tuple():
    request = PlanRequest(description="x", agents=["architect"])  # type: ignore[arg-type]
    assert request.agents == ("architect",)


def test_registry_without_any_usable_agent_is_an_error():
    with pytest.raises(PlanningError) as error:
        make_plan(PlanRequest(description="Add a search box"), [], plan_id="p", created_at="t")
    assert error.value.field == "agents"


# --- Rosters ------------------------------------------------------------------------------------------------


def test_explicit_agents_are_placed_where_their_role_fits(roster_registry):
    agents = ("code-reviewer", "backend-engineer--go", "architect")
    plan = plan_for("Add a health endpoint", roster_registry, stack="go", agents=agents)

    layout = [(phase.name, [step.agent_name for step in phase.steps]) for phase in plan.phases]
    assert layout == [
        ("Design", ["architect"]),
        ("Implement", ["backend-engineer--go"]),
        ("Test", ["backend-engineer--go"]),  # no tester given: the implementer writes the tests
        ("Review", ["code-reviewer"]),
    ]
    assert plan.pattern_source is None


def test_explicit_agents_still_get_safety_reviewers_at_high_risk(roster_registry):
    plan = plan_for("Add OAuth login", roster_registry, stack="django", agents=("backend-engineer--python",))
    assert plan.risk_level == "HIGH"
    assert plan.agents == ["backend-engineer--python", "code-reviewer", "security-reviewer"]


def test_explicit_unusual_agent_lands_in_a_fitting_phase(roster_registry):
    plan = plan_for(
        "Add a usage report page",
        roster_registry,
        stack="django",
        agents=("backend-engineer--python", "data-analyst"),
    )
    implement = next(phase for phase in plan.phases if phase.name == "Implement")
    assert [step.agent_name for step in implement.steps] == ["backend-engineer--python", "data-analyst"]


def test_flavoured_agents_fall_back_to_base_agents():
    registry = build_registry(["architect", "backend-engineer", "test-engineer", "code-reviewer"])
    plan = plan_for("Add a CSV export endpoint for invoices", registry, stack="django")
    assert plan.agents == ["architect", "backend-engineer", "test-engineer", "code-reviewer"]


def test_missing_roles_are_dropped_never_invented():
    registry = build_registry(["backend-engineer--python", "test-engineer"])
    plan = plan_for("Add OAuth login with Google", registry, stack="django")
    assert plan.risk_level == "HIGH"
    assert plan.agents == ["backend-engineer--python", "test-engineer"]
    assert [phase.name for phase in plan.phases] == ["Implement", "Test"]


def test_missing_technical_writer_is_covered_by_the_architect():
    registry = build_registry(["architect", "code-reviewer"])
    plan = plan_for("Write a migration guide for the v2 API", registry, stack="django", task_type="docs")
    write = next(phase for phase in plan.phases if phase.name == "Write")
    assert [step.agent_name for step in write.steps] == ["architect"]


def test_server_rendered_forms_stay_with_the_backend(roster_registry):
    plan = plan_for("Fix the crash when saving an empty profile form", roster_registry, stack="django")
    assert plan.agents == ["backend-engineer--python", "test-engineer--python"]


def test_react_named_in_the_description_picks_the_react_flavour(roster_registry):
    plan = plan_for("Add a React settings page with a theme picker", roster_registry, stack="django")
    assert "frontend-engineer--react" in plan.agents
    assert plan.stack == "python/django+react"


# --- Phases, steps and gates --------------------------------------------------------------------------------


def test_feature_plan_in_detail(roster_registry):
    plan = plan_for("Add a CSV export endpoint for invoices", roster_registry, stack="django")

    assert [phase.name for phase in plan.phases] == ["Design", "Implement", "Test", "Review"]
    design, implement, test, review = plan.phases
    assert design.steps[0].deliverables == ["docs/design/csv-export-endpoint-invoices.md"]
    assert design.steps[0].allowed_paths == ["docs/"]
    assert "Django" in implement.steps[0].task_description
    assert "Builds on phase 0 (Design)" in implement.steps[0].task_description
    assert implement.steps[0].allowed_paths == ["shop/", "tests/"]
    assert implement.steps[0].context_files == ["README.md", "manage.py", "pyproject.toml"]
    assert test.steps[0].deliverables == ["tests/test_csv_export_endpoint_invoices.py"]
    assert "`pytest`" in test.steps[0].task_description
    assert test.gate == planner.Gate("test", "pytest", test.gate.description, ["test failure", "test error"])
    assert implement.gate is not None
    assert implement.gate.gate_type == "build"
    assert review.steps[0].allowed_paths == []  # reviewers only read
    assert "migrations/" in implement.steps[0].blocked_paths


def test_bug_fix_writes_the_regression_test_before_the_fix(roster_registry):
    plan = plan_for("Fix the crash when saving an empty profile form", roster_registry, stack="django")
    fix = plan.phases[1]
    assert fix.name == "Fix"
    assert [(s.step_id, s.agent_name, s.depends_on) for s in fix.steps] == [
        ("1.0", "test-engineer--python", []),
        ("1.1", "backend-engineer--python", ["1.0"]),
    ]
    assert fix.steps[1].task_description.startswith(
        "Fix the root cause of the crash when saving an empty profile"
    )
    assert "regression" in fix.steps[0].deliverables[0]


def test_light_work_gets_a_short_plan(roster_registry):
    plan = plan_for("Fix typo in the signup confirmation email", roster_registry, stack="django")
    assert plan.complexity == "light"
    assert [phase.name for phase in plan.phases] == ["Fix", "Verify"]
    assert plan.budget_tier == "lean"


def test_high_risk_adds_review_and_approval_on_the_design(roster_registry):
    plan = plan_for("Implement OAuth login with Google", roster_registry, stack="django")
    design, *_, review = plan.phases
    assert design.requires_approval
    assert [step.agent_name for step in review.steps] == ["code-reviewer", "security-reviewer"]
    assert plan.git_strategy == "branch-per-phase"


def test_critical_adds_an_approved_audit_phase(roster_registry):
    plan = plan_for("Store patient records with GDPR and HIPAA compliance", roster_registry, stack="django")
    assert plan.risk_level == "CRITICAL"
    assert plan.phases[-1].name == "Audit"
    assert [step.agent_name for step in plan.phases[-1].steps] == ["auditor"]
    assert plan.phases[-1].requires_approval
    assert plan.phases[0].requires_approval
    assert "subject-matter-expert" in plan.agents
    assert plan.budget_tier == "full"


def test_migration_plans_a_backup_before_migrating(roster_registry):
    plan = plan_for(
        "Migrate the orders table to the new schema and drop the legacy price column in production",
        roster_registry,
        stack="django",
    )
    plan_phase, migrate, validate, audit = plan.phases
    assert [(s.agent_name, s.depends_on) for s in plan_phase.steps] == [
        ("architect", []),
        ("data-engineer", ["0.0"]),
    ]
    assert "backup" in plan_phase.steps[1].task_description
    assert [(s.agent_name, s.depends_on) for s in migrate.steps] == [
        ("data-engineer", []),
        ("backend-engineer--python", ["1.0"]),
        ("devops-engineer", ["1.0", "1.1"]),
    ]
    assert "migrations/" not in migrate.steps[1].blocked_paths
    assert "migrations/" in migrate.steps[1].allowed_paths
    assert [s.agent_name for s in validate.steps] == ["test-engineer--python", "code-reviewer"]
    assert audit.name == "Audit"


def test_schema_changes_keep_migrations_writable(roster_registry):
    plan = plan_for("Add a created_at field to the Invoice model", roster_registry, stack="django")
    assert all("migrations/" not in step.blocked_paths for phase in plan.phases for step in phase.steps)


def test_multi_part_tasks_focus_each_engineer_on_their_part(roster_registry):
    plan = plan_for(
        "Add invoice filters to the REST API, and a date range picker to the dashboard page",
        roster_registry,
        stack="react",
    )
    implement = next(phase for phase in plan.phases if phase.name == "Implement")
    texts = {step.agent_name: step.task_description for step in implement.steps}
    assert "Focus on: Add invoice filters to the REST API." in texts["backend-engineer--node"]
    assert "Focus on: a date range picker to the dashboard page." in texts["frontend-engineer--react"]


def test_unknown_stack_gates_ask_for_a_manual_check(roster_registry):
    plan = plan_for("Add a search box for orders", roster_registry)
    assert plan.stack is None
    gates = [phase.gate for phase in plan.phases if phase.gate is not None]
    assert gates
    assert all(gate.gate_type == "review" for gate in gates)
    assert all(gate.command == "" for gate in gates)


def test_description_hints_give_commands_without_a_project(roster_registry):
    plan = plan_for("Add a Django management command that prunes stale carts", roster_registry)
    assert plan.stack == "python/django"
    assert gate_summary(plan) == ["-", "python manage.py check", "pytest", "-"]


def test_docs_use_the_docs_build_when_the_project_has_one(roster_registry):
    stack = dataclasses.replace(STACKS["django"], docs_command="mkdocs build --strict")
    plan = make_plan(
        PlanRequest(description="Document the deployment process"),
        roster_registry,
        plan_id="p",
        created_at="t",
        stack=stack,
    )
    write = next(phase for phase in plan.phases if phase.name == "Write")
    assert write.gate is not None
    assert write.gate.command == "mkdocs build --strict"


def test_context_files_include_paths_named_in_the_description(roster_registry):
    plan = plan_for(
        "Fix the rounding bug in billing/invoice.py and update docs/billing.md",
        roster_registry,
        stack="django",
    )
    step = plan.phases[0].steps[0]
    assert step.context_files[:3] == ["README.md", "manage.py", "pyproject.toml"]
    assert "billing/invoice.py" in step.context_files
    assert "docs/billing.md" in step.context_files


def test_a_two_thousand_word_specification_plans_quickly(roster_registry):
    paragraph = (
        "The finance team needs invoices exported as CSV and PDF from the billing service. Each export lists "
        "the invoice number, customer, amounts, tax and status, filtered by date range and customer. Exports "
        "run in a background worker and the user gets an email with a download link when the file is ready. "
    )
    description = "Add invoice exports to the billing service. " + paragraph * 40
    assert len(description.split()) > 2000
    plan = plan_for(description, roster_registry, stack="django")
    assert plan.complexity == "heavy"
    assert plan.task_type == "new-feature"
    assert plan.task_summary == description.strip()
    # Billing work is HIGH risk; forty repetitions of "email" or "worker" add no specialists.
    assert plan.risk_level == "HIGH"
    assert plan.agents == [
        "architect",
        "backend-engineer--python",
        "test-engineer--python",
        "code-reviewer",
        "security-reviewer",
    ]
    assert all(len(step.task_description) < 1200 for phase in plan.phases for step in phase.steps)


# --- Determinism --------------------------------------------------------------------------------------------


def test_same_input_gives_the_same_plan(roster_registry):
    description = "Migrate payment records to the new ledger schema and add a reconciliation report page"
    first = plan_for(description, roster_registry, stack="django")
    second = plan_for(description, list(reversed(build_registry())), stack="django")
    assert first == second
    assert plan_to_dict(first) == plan_to_dict(second)


def test_no_module_reads_the_clock_randomness_or_environment():
    nondeterministic = {"random", "time", "uuid", "secrets", "datetime"}
    for path in sorted(PLANNER_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not {alias.name.split(".")[0] for alias in node.names} & nondeterministic, path.name
            elif isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] not in nondeterministic, path.name
            elif isinstance(node, ast.Attribute):
                assert node.attr not in ("environ", "getenv"), path.name


# --- Learned patterns ---------------------------------------------------------------------------------------

SHIPPED_ROSTER = ("architect", "backend-engineer--python", "test-engineer--python")
SHIPPED_PHASES = ("Design", "Implement", "Test")


def shipped(
    count: int, *, outcome: str = "SHIP", stack: str | None = "python/django", task_type: str = "new-feature"
):
    return tuple(
        PastOutcome(
            task_type=task_type,
            outcome=outcome,
            agents=SHIPPED_ROSTER,
            phase_names=SHIPPED_PHASES,
            stack=stack,
            plan_id=f"task-{outcome.lower()}-{index}",
        )
        for index in range(count)
    )


def test_pattern_threshold_is_three_ship_runs():
    assert LEARNED_PATTERN_MIN_SHIPS == 3


def test_below_the_threshold_no_pattern_is_used(roster_registry):
    plan = plan_for(
        "Add a CSV export endpoint for invoices", roster_registry, stack="django", history=shipped(2)
    )
    assert plan.pattern_source is None
    assert plan.agents == ["architect", "backend-engineer--python", "test-engineer--python", "code-reviewer"]


def test_at_the_threshold_the_shipped_roster_and_shape_are_reused(roster_registry):
    plan = plan_for(
        "Add a CSV export endpoint for invoices", roster_registry, stack="django", history=shipped(3)
    )
    assert plan.pattern_source == "learned:new-feature:python (3 SHIP runs)"
    assert plan.agents == list(SHIPPED_ROSTER)
    assert [phase.name for phase in plan.phases] == list(SHIPPED_PHASES)


def test_pattern_needs_the_same_task_type_and_stack(roster_registry):
    other_type = shipped(5, task_type="bug-fix")
    other_stack = shipped(5, stack="go")
    plan = plan_for(
        "Add a CSV export endpoint", roster_registry, stack="django", history=other_type + other_stack
    )
    assert plan.pattern_source is None


def test_pattern_task_types_are_normalised(roster_registry):
    plan = plan_for(
        "Add a CSV export endpoint", roster_registry, stack="django", history=shipped(3, task_type="feature")
    )
    assert plan.pattern_source == "learned:new-feature:python (3 SHIP runs)"


def test_without_a_known_stack_any_stack_counts(roster_registry):
    plan = plan_for("Add an export endpoint", roster_registry, history=shipped(4, stack=None))
    assert plan.pattern_source == "learned:new-feature:any (4 SHIP runs)"


def test_a_roster_sent_back_more_often_than_shipped_is_not_learned(roster_registry):
    history = shipped(3) + shipped(3, outcome="BLOCK") + shipped(1, outcome="REVISE")
    plan = plan_for("Add a CSV export endpoint", roster_registry, stack="django", history=history)
    assert plan.pattern_source is None


def test_pattern_agents_missing_from_the_registry_are_dropped():
    registry = build_registry([name for name in ROSTER if name != "architect"])
    plan = plan_for("Add a CSV export endpoint", registry, stack="django", history=shipped(3))
    assert plan.pattern_source is not None
    assert plan.agents == ["backend-engineer--python", "test-engineer--python"]


def test_pattern_choice_does_not_depend_on_history_order(roster_registry):
    other = tuple(
        PastOutcome(
            "new-feature",
            "SHIP",
            ("backend-engineer--python", "test-engineer--python"),
            ("Build",),
            "python/django",
            f"task-o{index}",
        )  # fmt: skip
        for index in range(3)
    )
    history = shipped(3) + other
    forward = plan_for("Add an export", roster_registry, stack="django", history=history)
    backward = plan_for("Add an export", roster_registry, stack="django", history=tuple(reversed(history)))
    assert forward == backward


def test_explicit_agents_win_over_patterns(roster_registry):
    plan = plan_for(
        "Add a CSV export endpoint",
        roster_registry,
        stack="django",
        agents=("backend-engineer",),
        history=shipped(5),
    )
    assert plan.pattern_source is None
    assert plan.agents == ["backend-engineer"]


def test_patterns_never_remove_safety_reviewers(roster_registry):
    plan = plan_for("Add OAuth login with Google", roster_registry, stack="django", history=shipped(3))
    assert plan.pattern_source is not None
    assert {"code-reviewer", "security-reviewer"} <= set(plan.agents)


# --- The core stays pure ------------------------------------------------------------------------------------


def test_planner_imports_only_the_standard_library():
    stdlib = set(sys.stdlib_module_names)
    modules = sorted(PLANNER_DIR.glob("*.py"))
    assert len(modules) > 5
    for path in modules:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            else:
                continue
            for root in roots:
                assert root not in BANNED_ROOTS, f"{path.name} imports {root}"
                assert root in stdlib or root == "__future__", f"{path.name} imports non-stdlib {root}"


# --- Every step text renders --------------------------------------------------------------------------------------


def test_investigation_type_has_a_hypothesis_phase(roster_registry):
    plan = plan_for(
        "Checkout is slow every evening", roster_registry, stack="django", task_type="investigation"
    )
    assert [phase.name for phase in plan.phases] == ["Investigate", "Hypothesize", "Fix", "Verify"]
    assert (
        plan.phases[1]
        .steps[0]
        .task_description.startswith("List the plausible causes of the reported problem")
    )


#: Step texts that rely on the phase context instead of naming the task again.
WITHOUT_TASK_NAME = {"backup-rollback", "run-tests", "review-tests", "verify"}


def test_every_role_and_phase_kind_renders_a_step():
    from plans.planner import classify, layout, roster, steps, text

    stacks = [stack for stack in STACKS.values() if stack is not None] + [Stack()]
    kinds = sorted(layout.KIND_SPECS)
    for stack in stacks:
        ctx = steps.make_context(
            headline="Add invoice exports, and a reconciliation page",
            doc=text.Doc("Add invoice exports, and a reconciliation page"),
            task_type="new-feature",
            stack=stack,
            concerns=classify.detect_concerns(text.Doc("invoice exports page")),
            mentioned=["docs/billing.md"],
            phase_kinds=set(kinds),
            description_doc=text.Doc("Add invoice exports, and a reconciliation page"),
        )
        for role in sorted(roster.KNOWN_ROLES):
            for kind in kinds:
                action = layout.action_for(role, kind)
                rendered = steps.describe(action, role, role, kind.title(), ctx)
                assert "{" not in rendered, (role, kind, rendered)
                assert "invoice exports" in rendered or action in WITHOUT_TASK_NAME, (role, kind, rendered)
                assert steps.deliverables(action, role, ctx), (role, kind, action)


def test_plans_do_not_depend_on_hash_seeds():
    script = (
        "import json, sys\n"
        "from plans.planner import AgentInfo, PlanRequest, make_plan, plan_to_dict\n"
        "names = sys.argv[1].split(',')\n"
        "registry = [AgentInfo.from_name(n, category='Engineering') for n in names]\n"
        "text = 'Migrate payment records to the new ledger schema, add a reconciliation page and alerts'\n"
        "print(json.dumps(plan_to_dict(make_plan(PlanRequest(text), registry, plan_id='p', created_at='t'))))\n"
    )
    root = Path(__file__).resolve().parents[2]
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script, ",".join(ROSTER)],
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1
