"""The Forge's rules, pure: interview questions from a plan's gaps, and a deterministic refinement of a plan
from the answers. Plain data in (the planner's dataclasses, dicts, strings), plain data out; no ORM, no HTTP.

Questions (at most 5, at least 3), each asked only when the plan shows the gap it names:

| id               | asked when                                                        | kind   |
|------------------|-------------------------------------------------------------------|--------|
| q-feedback       | the reviewer gave feedback (first, so it is never cut)            | text   |
| q-testing        | no step mentions tests                                            | choice |
| q-risk           | risk is HIGH or CRITICAL and not every phase asks for approval    | choice |
| q-coordination   | more than two distinct agents                                     | choice |
| q-gates          | more than one phase and none has a gate                           | choice |
| q-roster         | a step names an agent the registry does not know                  | choice |
| q-scope          | no feedback and three phases or more                              | text   |
| q-priority       | fewer than three questions so far                                 | text   |
| q-acceptance     | still fewer than three                                            | text   |
| q-constraints    | still fewer than three                                            | text   |

Answers change the plan visibly (`apply_answers`): tests add or drop a Test phase, risk adds approvals, coordination
rewrites intra-phase dependencies, gates add test gates, roster swaps unknown agents for registered ones, and text
answers may remove a phase ("remove Review") or move one first ("move Test first"); paths named in q-constraints
are blocked for every step; everything else becomes a note in `shared_context`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from plans.planner import Gate, Phase, Plan, Step

MAX_QUESTIONS = 5
MIN_QUESTIONS = 3
HIGH_RISK = ("HIGH", "CRITICAL")
FEEDBACK_QUOTE_LIMIT = 200


@dataclass(frozen=True)
class Question:
    """One interview question (the contract's InterviewQuestionResponse)."""

    id: str
    question: str
    context: str
    answer_type: str  # "choice" or "text"
    choices: tuple[str, ...] | None = None


# --- Choices (the first word of each is what an answer may be shortened to) ------------------------------------

TESTING_CHOICES = ("Add unit tests", "Add integration tests", "Add both", "Skip testing")
RISK_CHOICES = (
    "Human approval after every phase",
    "Human approval before the final phase only",
    "No extra approvals",
)
COORDINATION_CHOICES = (
    "One step at a time within each phase",
    "In parallel wherever possible",
    "Leave the order as planned",
)
GATE_CHOICES = ("Test gate after every phase", "Test gate before the final phase", "No gates")
ROSTER_CHOICES = ("Replace them with registered agents", "Keep them as written")


def _step_text(step: Step) -> str:
    return " ".join([step.agent_name, step.task_description, *step.deliverables]).lower()


def _mentions_tests(plan: Plan) -> bool:
    return any("test" in _step_text(step) for phase in plan.phases for step in phase.steps)


def _distinct_agents(plan: Plan) -> list[str]:
    return list(dict.fromkeys(step.agent_name for phase in plan.phases for step in phase.steps))


def unknown_agents(plan: Plan, known_agents: Iterable[str]) -> list[str]:
    known = set(known_agents)
    if not known:
        return []
    return [name for name in _distinct_agents(plan) if name not in known]


def interview_questions(
    plan: Plan, *, feedback: str = "", known_agents: Iterable[str] = ()
) -> list[Question]:
    """Three to five questions about what this plan leaves open (see the module docstring)."""
    questions: list[Question] = []
    feedback = (feedback or "").strip()
    if feedback:
        quoted = feedback[:FEEDBACK_QUOTE_LIMIT] + ("..." if len(feedback) > FEEDBACK_QUOTE_LIMIT else "")
        questions.append(
            Question(
                "q-feedback",
                f'You said: "{quoted}". What exactly should change in the plan (name phases to remove or move '
                "first, or describe the change)?",
                "Your feedback steers the regeneration; naming a phase lets it be removed or reordered.",
                "text",
            )
        )
    if not _mentions_tests(plan):
        questions.append(
            Question(
                "q-testing",
                "No step writes or runs tests. How should this work be tested?",
                "Untested changes ship bugs; a Test phase with a gate catches them before review.",
                "choice",
                TESTING_CHOICES,
            )
        )
    if plan.risk_level in HIGH_RISK and not all(phase.requires_approval for phase in plan.phases):
        questions.append(
            Question(
                "q-risk",
                f"The plan is {plan.risk_level} risk. Where should a human approve before it goes on?",
                "High-risk work needs human checkpoints before irreversible steps.",
                "choice",
                RISK_CHOICES,
            )
        )
    agents = _distinct_agents(plan)
    if len(agents) > 2:
        questions.append(
            Question(
                "q-coordination",
                f"{len(agents)} agents share this plan ({', '.join(agents[:4])}"
                f"{', ...' if len(agents) > 4 else ''}). How should steps inside a phase be coordinated?",
                "Clear hand-offs keep agents from editing the same files at once.",
                "choice",
                COORDINATION_CHOICES,
            )
        )
    if len(plan.phases) > 1 and not any(phase.gate for phase in plan.phases):
        questions.append(
            Question(
                "q-gates",
                "No phase has a quality gate. Where should the tests run?",
                "Gates catch problems early, before the next phase builds on them.",
                "choice",
                GATE_CHOICES,
            )
        )
    missing = unknown_agents(plan, known_agents)
    if missing:
        questions.append(
            Question(
                "q-roster",
                f"The registry has no agent named {', '.join(missing)}. What should happen to those steps?",
                "A step whose agent does not exist cannot be dispatched.",
                "choice",
                ROSTER_CHOICES,
            )
        )
    if not feedback and len(plan.phases) >= 3:
        names = ", ".join(phase.name for phase in plan.phases)
        questions.append(
            Question(
                "q-scope",
                f"The plan has {len(plan.phases)} phases ({names}). Should any be removed or done first?",
                "Bigger plans take longer and fail more often; trimming scope reduces both.",
                "text",
            )
        )
    padding = [
        Question(
            "q-priority",
            "Which part of the work matters most, so it can be done first?",
            "Doing the most valuable part first leaves something useful even if the rest slips.",
            "text",
        ),
        Question(
            "q-acceptance",
            "What does done look like? Describe the check that shows the work is finished.",
            "An explicit acceptance check tells the final gate and the reviewer what to verify.",
            "text",
        ),
        Question(
            "q-constraints",
            "Are there files or folders the agents must not change? List them (for example migrations/).",
            "Paths named here are blocked for every step.",
            "text",
        ),
    ]
    for question in padding:
        if len(questions) >= MIN_QUESTIONS:
            break
        questions.append(question)
    return questions[:MAX_QUESTIONS]


# --- Applying answers -----------------------------------------------------------------------------------------


@dataclass
class Refinement:
    """The refined plan, what changed (one sentence per change) and the notes kept for the agents."""

    plan: Plan
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _choice(answer: str, choices: tuple[str, ...]) -> int | None:
    """The index of the choice an answer names: the full text, or a distinctive keyword of it."""
    text = answer.strip().lower()
    if not text:
        return None
    for index, choice in enumerate(choices):
        if text == choice.lower():
            return index
    return None


def _testing_kind(answer: str) -> str | None:
    """ "unit", "integration", "unit and integration", "skip" or None for an answer to q-testing."""
    index = _choice(answer, TESTING_CHOICES)
    text = answer.lower()
    if index == 3 or (index is None and re.search(r"\b(skip|no tests?|none)\b", text)):
        return "skip"
    if index == 2 or (index is None and ("both" in text or ("unit" in text and "integration" in text))):
        return "unit and integration"
    if index == 0 or (index is None and "unit" in text):
        return "unit"
    if index == 1 or (index is None and "integration" in text):
        return "integration"
    return None


def _keyword_choice(
    answer: str, choices: tuple[str, ...], keywords: tuple[tuple[str, ...], ...]
) -> int | None:
    index = _choice(answer, choices)
    if index is not None:
        return index
    text = answer.lower()
    for position, words in enumerate(keywords):
        if any(re.search(rf"\b{re.escape(word)}\b", text) for word in words):
            return position
    return None


def _is_test_phase(phase: Phase) -> bool:
    name = phase.name.lower()
    return "test" in name or "verif" in name


def _renumber(phases: list[Phase]) -> list[Phase]:
    """Phase ids 0..n-1 in order and step ids "<phase>.<position>"; dependencies follow their steps, and a
    dependency on a step that is gone or no longer earlier is dropped."""
    mapping: dict[str, str] = {}
    for index, phase in enumerate(phases):
        for position, step in enumerate(phase.steps):
            mapping[step.step_id] = f"{index}.{position}"
    renumbered: list[Phase] = []
    seen: set[str] = set()
    for index, phase in enumerate(phases):
        steps = []
        for step in phase.steps:
            new_id = mapping[step.step_id]
            depends = [mapping[d] for d in step.depends_on if d in mapping and mapping[d] in seen]
            steps.append(dataclasses.replace(step, step_id=new_id, depends_on=depends))
            seen.add(new_id)
        renumbered.append(dataclasses.replace(phase, phase_id=index, steps=steps))
    return renumbered


_REMOVE = re.compile(r"\b(?:remove|skip|drop|delete)\s+(?:the\s+)?(?P<name>\w[\w &/-]*?)(?:\s+phase)?\s*$")
_MOVE_FIRST = (
    re.compile(
        r"\b(?:move|do|put)\s+(?:the\s+)?(?P<name>\w[\w &/-]*?)(?:\s+phase)?\s+(?:first|to the front)\s*$"
    ),
    re.compile(r"\bstart with\s+(?:the\s+)?(?P<name>\w[\w &/-]*?)(?:\s+phase)?\s*$"),
)
_FILE_NAME = re.compile(r"^[\w.-]+\.[A-Za-z0-9]{1,8}$")


def _paths_in(answer: str) -> list[str]:
    """Path-like words of an answer: anything with a slash, a glob such as *.lock, or a file name with an
    extension (.env, settings.py)."""
    found: list[str] = []
    for word in re.split(r"[\s,;]+", answer):
        token = word.strip("`'\"()[]").rstrip(".:")
        if not token or token.startswith(("http:", "https:")):
            continue
        if (
            "/" in token
            or token.startswith("*")
            or (token.startswith(".") and len(token) > 1)
            or _FILE_NAME.match(token)
            and not token.replace(".", "").isdigit()
        ):
            found.append(token)
    return list(dict.fromkeys(found))


def _clauses(answer: str) -> list[str]:
    parts = re.split(r"[.;,\n]+|\band\b|\bthen\b", answer)
    return [part.strip().lower() for part in parts if part.strip()]


def _phase_named(phases: list[Phase], name: str) -> int | None:
    wanted = name.strip().lower()
    for index, phase in enumerate(phases):
        if phase.name.lower() == wanted:
            return index
    return None


def apply_answers(
    plan: Plan,
    answers: Mapping[str, str],
    *,
    test_gate: Gate,
    test_agent: str,
    registered_agents: Mapping[str, str] | None = None,
) -> Refinement:
    """Apply interview answers to `plan` (see the module docstring). `test_gate` and `test_agent` are what a new
    Test phase uses (the project's test command, the stack's test engineer); `registered_agents` maps each
    registered agent's base name to the agent to use for it (for q-roster). Unknown question ids and answers
    that name nothing actionable become notes."""
    refinement = Refinement(plan=plan)
    phases = list(plan.phases)
    structural = False

    def note(question_id: str, text: str) -> None:
        refinement.notes.append(f"{question_id}: {text.strip()}")

    answers = {key: (value or "").strip() for key, value in answers.items() if (value or "").strip()}

    # Roster first, so that later steps (a new Test phase) see the final agent names.
    roster = answers.get("q-roster")
    if roster is not None:
        index = _keyword_choice(roster, ROSTER_CHOICES, (("replace", "swap", "map"), ("keep",)))
        if index == 0 and registered_agents:
            known = set(registered_agents.values())
            swapped: dict[str, str] = {}
            new_phases = []
            for phase in phases:
                steps = []
                for step in phase.steps:
                    name = step.agent_name
                    if name not in known:
                        replacement = registered_agents.get(name.partition("--")[0])
                        if replacement:
                            swapped[name] = replacement
                            step = dataclasses.replace(step, agent_name=replacement)
                    steps.append(step)
                new_phases.append(dataclasses.replace(phase, steps=steps))
            phases = new_phases
            for old, new in swapped.items():
                refinement.changes.append(f"Replaced unknown agent {old} with {new}.")
        elif index is None:
            note("q-roster", roster)

    testing = answers.get("q-testing")
    if testing is not None:
        kind = _testing_kind(testing)
        test_phases = [i for i, phase in enumerate(phases) if _is_test_phase(phase)]
        if kind == "skip":
            if plan.risk_level in HIGH_RISK:
                refinement.changes.append(f"Kept testing: a {plan.risk_level} risk plan cannot skip it.")
            elif test_phases:
                removed = [phases[i].name for i in test_phases]
                phases = [phase for i, phase in enumerate(phases) if i not in test_phases]
                structural = True
                refinement.changes.append(f"Removed the {', '.join(removed)} phase(s): testing skipped.")
        elif kind is not None:
            instruction = (
                f"Write and run {kind} tests for: {plan.task_summary}. Cover the happy path, edge cases and "
                "failure modes; report any failure with the failing test."
            )
            if test_phases:
                target = test_phases[-1]
                phase = phases[target]
                step = Step(
                    step_id=f"{phase.phase_id}.test-{len(phase.steps)}",
                    agent_name=test_agent,
                    task_description=instruction,
                    deliverables=[f"{kind.capitalize()} tests"],
                    allowed_paths=["tests/"],
                )
                phases[target] = dataclasses.replace(
                    phase, steps=[*phase.steps, step], gate=phase.gate or test_gate
                )
                refinement.changes.append(f"Added a {kind} test step by {test_agent} to {phase.name}.")
            else:
                position = len(phases)
                for i, phase in enumerate(phases):
                    if re.search(r"review|document|docs|release|deploy", phase.name.lower()):
                        position = i
                        break
                new_phase = Phase(
                    phase_id=-1,
                    name="Test",
                    steps=[
                        Step(
                            step_id="test.0",
                            agent_name=test_agent,
                            task_description=instruction,
                            deliverables=[f"{kind.capitalize()} tests"],
                            allowed_paths=["tests/"],
                        )
                    ],
                    gate=test_gate,
                )
                phases.insert(position, new_phase)
                refinement.changes.append(f"Added a Test phase: {test_agent} writes {kind} tests.")
            structural = True
        else:
            note("q-testing", testing)

    # Text answers: phase commands first (they change the structure), the rest are notes.
    text_ids = [
        key for key in answers if key not in ("q-testing", "q-risk", "q-coordination", "q-gates", "q-roster")
    ]
    for question_id in text_ids:
        answer = answers[question_id]
        leftovers: list[str] = []
        acted = False
        for clause in _clauses(answer):
            removal = _REMOVE.search(clause)
            moving = None if removal else next(filter(None, (r.search(clause) for r in _MOVE_FIRST)), None)
            match = removal or moving
            index = _phase_named(phases, match.group("name")) if match else None
            if match is None or index is None:
                leftovers.append(clause)
                continue
            if removal:
                if len(phases) == 1:
                    refinement.changes.append(f"Kept {phases[index].name}: a plan needs at least one phase.")
                else:
                    refinement.changes.append(f"Removed the {phases[index].name} phase.")
                    phases.pop(index)
                    structural = True
            else:
                if index != 0:
                    phase = phases.pop(index)
                    phases.insert(0, phase)
                    structural = True
                refinement.changes.append(f"Moved the {phases[0].name} phase first.")
            acted = True
        if question_id == "q-constraints":
            paths = _paths_in(answer)
            if paths:
                phases = [
                    dataclasses.replace(
                        phase,
                        steps=[
                            dataclasses.replace(
                                step, blocked_paths=list(dict.fromkeys([*step.blocked_paths, *paths]))
                            )
                            for step in phase.steps
                        ],
                    )
                    for phase in phases
                ]
                refinement.changes.append(f"Blocked {', '.join(paths)} for every step.")
                acted = True
        if not acted or (leftovers and question_id != "q-constraints"):
            note(question_id, answer if not acted else "; ".join(leftovers))

    if structural:
        phases = _renumber(phases)

    coordination = answers.get("q-coordination")
    if coordination is not None:
        index = _keyword_choice(
            coordination,
            COORDINATION_CHOICES,
            (
                ("sequential", "one at a time", "strict", "order"),
                ("parallel",),
                ("planner", "leave", "decide"),
            ),
        )
        if index == 0:
            phases = [
                dataclasses.replace(
                    phase,
                    steps=[
                        dataclasses.replace(
                            step,
                            depends_on=list(
                                dict.fromkeys([*step.depends_on, phase.steps[position - 1].step_id])
                            )
                            if position
                            else list(step.depends_on),
                        )
                        for position, step in enumerate(phase.steps)
                    ],
                )
                for phase in phases
            ]
            refinement.changes.append("Steps inside each phase now run one after another.")
        elif index == 1:
            phases = [_without_intra_phase_dependencies(phase) for phase in phases]
            refinement.changes.append("Steps inside each phase may now run in parallel.")
        elif index is None:
            note("q-coordination", coordination)

    gates = answers.get("q-gates")
    if gates is not None:
        index = _keyword_choice(
            gates,
            GATE_CHOICES,
            (("every", "each", "all"), ("final", "last", "before")),
        )
        if index == 0:
            added = [phase.name for phase in phases if phase.gate is None]
            phases = [phase if phase.gate else dataclasses.replace(phase, gate=test_gate) for phase in phases]
            if added:
                refinement.changes.append(f"Added a {test_gate.gate_type} gate to {', '.join(added)}.")
        elif index == 1:
            target = max(0, len(phases) - 2)
            if phases[target].gate is None:
                phases[target] = dataclasses.replace(phases[target], gate=test_gate)
                refinement.changes.append(f"Added a {test_gate.gate_type} gate to {phases[target].name}.")
        elif index is None:
            note("q-gates", gates)

    risk = answers.get("q-risk")
    if risk is not None:
        index = _keyword_choice(
            risk,
            RISK_CHOICES,
            (("every", "each", "all"), ("final", "last", "before")),
        )
        if index == 0:
            phases = [dataclasses.replace(phase, requires_approval=True) for phase in phases]
            refinement.changes.append("Every phase now waits for human approval.")
        elif index == 1:
            target = max(0, len(phases) - 2)
            phases[target] = dataclasses.replace(phases[target], requires_approval=True)
            refinement.changes.append(f"{phases[target].name} now waits for human approval.")
        elif index is None:
            note("q-risk", risk)

    if refinement.notes:
        refinement.changes.append(f"Kept {len(refinement.notes)} answer(s) as notes for the agents.")
    refinement.plan = dataclasses.replace(plan, phases=phases)
    return refinement


def _without_intra_phase_dependencies(phase: Phase) -> Phase:
    own = {step.step_id for step in phase.steps}
    return dataclasses.replace(
        phase,
        steps=[
            dataclasses.replace(step, depends_on=[d for d in step.depends_on if d not in own])
            for step in phase.steps
        ],
    )


def signal_description(title: str, description: str) -> str:
    """What the planner is asked to plan for a signal: a bug fix of its title, with its description."""
    text = f"Bug fix: {title.strip()}"
    if description.strip():
        text += f"\n\n{description.strip()}"
    return text


def shared_context(existing: object, notes: list[str]) -> str:
    """The plan's `shared_context` text with the interview notes appended."""
    text = existing.strip() if isinstance(existing, str) else ""
    if notes:
        block = "Notes from the plan interview:\n" + "\n".join(f"- {line}" for line in notes)
        text = f"{text}\n\n{block}" if text else block
    return text
