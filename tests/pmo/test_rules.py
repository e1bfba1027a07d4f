"""Pure rules of the PMO: the status-to-column table, the Forge's questions and answers, chart geometry."""

from __future__ import annotations

import pytest

from plans.planner import Gate, Phase, Plan, Step
from pmo import charts, forge
from pmo.models import Column, column_for, priority_for_risk

TEST_GATE = Gate("test", "pytest", "Run the tests", ["test failure"])


def make_plan(*phases: list[str], risk: str = "LOW", names: list[str] | None = None) -> Plan:
    return Plan(
        plan_id="task-1",
        task_summary="Add export",
        task_type="new-feature",
        risk_level=risk,
        budget_tier="standard",
        execution_mode="phased",
        git_strategy="commit-per-agent",
        phases=[
            Phase(
                phase_id=index,
                name=(names or [])[index] if names else f"P{index}",
                steps=[Step(f"{index}.{n}", agent, f"Work of {agent}") for n, agent in enumerate(agents)],
            )
            for index, agents in enumerate(phases)
        ],
        pattern_source=None,
        created_at="2026-01-01T00:00:00+00:00",
    )


@pytest.mark.parametrize(
    ("status", "decision", "column"),
    [
        (None, None, Column.QUEUED),
        ("running", None, Column.EXECUTING),
        ("approval_pending", "plan_review", Column.PLANNING),
        ("approval_pending", "escalation", Column.GATE_PENDING),
        ("approval_pending", "phase_approval", Column.GATE_PENDING),
        ("gate_pending", None, Column.GATE_PENDING),
        ("gate_pending", "gate_approval", Column.GATE_PENDING),
        ("complete", None, Column.DEPLOYED),
        ("failed", None, Column.FAILED),
        ("something-new", None, Column.EXECUTING),
    ],
)
def test_column_for_every_status(status, decision, column):
    assert column_for(status, decision) is column


def test_priority_from_risk():
    assert [priority_for_risk(r) for r in ("LOW", "MEDIUM", "HIGH", "CRITICAL")] == [0, 0, 1, 2]


def test_questions_are_between_three_and_five():
    busy = make_plan(["a", "b", "c"], ["d"], ["e"], risk="CRITICAL")
    ids = [q.id for q in forge.interview_questions(busy, feedback="x" * 500, known_agents={"a"})]
    assert len(ids) == 5
    assert ids[0] == "q-feedback"
    calm = make_plan(["test-engineer"])
    assert len(forge.interview_questions(calm)) == 3
    long_feedback = forge.interview_questions(busy, feedback="y" * 500)[0].question
    assert "y" * 200 + "..." in long_feedback
    assert "y" * 201 not in long_feedback


def test_no_risk_question_when_every_phase_already_needs_approval():
    plan = make_plan(["a"], risk="HIGH")
    approved = Plan(
        **{**plan.__dict__, "phases": [Phase(0, "P0", plan.phases[0].steps, requires_approval=True)]}
    )
    assert "q-risk" in [q.id for q in forge.interview_questions(plan)]
    assert "q-risk" not in [q.id for q in forge.interview_questions(approved)]


def test_roster_answer_swaps_unknown_agents_for_registered_ones():
    plan = make_plan(["backend-engineer--cobol", "wizard"])
    refinement = forge.apply_answers(
        plan,
        {"q-roster": "Replace them with registered agents"},
        test_gate=TEST_GATE,
        test_agent="test-engineer",
        registered_agents={"backend-engineer": "backend-engineer--python"},
    )
    assert [s.agent_name for s in refinement.plan.phases[0].steps] == ["backend-engineer--python", "wizard"]
    assert (
        refinement.changes[0]
        == "Replaced unknown agent backend-engineer--cobol with backend-engineer--python."
    )


def test_parallel_answer_drops_intra_phase_dependencies_only():
    plan = make_plan(["a"], ["b", "c"])
    steps = [Step("1.0", "b", "x", depends_on=["0.0"]), Step("1.1", "c", "y", depends_on=["0.0", "1.0"])]
    plan = Plan(**{**plan.__dict__, "phases": [plan.phases[0], Phase(1, "P1", steps)]})
    refined = forge.apply_answers(
        plan, {"q-coordination": "parallel"}, test_gate=TEST_GATE, test_agent="t"
    ).plan
    assert [s.depends_on for s in refined.phases[1].steps] == [["0.0"], ["0.0"]]


def test_gate_before_final_phase_and_approval_before_final_phase():
    plan = make_plan(["a"], ["b"], ["c"], risk="HIGH")
    refined = forge.apply_answers(
        plan,
        {
            "q-gates": "Test gate before the final phase",
            "q-risk": "Human approval before the final phase only",
        },
        test_gate=TEST_GATE,
        test_agent="t",
    ).plan
    assert [p.gate is not None for p in refined.phases] == [False, True, False]
    assert [p.requires_approval for p in refined.phases] == [False, True, False]


def test_unrecognised_answers_become_notes_and_the_last_phase_is_never_removed():
    plan = make_plan(["a"], names=["Build"])
    refinement = forge.apply_answers(
        plan,
        {"q-gates": "hmm", "q-scope": "remove Build", "q-other": "be careful"},
        test_gate=TEST_GATE,
        test_agent="t",
    )
    assert [p.name for p in refinement.plan.phases] == ["Build"]
    assert "Kept Build: a plan needs at least one phase." in refinement.changes
    assert sorted(refinement.notes) == ["q-gates: hmm", "q-other: be careful"]
    text = forge.shared_context("Existing context", sorted(refinement.notes))
    assert text.startswith("Existing context\n\nNotes from the plan interview:\n- q-gates: hmm")


def test_constraint_paths():
    assert forge._paths_in(
        "Leave migrations/, .env and settings.py alone; also *.lock (see https://x.y/z)"
    ) == [
        "migrations/",
        ".env",
        "settings.py",
        "*.lock",
    ]


def test_signal_description():
    assert forge.signal_description(" Totals wrong ", "") == "Bug fix: Totals wrong"
    assert forge.signal_description("Totals wrong", "Tax skipped") == "Bug fix: Totals wrong\n\nTax skipped"


def test_column_chart_stacks_and_scales():
    chart = charts.column_chart(["a", "b"], [("x", "green", [1, 3]), ("y", "red", [1, 0])])
    assert [round(r.height, 1) for r in chart.rects] == [34.4, 34.4, 103.2]  # 0..5 over a 172 px plot
    assert chart.rects[1].y == pytest.approx(chart.rects[0].y - 34.4)
    assert [label.text for label in chart.y_labels] == ["0", "2.5", "5"]
    assert not chart.empty
    assert charts.column_chart(["a"], [("x", "green", [0])]).empty


def test_nice_ceiling():
    assert [charts.nice_ceiling(v) for v in (0, 1, 3, 7, 12, 180, 1234)] == [1, 1, 5, 10, 20, 200, 2000]


def test_bar_chart_one_bar_per_label():
    chart = charts.bar_chart(["a", "b"], [10, 5])
    assert len(chart.rects) == 2
    assert chart.rects[0].width == pytest.approx(chart.rects[1].width * 2)


@pytest.mark.parametrize("module", ["pmo/forge.py", "pmo/charts.py"])
def test_pure_modules_import_no_framework(module):
    import ast
    from pathlib import Path

    banned = {"django", "rest_framework", "channels", "celery", "requests"}
    tree = ast.parse((Path(__file__).resolve().parents[2] / module).read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
            if node.module.startswith("plans") and node.module not in ("plans.planner",):
                roots.add(node.module)
    assert not roots & banned
    assert not {root for root in roots if root.startswith("plans.") or root.startswith("pmo.")}
