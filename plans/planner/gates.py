"""One gate per phase, chosen from what the phase produces and what the project can run.

Phases that write or run tests get a `test` gate with the stack's test command; phases that change code get a
`build` gate (compile / lint); provisioning gets the infrastructure tool's validation; documentation and
reports get a `review` gate. Pure thinking or reviewing phases (design, investigation, code review, audit) get
no gate: their output is judged by the next phase, or by a human when the phase requires approval. With no
known stack the planner does not guess commands: the gate becomes a `review` gate that says what to check.
"""

from __future__ import annotations

from collections.abc import Iterable

from .models import Gate, Stack
from .steps import INFRA_PRIORITY

TEST_ACTIONS = frozenset(
    {"test", "verify", "validate", "regression-test", "write-tests", "run-tests", "characterize", "fix-small"}
)
BUILD_ACTIONS = frozenset(
    {
        "implement",
        "fix",
        "refactor",
        "migrate-code",
        "migrate-data",
        "deploy-config",
        "observability",
        "model",
    }
)
TEST_FAIL_ON = ["test failure", "test error"]
BUILD_FAIL_ON = ["build error", "lint error"]
REVIEW_FAIL_ON = ["unresolved review finding"]
INFRA_FAIL_ON = ["validation error"]

_INFRA_CHECKS: dict[str, str] = {
    "terraform": "terraform fmt -check -recursive && terraform validate",
    "helm": "helm lint {dir}",
    "kubernetes": "kubectl apply --dry-run=client -f {dir}",
    "compose": "docker compose config --quiet",
    "docker": "docker build -f {file} .",
}


def gate_for(actions: Iterable[str], stack: Stack, *, infra_kind: str | None) -> Gate | None:
    actions = set(actions)
    if actions & TEST_ACTIONS:
        return test_gate(stack)
    if "provision" in actions:
        return infra_gate(stack, infra_kind)
    if "verify-infra" in actions:
        if stack.test_command:
            return test_gate(stack)
        return Gate(
            "review",
            "",
            "Smoke-check the environment: health checks pass, dashboards and alerts are quiet, error rates "
            "unchanged.",
            list(REVIEW_FAIL_ON),
        )
    if actions & BUILD_ACTIONS:
        return build_gate(stack)
    if "write-docs" in actions:
        if stack.docs_command:
            return Gate(
                "build",
                stack.docs_command,
                "Docs build without warnings.",
                ["build warning", "broken link"],
            )
        return Gate(
            "review",
            "",
            "Manual review: examples run as written, links resolve, and the text matches current behaviour.",
            list(REVIEW_FAIL_ON),
        )
    if actions & {"analyze", "report", "report-findings", "visualize"}:
        return Gate(
            "review",
            "",
            "Manual review: every finding is backed by evidence (query, file or log) and the conclusions "
            "follow.",
            list(REVIEW_FAIL_ON),
        )
    return None


def test_gate(stack: Stack) -> Gate:
    if stack.test_command:
        return Gate(
            "test",
            stack.test_command,
            "Run the test suite; new and existing tests must pass.",
            list(TEST_FAIL_ON),
        )
    return Gate(
        "review",
        "",
        "No test command was detected: run the project's tests and attach the output; all must pass.",
        list(REVIEW_FAIL_ON),
    )


def build_gate(stack: Stack) -> Gate:
    if stack.build_command:
        return Gate(
            "build",
            stack.build_command,
            "Build and static checks pass before the next phase starts.",
            list(BUILD_FAIL_ON),
        )
    return Gate(
        "review",
        "",
        "No build command was detected: confirm the project builds and its linters pass, and attach the "
        "output.",
        list(REVIEW_FAIL_ON),
    )


def infra_gate(stack: Stack, infra_kind: str | None) -> Gate:
    kind = infra_kind or next((k for k in INFRA_PRIORITY if k in stack.infra and k in _INFRA_CHECKS), None)
    if kind in _INFRA_CHECKS:
        command = _INFRA_CHECKS[kind].format(dir=_infra_dir(stack, kind), file=_infra_file(stack))
        return Gate(
            "build", command, "Infrastructure code validates before it is applied.", list(INFRA_FAIL_ON)
        )
    return Gate(
        "review",
        "",
        "Dry-run the change against staging and attach the output; nothing outside the planned scope may "
        "change.",
        list(REVIEW_FAIL_ON),
    )


def _infra_dir(stack: Stack, kind: str) -> str:
    wanted = {"helm": ("Chart.yaml",), "kubernetes": ("kustomization.yaml",)}.get(kind, ())
    for marker in stack.markers:
        if marker.rsplit("/", 1)[-1] in wanted:
            return marker.rsplit("/", 1)[0] + "/" if "/" in marker else "."
    return "k8s/" if kind == "kubernetes" else "."


def _infra_file(stack: Stack) -> str:
    return next((m for m in stack.markers if m.rsplit("/", 1)[-1] == "Dockerfile"), "Dockerfile")
