"""Step contents: task text, deliverables, writable and blocked paths, and context files.

Every step is built from an action (what the step does: "design", "regression-test", "migrate-data") and the
member's role. Texts name the task, say what a good result looks like for that role, and mention the project's
stack and test command when they are known, so an agent can start from the step alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from . import roster as r
from . import vocabulary as v
from .classify import Concerns
from .models import Stack
from .text import Doc, clauses, slugify

_JS = ("javascript", "typescript")
LANGUAGE_NAMES = {
    "python": "Python",
    "typescript": "TypeScript",
    "javascript": "JavaScript",
    "go": "Go",
    "rust": "Rust",
    "java": "Java",
    "csharp": "C#",
    "ruby": "Ruby",
}
FRAMEWORK_NAMES = {
    "django": "Django",
    "fastapi": "FastAPI",
    "flask": "Flask",
    "react": "React",
    "vue": "Vue",
    "angular": "Angular",
    "svelte": "Svelte",
    "express": "Express",
    "nestjs": "NestJS",
    "fastify": "Fastify",
    "koa": "Koa",
    "spring": "Spring Boot",
    "dotnet": ".NET",
    "rails": "Rails",
}
INFRA_TOOLS: dict[str, tuple[str, str]] = {
    # kind: (tool name in prose, dry-run command shown to reviewers)
    "terraform": ("Terraform", "terraform plan"),
    "helm": ("Helm", "helm diff / helm template"),
    "kubernetes": ("Kubernetes manifests", "kubectl diff"),
    "compose": ("Docker Compose", "docker compose config"),
    "docker": ("Docker", "docker build"),
    "github-actions": ("GitHub Actions workflows", "a workflow run on a branch"),
    "gitlab-ci": ("GitLab CI", "a pipeline run on a branch"),
}
INFRA_PRIORITY: tuple[str, ...] = (
    "terraform",
    "helm",
    "kubernetes",
    "compose",
    "docker",
    "github-actions",
    "gitlab-ci",
)
BLOCKED_ALWAYS: tuple[str, ...] = (".env", "secrets/", ".git/")
_SLUG_STOPWORDS = frozenset(
    {
        "unit", "tests", "test", "integration", "e2e", "docs", "documentation", "adr", "describing",
        "a", "an", "the", "for", "to", "of", "in", "on", "with", "and", "or", "from", "into", "by", "at",
        "as", "so", "that", "this", "these", "those", "our", "their", "its", "is", "are", "be", "when",
        "where", "which", "who", "new", "all", "any", "some", "it", "we", "us", "should", "must", "can",
        "via", "per", "using", "use", "across", "each", "every", "about", "them", "they", "get", "gets", "s",
        "t", "please", "need", "needs", "want", "there", "then", "than", "what", "why", "how", "does", "do",
        "not",
    }
)  # fmt: skip


@dataclass(frozen=True)
class TaskContext:
    """Everything step texts need to know about the task, computed once per plan.

    `task` is the headline in sentence case ("add a CSV export endpoint"); `goal` reads after a noun ("the
    changes to add a CSV export endpoint", or "the changes for: users cannot log in"); `imperative` is the
    headline as a command when it starts with a verb; `bug` names the problem for bug-fix texts ("the crash
    when saving a profile").
    """

    task: str
    goal: str
    imperative: str | None
    bug: str
    slug: str
    snake: str
    pascal: str
    task_type: str
    stack: Stack
    concerns: Concerns
    clauses: tuple[str, ...]
    mentioned: tuple[str, ...]
    has_investigation: bool
    has_design: bool
    schema_change: bool
    readme_target: bool
    infra_kind: str | None

    @property
    def run_tests(self) -> str:
        command = self.stack.test_command
        return f"; run them with `{command}`" if command else ""


def make_context(
    *,
    headline: str,
    doc: Doc,
    task_type: str,
    stack: Stack,
    concerns: Concerns,
    mentioned: list[str],
    phase_kinds: set[str],
    description_doc: Doc,
) -> TaskContext:
    words = _content_words(doc)
    slug = slugify(words) or "task"
    infra_kind = next(
        (kind for kind in INFRA_PRIORITY if kind in stack.infra and kind in description_doc.words), None
    )
    if infra_kind is None:
        infra_kind = next((kind for kind in INFRA_PRIORITY if kind in stack.infra), None)
    task = _sentence_case(headline)
    first_word = doc.tokens[0] if doc.tokens else ""
    verb_led = first_word in v.VERB_STARTS
    return TaskContext(
        task=task,
        goal=f"to {task}" if verb_led else f"for: {task}",
        imperative=(task[:1].upper() + task[1:]) if verb_led else None,
        bug=_bug_phrase(task, first_word),
        slug=slug,
        snake=slug.replace("-", "_"),
        pascal="".join(word.capitalize() for word in slug.split("-")),
        task_type=task_type,
        stack=stack,
        concerns=concerns,
        clauses=tuple(clauses(headline)) if len(headline) >= 60 else (),
        mentioned=tuple(mentioned),
        has_investigation="investigate" in phase_kinds,
        has_design=bool(phase_kinds & {"design", "plan", "plan-infra", "analyze-code"}),
        schema_change=v.SCHEMA_CHANGE.matches(description_doc),
        readme_target=v.README_TARGET.matches(description_doc),
        infra_kind=infra_kind,
    )


def _bug_phrase(task: str, first_word: str) -> str:
    """Name the bug: "fix the crash when saving" -> "the crash when saving"; anything else is quoted as
    "the reported problem (...)".
    """
    if first_word in v.BUG_VERBS:
        rest = task.split(" ", 1)[1] if " " in task else ""
        if rest:
            head = rest.split(" ", 1)[0].lower()
            return rest if head in v.DETERMINERS else f"the {rest}"
    return f"the reported problem ({task})"


def _content_words(doc: Doc) -> list[str]:
    tokens = list(doc.tokens)
    while tokens and (tokens[0] in v.LEAD_FILLER or tokens[0] in v.VERB_STARTS):
        tokens.pop(0)
    return [token for token in tokens if token not in _SLUG_STOPWORDS and not token.isdigit()][:4]


def _sentence_case(text: str) -> str:
    first, _, rest = text.partition(" ")
    if len(first) > 1 and first[0].isupper() and first[1:].islower():
        first = first.lower()
    return f"{first} {rest}".strip()


# --- Task descriptions --------------------------------------------------------------------------------------


def _backend_where(ctx: TaskContext) -> str:
    stack = ctx.stack
    if stack.language is None:
        return ""
    if stack.language in _JS and stack.frontend and stack.framework == stack.frontend:
        return " in the Node.js backend"
    name = FRAMEWORK_NAMES.get(stack.framework or "") or LANGUAGE_NAMES.get(stack.language, stack.language)
    return f" in the {name} codebase"


def _frontend_where(ctx: TaskContext) -> str:
    stack = ctx.stack
    if stack.frontend:
        return f" in the {FRAMEWORK_NAMES.get(stack.frontend, stack.frontend)} app"
    if stack.language == "csharp":
        return " in the .NET UI (Razor or Blazor)"
    return ""


def _where(role: str, ctx: TaskContext) -> str:
    if role == r.FRONTEND:
        return _frontend_where(ctx)
    backend = _backend_where(ctx)
    frontend = _frontend_where(ctx)
    if (
        role in (r.ARCHITECT, r.CODE_REVIEWER, r.SECURITY_REVIEWER)
        and frontend
        and backend != " in the Node.js backend"
    ):
        return f"{backend} and{frontend.removeprefix(' in')}" if backend else frontend
    return backend


_ASSESS_TEXTS: dict[str, str] = {
    r.CODE_REVIEWER: "Assess code quality within this task's scope ({task}). Look at structure, duplication, "
    "complexity hot spots, error handling and test coverage; give each finding a file reference and a "
    "severity.",
    r.SECURITY_REVIEWER: "Assess security within this task's scope ({task}). Cover authentication and "
    "authorization, input handling, secrets, dependencies with known CVEs and the OWASP Top 10; give each "
    "finding evidence and a severity.",
    r.AUDITOR: "Assess compliance within this task's scope ({task}). Check data handling, retention, access "
    "logging and approvals against the applicable regulations; record each gap with evidence.",
    r.ARCHITECT: "Assess the architecture within this task's scope ({task}). Describe the current state, "
    "judge its fitness for the stated goals, and grade the main gaps with evidence.",
    r.SRE: "Assess reliability and performance within this task's scope ({task}). Measure the load profile, "
    "bottlenecks, failure modes, SLOs and capacity headroom.",
    r.DEVOPS: "Assess delivery and infrastructure within this task's scope ({task}). Review the build and "
    "deploy pipeline, environments, configuration drift and rollback readiness.",
    r.DATA_ANALYST: "Assess the data within this task's scope ({task}). Check availability and quality of "
    "the sources and whether the needed metrics can be computed.",
}
_REVIEW_TEXTS: dict[str, str] = {
    r.SECURITY_REVIEWER: "Security review of the changes made {goal}. Check authentication and "
    "authorization, input validation, secret handling and the OWASP Top 10; list required fixes by severity.",
    r.ARCHITECT: "Check the delivered work {goal} against the design: boundaries, data model and interfaces "
    "match, and every deviation is justified.",
    r.AUDITOR: "Independent compliance review of the changes made {goal}; give a pass/fail verdict with "
    "evidence.",
}


def describe(action: str, role: str, agent: str, phase_name: str, ctx: TaskContext) -> str:
    """The task description of one step (before the phase hand-off sentence is appended)."""
    text = _TEXTS.get(action)
    if action == "review" and role in _REVIEW_TEXTS:
        text = _REVIEW_TEXTS[role]
    elif action == "assess":
        text = _ASSESS_TEXTS.get(
            role, "Assess this task's scope ({task}) from the " + role + " point of view, with evidence."
        )
    elif action == "implement" and role in _IMPLEMENT_TEXTS:
        text = _IMPLEMENT_TEXTS[role]
    elif action == "verify" and ctx.task_type in _VERIFY_TEXTS:
        text = _VERIFY_TEXTS[ctx.task_type]
    elif not ctx.concerns.database and action in _NON_DATA_TEXTS:
        text = _NON_DATA_TEXTS[action]
    if action in _IMPERATIVE_TEXTS and ctx.imperative:
        text = _IMPERATIVE_TEXTS[action]
    if not ctx.has_design and action in _WITHOUT_ANALYSIS_TEXTS:
        text = _WITHOUT_ANALYSIS_TEXTS[action]
    if text is None:
        return f"{phase_name}: {ctx.task} (as {agent})."
    dry_run, tool = "", ""
    if ctx.infra_kind:
        tool_name, dry_run_command = INFRA_TOOLS[ctx.infra_kind]
        if tool_name.split()[0].lower() not in ctx.task.lower():
            tool = f" with {tool_name}"
        dry_run = f" ({dry_run_command})"
    return text.format(
        task=ctx.task,
        goal=ctx.goal,
        bug=ctx.bug,
        imperative=ctx.imperative or "",
        where=_where(role, ctx),
        run_tests=ctx.run_tests,
        command=f" (`{ctx.stack.test_command}`)" if ctx.stack.test_command else "",
        slug=ctx.slug,
        basis="the agreed design" if ctx.has_design else "the project's existing conventions",
        source=", using the reproduction steps from the investigation" if ctx.has_investigation else "",
        docs_target=docs_target(ctx),
        tool=tool,
        dry_run=dry_run,
    )


_TEXTS: dict[str, str] = {
    "design": "Design the solution {goal}. Cover the data model, interfaces and error handling{where}, "
    "compare at least two options, and record the decision in docs/design/{slug}.md so implementers can "
    "start without open questions.",
    "domain-brief": "Brief the team on the domain and regulatory rules that apply to the work {goal}. List "
    "the constraints the design must respect (consent, retention, who may see what) and the cases tests must "
    "cover.",
    "migration-plan": "Plan the work {goal}. Inventory what changes, choose the order (expand, migrate, "
    "contract where possible), estimate data volume and downtime, and define the checks the Validate phase "
    "will run.",
    "backup-rollback": "Prepare the safety net before anything changes: take and verify a backup of the "
    "affected data, write the rollback script, and rehearse it on a copy so a failed run can be undone in "
    "minutes.",
    "investigate": "Reproduce {bug}. Record exact reproduction steps, trace the failing path{where}, and "
    "write down the root cause with evidence (logs, stack trace, failing input) before changing anything.",
    "hypothesize": "List the plausible causes of {bug}, rank them by likelihood, and test the top ones with "
    "targeted experiments until one is confirmed.",
    "refactor-analysis": "Map the code involved in the work {goal}. Identify call sites, dependencies and "
    "seams, define the target structure, and break the change into small behaviour-preserving steps.",
    "characterize": "Pin down current behaviour before anything moves: add characterization tests around the "
    "code touched by the work {goal}{run_tests}.",
    "implement": "Implement the server-side changes {goal}{where}, following {basis}; validate input at the "
    "boundary, handle errors explicitly, and add unit tests for new logic.",
    "model": "Model the problem {goal}: a simple baseline first, a held-out evaluation set, and documented "
    "metrics, assumptions and failure cases.",
    "deploy-config": "Prepare the delivery of the change {goal}: configuration and environment variables, CI "
    "changes, and a rollout with a tested rollback, so nothing is left as a manual step.",
    "observability": "Make the change {goal} observable: metrics, dashboards and alerts with clear "
    "thresholds, and a runbook entry for the on-call engineer.",
    "regression-test": "Write a regression test that reproduces {bug}{source}. It must fail on the current "
    "code and pass once the fix lands{run_tests}.",
    "fix": "Fix the root cause of {bug} with the smallest safe change{where}; make the regression test pass "
    "without weakening it, and check similar code paths for the same flaw.",
    "fix-small": "Fix {bug} with the smallest safe change{where}, and add a regression test that fails "
    "without the fix.",
    "refactor": "Carry out the refactoring {goal}{where}, in small behaviour-preserving commits; keep public "
    "interfaces compatible unless the analysis says otherwise, and keep the characterization tests green.",
    "migrate-data": "Write and run the schema and data migration {goal}: reversible scripts, batched for "
    "large tables, with row counts and checksums recorded before and after.",
    "migrate-code": "Update the application code {goal}{where}: adapt models, queries and deprecated calls "
    "to the new version or schema, keeping old and new paths working until the switch-over.",
    "rollout": "Roll out the change {goal} through the environments: staging first, then a scheduled "
    "production window, with monitoring watched and the rollback one command away.",
    "test": "Test the change {goal}. Cover the happy path, edge cases, invalid input and failure modes at "
    "unit and integration level{run_tests}; report any regression with a failing test.",
    "verify": "Verify the change {goal}. Run the full suite{command} and check the result against the "
    "acceptance criteria.",
    "validate": "Validate the result of the work {goal}. Compare row counts and checksums with the "
    "pre-migration snapshot, exercise the critical read and write paths{command}, and confirm the rollback "
    "still works.",
    "review": "Review the changes made {goal}. Check correctness, readability, error handling and test "
    "coverage; approve, or list the issues that block merge with file and line.",
    "architecture-review": "Check the delivered work {goal} against the design: boundaries, data model and "
    "interfaces match, and every deviation is justified.",
    "review-docs": "Check the documentation produced for this task ({task}) against the code: commands and "
    "examples run as written, names and options match current behaviour, and nothing a reader needs is "
    "missing.",
    "review-tests": "Review the new tests: they assert behaviour rather than implementation details, "
    "fail for the right reasons, and are readable.",
    "audit": "Independently audit the finished work {goal}. Check it against compliance and data-protection "
    "requirements, confirm that approvals, backups and rollback evidence exist, and give a pass/fail verdict "
    "with evidence.",
    "research": "Gather the material needed {goal}. Read the relevant code, configuration and existing docs, "
    "identify the readers and what they need to do, and outline the document.",
    "write-docs": "Write the documentation for: {task}. Use a task-oriented structure, check every example "
    "against the code, and link related material; the result goes in {docs_target}.",
    "prepare-data": "Make the data needed {goal} available and trustworthy: locate the sources, document the "
    "schema, and produce a clean, reproducible extract.",
    "explore": "Explore the data needed {goal}. Profile the relevant tables, check completeness, duplicates "
    "and outliers, and pin down metric definitions before any analysis.",
    "analyze": "Run the analysis for: {task}. Use reproducible queries or notebooks, break results down by "
    "the relevant segments, and state the uncertainty wherever numbers are compared.",
    "metrics": "Define the metrics and queries the work {goal} needs, check them against the source data, "
    "and document each definition where the implementers can use it.",
    "visualize": "Chart the key results for: {task}. One clear chart per finding, labelled axes and units, "
    "and a colour-blind-safe palette.",
    "report": "Write up the findings for: {task}. The answer first, then the supporting numbers with links "
    "to their queries, the caveats, and recommended next steps.",
    "test-gaps": "Measure current test coverage of the code this task targets ({task}), list untested "
    "branches and risky paths, and rank what to test first.",
    "write-tests": "Write the tests for: {task}{run_tests}. Cover the ranked gaps, keep tests deterministic "
    "and fast, and assert behaviour rather than implementation details.",
    "run-tests": "Run the whole suite with the new tests several times to rule out flakiness{command}, and "
    "report coverage before and after.",
    "report-findings": "Consolidate the assessment of: {task} into one report (reports/{slug}-findings.md): "
    "findings ranked by severity with evidence, and a prioritised, phased set of recommendations.",
    "infra-plan": "Plan the infrastructure change {goal}. Describe the target state, blast radius and order "
    "of changes, prepare the dry-run output{dry_run} for review, and a tested rollback.",
    "provision": "Apply the infrastructure change {goal} as code{tool}, with no manual console changes: "
    "staging first, then production, watching health checks during the rollout.",
    "verify-infra": "Verify the change {goal} in the target environment: health checks and smoke tests pass, "
    "dashboards and alerts behave, and error rates and latency are unchanged.",
    "coordinate": "Coordinate the work {goal}. Confirm scope and owners for each phase, track hand-offs, and "
    "escalate blockers early.",
    "advise": "Advise on the work {goal}: review the approach, flag design risks, and answer implementers' "
    "questions.",
}
_IMPLEMENT_TEXTS: dict[str, str] = {
    r.FRONTEND: "Build the user-facing part of the work {goal}{where}, following {basis}: components, state "
    "and API calls, accessible (labels, keyboard navigation, contrast) and responsive, with component tests.",
    r.DATA_ENGINEER: "Build the data side of the work {goal}: schemas, jobs and idempotent loads, with "
    "data-quality checks on inputs and outputs.",
    r.DATA_SCIENTIST: _TEXTS["model"],
}
_VERIFY_TEXTS: dict[str, str] = {
    v.REFACTOR: "Verify the refactoring changed no behaviour: run the full suite{command}, including any "
    "characterization tests, and compare public interfaces before and after.",
    v.BUG_FIX: "Verify the fix for {bug}. Re-run the original reproduction steps, run the full "
    "suite{command}, and confirm related behaviour did not regress.",
}
_VERIFY_TEXTS[v.INVESTIGATION] = _VERIFY_TEXTS[v.BUG_FIX]
#: Variants for migrations that move code to a new version rather than data to a new schema.
_NON_DATA_TEXTS: dict[str, str] = {
    "backup-rollback": "Prepare the safety net before anything changes: record the current versions, write "
    "down the rollback steps (revert, restore lockfiles or images), and confirm they work on a branch.",
    "migrate-code": "Update the application code {goal}{where}: work through the breaking changes in the "
    "upstream changelog, replace deprecated calls, and keep the change easy to revert.",
    "validate": "Validate the result of the work {goal}: run the full suite{command}, exercise the critical "
    "user paths, check the logs for new deprecation warnings, and confirm the rollback still works.",
}
_IMPERATIVE_TEXTS: dict[str, str] = {
    "write-docs": "{imperative}. Use a task-oriented structure, check every example against the code, and "
    "link related material; the result goes in {docs_target}.",
    "refactor": "{imperative}{where}, in small behaviour-preserving commits; keep public interfaces "
    "compatible unless the analysis says otherwise, and keep the characterization tests green.",
    "analyze": "{imperative}. Use reproducible queries or notebooks, break results down by the relevant "
    "segments, and state the uncertainty wherever numbers are compared.",
    "write-tests": "{imperative}{run_tests}. Cover the ranked gaps, keep tests deterministic and fast, and "
    "assert behaviour rather than implementation details.",
}


#: Variants for plans without an analysis phase (light work): no design or characterization tests to refer to.
_WITHOUT_ANALYSIS_TEXTS: dict[str, str] = {
    "refactor": "Carry out the refactoring {goal}{where}, in small behaviour-preserving commits; keep public "
    "interfaces compatible and the existing tests green.",
}


def focus_clause(role: str, ctx: TaskContext, others: Iterable[str] = ()) -> str | None:
    """For a multi-part task, the headline clause that concerns this role most and the phase's other roles
    least; None when no clause clearly belongs to the role.
    """
    lexicon = _ROLE_LEXICONS.get(role)
    if lexicon is None or len(ctx.clauses) < 2:
        return None
    rivals = [_ROLE_LEXICONS[other] for other in others if other != role and other in _ROLE_LEXICONS]
    best, best_score = None, 0
    for clause in ctx.clauses:
        clause_doc = Doc(clause)
        score = lexicon.count(clause_doc) - sum(rival.count(clause_doc) for rival in rivals)
        if score > best_score:
            best, best_score = clause, score
    return best


_ROLE_LEXICONS = {
    r.BACKEND: v.BACKEND,
    r.FRONTEND: v.FRONTEND,
    r.DATA_ENGINEER: v.DATA_ENGINEERING,
    r.DATA_SCIENTIST: v.MACHINE_LEARNING,
    r.DEVOPS: v.INFRA,
    r.SRE: v.OBSERVABILITY,
}


# --- Deliverables -------------------------------------------------------------------------------------------


def docs_target(ctx: TaskContext) -> str:
    for path in ctx.mentioned:
        if path.lower().endswith((".md", ".rst")):
            return path
    return "README.md" if ctx.readme_target else f"docs/{ctx.slug}.md"


def suggested_test_path(ctx: TaskContext, *, suffix: str = "", frontend: bool = False) -> str:
    """A plausible test file name for the task in the project's language and layout."""
    stack = ctx.stack
    snake = f"{ctx.snake}_{suffix}" if suffix else ctx.snake
    slug = f"{ctx.slug}-{suffix}" if suffix else ctx.slug
    pascal = ctx.pascal + suffix.capitalize()
    test_dir = next((d for d in stack.test_dirs if d.endswith("/")), "tests/")
    language = stack.language
    if frontend and (stack.frontend or language in _JS):
        directory = stack.frontend_dirs[0] if stack.frontend_dirs else "src/"
        typed = language == "typescript" or (language not in _JS and stack.frontend is not None)
        return f"{directory}{pascal}.test.{'tsx' if typed else 'jsx'}"
    if language == "python":
        return f"{test_dir}test_{snake}.py"
    if language in _JS:
        return f"{test_dir}{slug}.test.{'ts' if language == 'typescript' else 'js'}"
    if language == "go":
        return f"{snake}_test.go"
    if language == "rust":
        return f"tests/{snake}.rs"
    if language == "java":
        return f"src/test/java/{pascal}Test.java"
    if language == "csharp":
        return f"{test_dir}{pascal}Tests.cs"
    if language == "ruby":
        return f"spec/{snake}_spec.rb" if test_dir.startswith("spec") else f"test/{snake}_test.rb"
    return "Automated tests covering the change"


def deliverables(action: str, role: str, ctx: TaskContext) -> list[str]:
    slug, snake = ctx.slug, ctx.snake
    stack = ctx.stack
    notebook = stack.language in (None, "python")
    if action == "design":
        return [f"docs/design/{slug}.md"]
    if action == "domain-brief":
        return [f"docs/design/{slug}-domain-rules.md"]
    if action == "migration-plan":
        return [f"docs/migrations/{slug}.md"]
    if action == "backup-rollback":
        items = [f"docs/migrations/{slug}-rollback.md"]
        if ctx.concerns.database:
            items.append("Verified backup of the affected data")
        return items
    if action in ("investigate", "hypothesize"):
        return [f"docs/investigations/{slug}.md"]
    if action == "refactor-analysis":
        return [f"docs/design/{slug}-refactor-plan.md"]
    if action == "characterize":
        return [suggested_test_path(ctx, suffix="characterization")]
    if action == "implement":
        if role == r.FRONTEND:
            return ["UI components for the change", suggested_test_path(ctx, frontend=True)]
        if role == r.DATA_ENGINEER:
            return ["Pipeline or job definitions", "Data-quality checks"]
        return ["Server-side implementation", suggested_test_path(ctx)]
    if action == "model":
        return [f"notebooks/{snake}_model.ipynb", "Model evaluation report (metrics against a baseline)"]
    if action == "deploy-config":
        return ["Deployment configuration", "Rollout and rollback notes"]
    if action == "observability":
        return ["Dashboards and alert rules", f"docs/runbooks/{slug}.md"]
    if action == "regression-test":
        return [suggested_test_path(ctx, suffix="regression", frontend=role == r.FRONTEND)]
    if action == "fix":
        return ["Root-cause fix with the regression test passing"]
    if action == "fix-small":
        return [
            "Fix with a regression test",
            suggested_test_path(ctx, suffix="regression", frontend=role == r.FRONTEND),
        ]
    if action == "refactor":
        return ["Refactored code with unchanged behaviour"]
    if action == "migrate-data":
        kind = "Django migrations" if stack.framework == "django" else "migration scripts"
        return [f"Reversible {kind}", "Row counts and checksums before and after"]
    if action == "migrate-code":
        return ["Application code updated for the new version or schema"]
    if action == "rollout":
        return ["Staging and production rollout log", "Verified rollback command"]
    if action in ("test", "write-tests"):
        return [suggested_test_path(ctx, frontend=role == r.FRONTEND)]
    if action == "verify":
        return ["Full test-suite run report"]
    if action == "validate":
        return [f"docs/migrations/{slug}-validation.md"]
    if action in ("review", "review-docs", "review-tests", "architecture-review"):
        if role == r.SECURITY_REVIEWER:
            return ["Security review report with required fixes"]
        return ["Review verdict with findings"]
    if action == "audit":
        return ["Audit verdict (pass/fail) with evidence"]
    if action == "research":
        return [f"docs/{slug}-outline.md"]
    if action == "write-docs":
        return [docs_target(ctx)]
    if action == "prepare-data":
        return ["Documented, reproducible data extract"]
    if action == "explore":
        return [f"notebooks/{snake}_exploration.ipynb" if notebook else f"analysis/{slug}-exploration.sql"]
    if action == "analyze":
        return [f"notebooks/{snake}_analysis.ipynb" if notebook else f"analysis/{slug}.sql"]
    if action == "metrics":
        return [f"docs/metrics/{slug}.md"]
    if action == "visualize":
        return [f"reports/figures/{slug}/"]
    if action == "report":
        return [f"reports/{slug}.md"]
    if action == "test-gaps":
        return [f"docs/testing/{slug}-coverage-gaps.md"]
    if action == "run-tests":
        return ["Coverage report before and after"]
    if action == "assess":
        return [f"reports/{slug}/{role}.md"]
    if action == "report-findings":
        return [f"reports/{slug}-findings.md"]
    if action == "infra-plan":
        items = [f"docs/infra/{slug}.md"]
        if ctx.infra_kind:
            items.append(f"{INFRA_TOOLS[ctx.infra_kind][1]} output")
        return items
    if action == "provision":
        return [_provision_deliverable(ctx)]
    if action == "verify-infra":
        return ["Smoke-test results", "Dashboard and alert check"]
    if action == "coordinate":
        return ["Phase hand-off notes"]
    if action == "advise":
        return [f"docs/design/{slug}-notes.md"]
    return ["Notes on the work done"]


def _provision_deliverable(ctx: TaskContext) -> str:
    kind = ctx.infra_kind
    if kind == "github-actions":
        return f".github/workflows/{ctx.slug}.yml"
    if kind == "docker":
        return "Dockerfile"
    if kind:
        return f"{INFRA_TOOLS[kind][0]} changes"
    return "Infrastructure-as-code changes"


# --- Paths --------------------------------------------------------------------------------------------------


def allowed_paths(role: str, action: str, ctx: TaskContext) -> list[str]:
    """Where the step may write; empty for read-only roles (reviewers, auditors, coordinators)."""
    stack = ctx.stack
    source = list(stack.source_dirs) or ["src/"]
    tests = list(stack.test_dirs) or ["tests/"]
    if role in (r.CODE_REVIEWER, r.SECURITY_REVIEWER, r.AUDITOR, r.ORCHESTRATOR, r.TEAM_LEAD):
        return []
    if role in (r.ARCHITECT, r.SME):
        return ["docs/"] if action not in ("assess", "report-findings") else ["reports/"]
    if role == r.WRITER:
        return ["docs/", "README.md"] if action != "report-findings" else ["reports/"]
    if role == r.TESTER:
        paths = tests + (list(stack.frontend_dirs) if ctx.concerns.frontend else [])
        return _unique(paths + (["docs/testing/"] if action == "test-gaps" else []))
    if role == r.FRONTEND:
        return _unique(list(stack.frontend_dirs) or source) + (
            ["docs/investigations/"] if action == "investigate" else []
        )
    if role in (r.BACKEND, r.DATA_ENGINEER) and action in ("investigate", "hypothesize"):
        return ["docs/investigations/"]
    if role == r.BACKEND:
        extra = ["migrations/"] if ctx.task_type == v.MIGRATION else []
        return _unique(source + tests + extra)
    if role == r.DATA_ENGINEER:
        if ctx.task_type == v.MIGRATION or action in ("migrate-data", "backup-rollback"):
            return _unique(source + ["migrations/", "scripts/", "docs/migrations/"])
        return ["pipelines/", "dags/", "sql/", *tests]
    if role == r.DATA_ANALYST:
        return ["notebooks/", "reports/", "analysis/"]
    if role == r.DATA_SCIENTIST:
        return ["notebooks/", "models/", "reports/"]
    if role == r.VISUALIZATION:
        return ["reports/", "notebooks/"]
    if role == r.DEVOPS:
        return infra_paths(stack)
    if role == r.SRE:
        return ["monitoring/", "alerts/", "dashboards/", "docs/runbooks/"]
    return _unique(source + tests)


def infra_paths(stack: Stack) -> list[str]:
    paths: list[str] = []
    for marker in stack.markers:
        name = marker.rsplit("/", 1)[-1]
        if name in ("Dockerfile", "docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml"):
            paths.append(marker)
        elif name.endswith(".tf") or name in ("Chart.yaml", "kustomization.yaml"):
            paths.append(marker.rsplit("/", 1)[0] + "/" if "/" in marker else marker)
    if "github-actions" in stack.infra:
        paths.append(".github/workflows/")
    if "gitlab-ci" in stack.infra:
        paths.append(".gitlab-ci.yml")
    return _unique(paths) or ["infra/", "deploy/", ".github/workflows/", "Dockerfile"]


def blocked_paths(ctx: TaskContext) -> list[str]:
    blocked = list(BLOCKED_ALWAYS)
    if ctx.task_type != v.MIGRATION and not ctx.schema_change:
        blocked.append("migrations/")
    if ctx.stack.language in _JS or ctx.stack.frontend:
        blocked.append("node_modules/")
    return blocked


_MARKER_LANGUAGES = {
    "pyproject.toml": "python",
    "setup.py": "python",
    "Pipfile": "python",
    "manage.py": "python",
    "package.json": "js",
    "tsconfig.json": "js",
    "go.mod": "go",
    "Cargo.toml": "rust",
    "pom.xml": "java",
    "build.gradle": "java",
    "build.gradle.kts": "java",
    "Gemfile": "ruby",
}
_README_NAMES = ("README.md", "README.rst", "README", "CLAUDE.md", "AGENTS.md")
MAX_CONTEXT_FILES = 8


def _marker_language(path: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    if name.startswith("requirements") and name.endswith(".txt"):
        return "python"
    if name.endswith((".csproj", ".sln")):
        return "csharp"
    if name.startswith(("next.config", "nuxt.config", "svelte.config")) or name == "angular.json":
        return "js"
    if (
        name in ("Dockerfile", "Chart.yaml", "kustomization.yaml")
        or name.endswith(".tf")
        or "compose" in name
    ):
        return "infra"
    return _MARKER_LANGUAGES.get(name)


def context_files(role: str, ctx: TaskContext) -> list[str]:
    """Root README-type files, the project markers relevant to the role, then paths named in the task."""
    stack = ctx.stack
    primary = "js" if stack.language in _JS else stack.language
    if role == r.FRONTEND:
        wanted: set[str | None] = {"js", "csharp"}
    elif role in (r.BACKEND, r.TESTER, r.DATA_ENGINEER, r.DATA_ANALYST, r.DATA_SCIENTIST, r.VISUALIZATION):
        wanted = {primary}
        if role == r.TESTER and ctx.concerns.frontend:
            wanted.add("js")
    elif role in (r.DEVOPS, r.SRE):
        wanted = {primary, "infra"}
    else:
        wanted = {"python", "js", "go", "rust", "java", "csharp", "ruby", "infra"}
    files = [path for path in stack.markers if path in _README_NAMES]
    for path in stack.markers:
        if path.count("/") <= 1 and _marker_language(path) in wanted:
            files.append(path)
    files.extend(ctx.mentioned)
    return _unique(files)[:MAX_CONTEXT_FILES]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
