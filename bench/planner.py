"""Planner benchmark: make_plan on a ~2,000-word specification, no Django.

    python bench/planner.py [--runs 200] [--warmup 20]

Builds the agent registry in code, writes a small Python (Django) project into a temporary directory, and
times
`make_plan` end to end (stack detection included), then planning alone with the stack passed in. Prints the
median and p95 in milliseconds. Goal: median < 20 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plans.planner import AgentInfo, PlanRequest, detect_stack, make_plan  # noqa: E402

GOAL_MS = 20.0
ROSTER = {
    "architect": ("Architecture", "opus"),
    "backend-engineer": ("Engineering", "sonnet"),
    "backend-engineer--python": ("Engineering", "sonnet"),
    "backend-engineer--node": ("Engineering", "sonnet"),
    "frontend-engineer": ("Engineering", "sonnet"),
    "frontend-engineer--react": ("Engineering", "sonnet"),
    "test-engineer": ("Quality", "sonnet"),
    "test-engineer--python": ("Quality", "sonnet"),
    "test-engineer--javascript": ("Quality", "sonnet"),
    "code-reviewer": ("Quality", "sonnet"),
    "security-reviewer": ("Security", "opus"),
    "auditor": ("Security", "opus"),
    "data-engineer": ("Data", "sonnet"),
    "data-analyst": ("Data", "sonnet"),
    "devops-engineer": ("Operations", "sonnet"),
    "site-reliability-engineer": ("Operations", "sonnet"),
    "technical-writer": ("Management", "sonnet"),
    "subject-matter-expert": ("Management", "opus"),
}

INTRO = """Add invoice exports and reconciliation to the billing service.

Background. Finance closes the books every month by downloading invoices one at a time from the admin site and
pasting them into a spreadsheet. With four thousand customers this takes two people most of a week, mistakes
are common, and nobody can tell afterwards which version of an invoice was used. Customers also ask support
for copies of old invoices, which support staff then email by hand. We want exports that finance can run
themselves, a reconciliation view that compares what we invoiced with what the payment provider settled, and a
customer-facing page where account owners can download their own invoices.

Goals. Finance can export any date range of invoices as CSV or PDF in under a minute. Exports are
reproducible: the same filters always give the same rows, and every export is recorded with who ran it and
when. The reconciliation view flags every invoice whose settled amount differs from the invoiced amount, with
the reason when the payment provider gives one. Account owners can download invoices for their own
organisation only.

Non-goals. We are not changing how invoices are created or numbered, we are not adding new payment methods,
and we are not building a general reporting tool; the analytics team owns dashboards.
"""

ROLES = ["finance manager", "accountant", "support agent", "account owner", "auditor", "billing engineer"]
ACTIONS = [
    ("export all invoices for a month as CSV", "I can import them into the ledger without retyping"),
    ("export a single customer's invoices as one PDF", "I can answer a customer request in one step"),
    ("filter exports by status, currency and customer segment", "I only get the rows I need"),
    ("see which invoices were settled for a different amount", "I can chase the difference before closing"),
    ("download my organisation's invoices from the account page", "I do not need to contact support"),
    ("see who exported what and when", "I can answer questions during the annual review"),
    ("schedule a monthly export that lands in the shared drive", "nobody has to remember to run it"),
    ("re-run an old export with the same filters", "I get exactly the rows I got last time"),
    ("mark a reconciliation difference as explained", "it stops showing up in the open list"),
    ("receive an email when a large export is ready", "I do not have to keep the page open"),
    ("limit exports to the organisations I manage", "I never see another customer's data"),
    ("compare totals per currency between invoices and settlements", "I can spot provider fee changes"),
]
CRITERIA = [
    "The export lists number, issue and due dates, customer, net amount, tax, total, currency and status.",
    "Amounts are formatted with two decimals and the currency code, never with a thousands separator.",
    "Large exports run in a background worker and the page shows progress until the file is ready.",
    "The request is rejected with a clear message when the date range is longer than two years.",
    "Every export writes an audit record with the user, the filters, the row count and a file checksum.",
    "Files are kept for thirty days and then deleted by a nightly job.",
]
ENDPOINTS = [
    ("POST /api/invoice-exports", "starts an export with filters and returns its id"),
    ("GET /api/invoice-exports/{id}", "returns status, row count and a download link when ready"),
    ("GET /api/invoice-exports", "lists the caller's exports, newest first, paginated"),
    (
        "GET /api/reconciliation",
        "lists invoices with a settlement difference, filterable by month and currency",
    ),
    ("POST /api/reconciliation/{invoice}/explain", "records an explanation for a difference"),
    ("GET /api/account/invoices", "lists the caller's organisation's invoices for the account page"),
    ("GET /api/account/invoices/{number}.pdf", "renders one invoice as PDF for its own organisation"),
    ("POST /api/invoice-exports/schedules", "creates a monthly scheduled export"),
]
OUTRO = """Data model. A new InvoiceExport table stores the requesting user, filters as JSON, status, row
count, file path, checksum and timestamps. A ReconciliationNote table stores an explanation per invoice with
the author and time. Settlement data comes from the payment provider's daily settlement report, which the
billing worker already downloads; we will load it into a Settlement table keyed by provider reference.

User interface. The admin gets an Exports page with a filter form, a list of recent exports and a download
button. The Reconciliation page shows a table of differences with sorting by amount and a side panel for
notes. The customer account area gets an Invoices tab with a searchable list and a download link per invoice.

Rollout. Ship behind a feature flag, enable it for the finance team first, then for account owners two weeks
later. Watch worker queue length and export duration on the existing dashboards during the first month-end
close.

Testing. Unit tests cover the filters and the CSV formatting, integration tests cover the export worker end to
end with a test database, and the account page gets tests that prove one organisation can never see another's
invoices. Finance will check one month of exports against last month's spreadsheet before we switch over.

Security and privacy. Invoices contain customer names, billing addresses and tax identifiers, so exports are
only available to staff with the finance role and to account owners for their own organisation. Download links
are signed, expire after one hour and are never sent to addresses outside the organisation. The audit record
of each export is kept for seven years, in line with the retention rules for accounting records. Support
agents can see that an export exists but cannot download files for customers they do not manage.

Performance. An export of fifty thousand invoices must finish within five minutes on the current worker
machines, and the reconciliation page must load in under two seconds for a month with ten thousand invoices.
Queries use the existing indexes on issue date and customer; if the reconciliation join is too slow we will
add a composite index on provider reference and settlement date rather than denormalising.

Operations. The export worker runs in the existing queue with a concurrency of two so that month-end exports
do not starve invoice generation. Failed exports are retried twice and then marked failed with the error shown
to the user. Alerts fire when the export queue is longer than fifty jobs for more than ten minutes.

Open questions. Do we need XLSX as well as CSV? Should scheduled exports go to the shared drive or to email?
Which time zone defines the month boundary for customers outside Europe?
"""


def build_description() -> str:
    parts = [INTRO, "User stories."]
    for index, (action, benefit) in enumerate(ACTIONS):
        role = ROLES[index % len(ROLES)]
        criteria = " ".join(CRITERIA[(index + offset) % len(CRITERIA)] for offset in range(5))
        parts.append(f"As a {role}, I want to {action}, so that {benefit}. Acceptance: {criteria}")
    parts.append("API.")
    parts.extend(f"{route} {purpose}." for route, purpose in ENDPOINTS)
    parts.append(OUTRO)
    return "\n".join(parts)


def build_registry() -> list[AgentInfo]:
    return [
        AgentInfo.from_name(name, category=category, model=model, description=f"The {name} agent.")
        for name, (category, model) in ROSTER.items()
    ]


def make_project(root: Path) -> Path:
    project = root / "billing"
    files = {
        "pyproject.toml": '[project]\nname = "billing"\ndependencies = ["django>=5.2"]\n[tool.ruff]\n',
        "manage.py": "",
        "README.md": "# billing\n",
        "billing/__init__.py": "",
        "billing/settings.py": "",
        "invoices/__init__.py": "",
        "invoices/models.py": "",
        "tests/test_invoices.py": "",
    }
    for relative, content in files.items():
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return project


def measure(run, *, runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        run()
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def report(label: str, timings: list[float]) -> float:
    median = statistics.median(timings)
    p95 = statistics.quantiles(timings, n=20)[18]
    print(f"{label:<34} median {median:6.2f} ms   p95 {p95:6.2f} ms   ({len(timings)} runs)")
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()

    description = build_description()
    registry = build_registry()
    with tempfile.TemporaryDirectory() as temp:
        project = make_project(Path(temp))
        request = PlanRequest(description=description, project_path=str(project))
        stack = detect_stack(str(project))

        def plan_with_scan():
            return make_plan(request, registry, plan_id="task-bench", created_at="2026-01-01T00:00:00+00:00")

        def plan_only():
            return make_plan(
                request, registry, plan_id="task-bench", created_at="2026-01-01T00:00:00+00:00", stack=stack
            )

        plan = plan_with_scan()
        print(f"description: {len(description.split())} words")
        print(
            f"plan: {plan.task_type}, {plan.risk_level}, {plan.complexity}, stack {plan.stack}, "
            f"{len(plan.phases)} phases, {plan.total_steps} steps, agents {', '.join(plan.agents)}"
        )
        median = report(
            "make_plan (with stack detection)", measure(plan_with_scan, runs=args.runs, warmup=args.warmup)
        )
        report("make_plan (stack passed in)", measure(plan_only, runs=args.runs, warmup=args.warmup))
    verdict = "OK" if median < GOAL_MS else "SLOWER THAN GOAL"
    print(f"goal: median < {GOAL_MS:.0f} ms -> {verdict}")
    return 0 if median < GOAL_MS else 1


if __name__ == "__main__":
    sys.exit(main())
