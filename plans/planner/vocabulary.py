"""Every word list the planner matches against, compiled once at import time.

Terms follow `text.Lexicon` syntax: "word" is an exact word, "word*" a word prefix, "two words" a phrase.
Lists are chosen so that common English words do not trigger engineering signals: "auth" is listed as exact
words and specific prefixes ("authenticat*", "authoriz*") so "author" and "authority" never match; "table" is
never a risk signal on its own, because UIs have tables too.
"""

from __future__ import annotations

from .text import Lexicon, terms

# --- Task types ---------------------------------------------------------------------------------------------

NEW_FEATURE = "new-feature"
BUG_FIX = "bug-fix"
REFACTOR = "refactor"
MIGRATION = "migration"
DOCUMENTATION = "documentation"
DATA_ANALYSIS = "data-analysis"
TEST = "test"
AUDIT = "audit"
ASSESSMENT = "assessment"
INFRASTRUCTURE = "infrastructure"
INVESTIGATION = "investigation"
GENERIC = "generic"

#: Valid task types, in the order used to break keyword-score ties.
TASK_TYPES: tuple[str, ...] = (
    NEW_FEATURE,
    BUG_FIX,
    MIGRATION,
    REFACTOR,
    AUDIT,
    ASSESSMENT,
    DATA_ANALYSIS,
    TEST,
    DOCUMENTATION,
    INFRASTRUCTURE,
    INVESTIGATION,
    GENERIC,
)

#: Types whose work does not change production code (reports, docs, tests); their risk is lowered one level.
READ_ONLY_TYPES = frozenset({AUDIT, ASSESSMENT, DOCUMENTATION, DATA_ANALYSIS, TEST})

TASK_TYPE_ALIASES: dict[str, str] = {
    "feature": NEW_FEATURE,
    "new-feature": NEW_FEATURE,
    "newfeature": NEW_FEATURE,
    "enhancement": NEW_FEATURE,
    "bug-fix": BUG_FIX,
    "bugfix": BUG_FIX,
    "bug": BUG_FIX,
    "fix": BUG_FIX,
    "hotfix": BUG_FIX,
    "defect": BUG_FIX,
    "refactor": REFACTOR,
    "refactoring": REFACTOR,
    "cleanup": REFACTOR,
    "clean-up": REFACTOR,
    "migration": MIGRATION,
    "migrate": MIGRATION,
    "upgrade": MIGRATION,
    "documentation": DOCUMENTATION,
    "docs": DOCUMENTATION,
    "doc": DOCUMENTATION,
    "document": DOCUMENTATION,
    "data-analysis": DATA_ANALYSIS,
    "data": DATA_ANALYSIS,
    "analysis": DATA_ANALYSIS,
    "analytics": DATA_ANALYSIS,
    "test": TEST,
    "tests": TEST,
    "testing": TEST,
    "audit": AUDIT,
    "code-review": AUDIT,
    "assessment": ASSESSMENT,
    "assess": ASSESSMENT,
    "evaluation": ASSESSMENT,
    "infrastructure": INFRASTRUCTURE,
    "infra": INFRASTRUCTURE,
    "devops": INFRASTRUCTURE,
    "ops": INFRASTRUCTURE,
    "deployment": INFRASTRUCTURE,
    "deploy": INFRASTRUCTURE,
    "investigation": INVESTIGATION,
    "investigate": INVESTIGATION,
    "debug": INVESTIGATION,
    "generic": GENERIC,
    "chore": GENERIC,
    "other": GENERIC,
}

TYPE_KEYWORDS: dict[str, Lexicon] = {
    NEW_FEATURE: Lexicon(
        NEW_FEATURE,
        terms(
            "add, adds, adding, build, create, implement*, feature, features, develop, introduce, "
            "wire, integrate, extend, support for, allow, allows, enable users, new endpoint, "
            "new page, expose"
        ),
    ),
    BUG_FIX: Lexicon(
        BUG_FIX,
        terms(
            "fix, fixes, fixing, bug, bugs, broken, crash*, traceback, exception, exceptions, fails, "
            "failing, incorrect, wrong, regression, hotfix, does not work, doesn t work, "
            "not working, 500 error, error when, errors when, throws, null pointer, off by one"
        ),
    ),
    MIGRATION: Lexicon(
        MIGRATION,
        terms(
            "migrate, migrating, migration, migrations, upgrade, upgrading, port to, move to, "
            "move from, switch from, switch to, moving to, bump, deprecated version, end of life, "
            "backfill*"
        ),
    ),
    REFACTOR: Lexicon(
        REFACTOR,
        terms(
            "refactor*, clean up, cleanup, reorganize, reorganise, restructure, rename, simplify, "
            "decouple, extract, split up, modularize, modularise, deduplicate, tech debt, "
            "technical debt, dead code, consolidate"
        ),
    ),
    AUDIT: Lexicon(
        AUDIT,
        terms(
            "audit, audits, auditing, code review, security audit, scorecard, inspect, code smells, "
            "code quality, review all, review the, compliance review"
        ),
    ),
    ASSESSMENT: Lexicon(
        ASSESSMENT,
        terms(
            "assess, assessment, evaluate, evaluation, gap analysis, fitness, readiness, maturity, "
            "feasibility, trade offs, should we"
        ),
    ),
    DATA_ANALYSIS: Lexicon(
        DATA_ANALYSIS,
        terms(
            "analyze, analyse, analysis, analytics, report on, insight*, metric, kpi, kpis, "
            "data exploration, cohort*, funnel, churn, trend*, correlat*, segment*, forecast*, "
            "predict*, train a, machine learning, statistic*, a b test"
        ),
    ),
    TEST: Lexicon(
        TEST,
        terms(
            "test suite, tests for, testing, test coverage, coverage, e2e, end to end tests, "
            "unit test, unit tests, integration test, integration tests, playwright, pytest, test, "
            "tests, snapshot tests, property based"
        ),
    ),
    DOCUMENTATION: Lexicon(
        DOCUMENTATION,
        terms(
            "document, documentation, docs, readme, adr, wiki, summarize, summarise, write docs, "
            "guide, tutorial, runbook, changelog, docstring*, api reference, how to, onboarding, "
            "overview"
        ),
    ),
    INFRASTRUCTURE: Lexicon(
        INFRASTRUCTURE,
        terms(
            "deploy*, terraform, kubernetes, k8s, helm, docker*, container*, ci, ci cd, rotate, rotation, "
            "github actions, gitlab ci, pipeline, provision*, infrastructure, ansible, nginx, "
            "load balancer*, autoscal*, cloudformation, staging, monitoring, alerting, dns, cdn, "
            "vpc, cluster, observability"
        ),
    ),
}

#: A leading verb is the strongest type signal ("Fix ...", "Document ...").
LEADING_VERBS: dict[str, str] = {
    **dict.fromkeys(
        terms(
            "add, build, create, implement, introduce, develop, support, allow, enable, expose, "
            "integrate, extend, wire, provide, ship"
        ),
        NEW_FEATURE,
    ),
    **dict.fromkeys(terms("fix, resolve, repair, patch, hotfix, correct, stop"), BUG_FIX),
    **dict.fromkeys(terms("debug, investigate, diagnose, troubleshoot"), BUG_FIX),
    **dict.fromkeys(
        terms(
            "refactor, restructure, reorganize, reorganise, simplify, extract, decouple, rename, "
            "clean, split, consolidate, modularize, modularise, deduplicate, tidy, remove, delete, drop, "
            "deprecate"
        ),
        REFACTOR,
    ),
    **dict.fromkeys(terms("migrate, upgrade, port, move, switch, convert, bump, backfill"), MIGRATION),
    **dict.fromkeys(terms("document, describe, explain, summarize, summarise"), DOCUMENTATION),
    **dict.fromkeys(terms("analyze, analyse, measure, quantify, explore, forecast, predict"), DATA_ANALYSIS),
    **dict.fromkeys(terms("test"), TEST),
    **dict.fromkeys(terms("audit, review, inspect"), AUDIT),
    **dict.fromkeys(terms("assess, evaluate, benchmark"), ASSESSMENT),
    **dict.fromkeys(
        terms("deploy, provision, containerize, containerise, dockerize, dockerise, rotate"), INFRASTRUCTURE
    ),
}

#: Nouns right after a generic leading verb that say what is really being built ("Add end-to-end tests ...",
#: "Fix typos in the contributing guide", "Add a Dockerfile"): the type they name wins over the verb's type.
WORK_OBJECTS: dict[str, Lexicon] = {
    TEST: Lexicon(
        "test-objects",
        terms(
            "test, tests, testing, coverage, e2e, end to end tests, playwright, cypress, pytest, jest, "
            "vitest, unit tests, integration tests, test suite, test cases, regression tests, snapshot tests"
        ),
    ),
    DOCUMENTATION: Lexicon(
        "doc-objects",
        terms(
            "readme, docs, documentation, guide, tutorial, wiki, changelog, runbook, docstring*, "
            "contributing, handbook, faq, adr, adrs, user manual"
        ),
    ),
    INFRASTRUCTURE: Lexicon(
        "infra-objects",
        terms(
            "dockerfile, docker, container*, ci, ci pipeline, github actions, gitlab ci, terraform, helm, "
            "kubernetes, k8s, staging environment, monitoring, alerts, alerting, load balancer*, cdn, dns, "
            "cluster, autoscaling"
        ),
    ),
}
#: Generic verbs whose type yields to the work object that follows them.
GENERIC_VERBS = frozenset(
    terms(
        "add, write, create, build, fix, update, improve, increase, extend, introduce, implement, set, expand"
    )
)
WORK_OBJECT_WINDOW = 6
#: Leading verbs of one-off data operations; with a data noun they make the task a (data) migration.
DATA_OPERATION_VERBS = frozenset(
    terms("delete, purge, wipe, truncate, drop, erase, archive, backfill, anonymize")
)

#: Imperative verbs a task headline may start with (for phrasing step texts as "... to <task>").
VERB_STARTS = frozenset(LEADING_VERBS) | frozenset(
    terms(
        "update, change, remove, delete, replace, improve, optimize, optimise, speed, reduce, increase, set, "
        "configure, write, handle, show, display, send, store, track, log, validate, ensure, make, use, "
        "generate, export, import, sync, schedule, limit, cache, paginate, encrypt, rotate, drop, merge, "
        "deprecate, standardize, standardise, unify, harden, secure, automate, publish, release, roll, "
        "scale, tune, profile, load, train, redesign, rewrite, rebuild, set up, prevent, detect, notify, "
        "block, restrict, archive, purge, backfill, translate, localize, localise, onboard, retire, verify, "
        "check"
    )
)
#: Verbs that introduce a bug report ("Fix the crash ...") and are dropped when naming the bug itself.
BUG_VERBS = frozenset(
    terms("fix, resolve, repair, patch, hotfix, correct, debug, investigate, diagnose, troubleshoot")
)
_DETERMINERS = "the, a, an, our, this, that, these, those, my, your, their, its, all, every, some, any, each"
DETERMINERS = frozenset(terms(_DETERMINERS))

#: Words skipped when looking for the leading verb ("We need to add ...", "Please fix ...").
LEAD_FILLER = frozenset(
    terms(
        "please, we, i, you, need, needs, to, should, must, want, would, like, let, s, can, "
        "could, the, a, an, kindly, task, goal, it, is, time, go, ahead, and"
    )
)

# --- Complexity ---------------------------------------------------------------------------------------------

HEAVY_SCOPE = Lexicon(
    "heavy-scope",
    terms(
        "entire, system wide, across, throughout, whole, comprehensive, codebase wide, "
        "all services, all endpoints, all modules, all pages, all components, all tables, "
        "all models, all apis, all repositories, all repos, all files, all apps, all views, "
        "all packages, all callers, all usages, all teams, all projects, all clients, "
        "all customers"
    ),
)
HEAVY_ARCHITECTURE = Lexicon(
    "heavy-architecture",
    terms(
        "redesign, rearchitect, re architect, new pattern, overhaul, rewrite, rebuild, "
        "from scratch, monolith, microservices, platform"
    ),
)
HEAVY_MULTI_DOMAIN = Lexicon(
    "heavy-multi-domain",
    terms(
        "frontend and backend, backend and frontend, api and ui, ui and api, server and client, "
        "client and server, full stack, fullstack"
    ),
)
LIGHT_VERBS = Lexicon(
    "light-verbs",
    terms(
        "rename, typo, typos, bump, tweak, toggle, swap, adjust, move, delete, remove, copy, "
        "update, change, one line, small, minor, quick"
    ),
)
LIGHT_QUANTIFIERS = frozenset(terms("one, two, three, single, 1, 2, 3, 4, 5"))
LIGHT_UNITS = frozenset(
    terms(
        "file, files, test, tests, function, functions, method, methods, endpoint, endpoints, "
        "component, components, field, fields, line, lines, class, classes, column, columns, "
        "button, buttons, typo, typos, string, strings, flag, flags"
    )
)
#: Descriptions longer than these token counts count as one (two) heavy signals.
LONG_DESCRIPTION_TOKENS = 150
VERY_LONG_DESCRIPTION_TOKENS = 400

INVESTIGATIVE = Lexicon(
    "investigative",
    terms(
        "debug*, investigat*, diagnos*, root cause, triage, why does, why is, why are, why do, "
        "regression, flaky, flakey, intermittent*, race condition*, deadlock*, memory leak*, "
        "stack trace*, traceback*, exception, exceptions, crash*, segfault*, bisect, reproduc*, "
        "hangs, hanging, sporadic*, randomly"
    ),
)

# --- Concerns (which kinds of engineer the work needs) ------------------------------------------------------

FRONTEND = Lexicon(
    "frontend",
    terms(
        "ui, ux, frontend, front end, css, scss, tailwind, component, components, page, pages, "
        "form, forms, button*, layout*, modal*, dialog*, navbar, sidebar, responsive, "
        "accessibility, a11y, browser*, safari, firefox, chrome, react, vue, angular, svelte, "
        "next js, nuxt, storybook, dark mode, screen, screens, widget*, tooltip*, dropdown*, "
        "toast*, html, client side, spa, date picker, web app, settings page, mobile view"
    ),
)
#: UI work a server-rendered project (Django templates, Rails views) still needs a frontend engineer for.
FRONTEND_STRONG = Lexicon(
    "frontend-strong",
    terms(
        "ux, frontend, front end, css, scss, tailwind, styling, stylesheet*, layout*, responsive, "
        "accessibility, a11y, dark mode, animation*, component, components, storybook, design system, react, "
        "vue, angular, svelte, next js, nuxt, spa, client side, browser*, safari, firefox, chrome, mobile "
        "view"
    ),
)
BACKEND = Lexicon(
    "backend",
    terms(
        "api, apis, endpoint*, server, servers, server side, backend, back end, database*, db, sql, query, "
        "queries, orm, service, services, microservice*, handler*, middleware, queue*, webhook*, worker*, "
        "celery, cron, job, jobs, cache, caching, redis, graphql, rest, grpc, websocket*, "
        "push notification*, serializer*, model, models, schema*, migration*, session*, rate limit*, "
        "pagination, upload*, export*, email*, notification*, payment*, auth, authenticat*, authoriz*, "
        "login, jwt, oauth*, csv, pdf, django, fastapi, flask, express, node"
    ),
)
DATA_ENGINEERING = Lexicon(
    "data-engineering",
    terms(
        "etl, elt, data pipeline*, ingest*, warehouse, data lake, lakehouse, spark, airflow, "
        "dag, dags, dbt, kafka, batch job*, bigquery, snowflake, redshift, parquet, "
        "cdc, stream processing, event stream*"
    ),
)
MACHINE_LEARNING = Lexicon(
    "machine-learning",
    terms(
        "machine learning, ml, model training, train a, train the, training data, predict*, "
        "classifier*, classification, forecast*, clustering, recommendation*, recommender, "
        "embedding*, llm, anomaly detection, neural, feature engineering, regression model, "
        "propensity, uplift, statistical model*"
    ),
)
VISUALIZATION = Lexicon(
    "visualization",
    terms(
        "chart, charts, visualization*, visualisation*, visualize, visualise, dashboard*, plot, "
        "plots, graph, graphs, heatmap*, infographic*"
    ),
)
ANALYTICS = Lexicon(
    "analytics",
    terms(
        "analytics, analysis, analyze, analyse, kpi, kpis, metric, metrics, cohort*, funnel, "
        "report, reports, reporting, insight*, segment*, trend*, retention rate"
    ),
)
INFRA = Lexicon(
    "infrastructure",
    terms(
        "deploy*, docker*, container*, kubernetes, k8s, helm, terraform, ci, ci cd, "
        "github actions, gitlab ci, ci pipeline, build pipeline, staging, infrastructure, "
        "provision*, ansible, nginx, load balancer*, autoscal*, cloudformation, aws, gcp, azure, "
        "ecs, eks, serverless, cdn, dns, vpc, release pipeline"
    ),
)
OBSERVABILITY = Lexicon(
    "observability",
    terms(
        "monitoring, alert, alerts, alerting, slo, slos, sli, slis, sla, observability, "
        "prometheus, grafana, datadog, opentelemetry, tracing, on call, pager*, uptime, "
        "incident*, error budget, health check*"
    ),
)
#: Running systems (as opposed to build tooling): work on them needs a reliability engineer to verify.
RUNTIME = Lexicon(
    "runtime",
    terms(
        "production, prod, staging, deploy*, kubernetes, k8s, helm, cluster*, load balancer*, autoscal*, "
        "environment*, dns, cdn, rotate, rotation, database*, server, servers, uptime, traffic"
    ),
)
DATABASE = Lexicon(
    "database",
    terms(
        "database*, db, schema*, sql, postgres*, mysql, sqlite, mongo*, orm, alembic, "
        "foreign key*, alter table, add column, drop column, rename column, index, indexes, "
        "column, columns, table, tables, backfill*, data migration"
    ),
)
#: Words that show a change touches stored schema (so Django-style migrations/ folders must stay writable).
SCHEMA_CHANGE = Lexicon(
    "schema-change",
    terms(
        "schema*, column, columns, field, fields, model, models, table, tables, index, indexes, "
        "migration*, database*, db, foreign key*, constraint*"
    ),
)
ARCHITECTURE_DOCS = Lexicon(
    "architecture-docs",
    terms("architecture, adr, adrs, design doc*, system design, diagram*, overview, data flow"),
)
QUALITY_FOCUS = Lexicon(
    "quality",
    terms(
        "code quality, code smell*, smell*, dead code, lint*, complexity, duplication, "
        "maintainab*, tech debt, technical debt, readability, conventions, style"
    ),
)
PERFORMANCE = Lexicon(
    "performance",
    terms(
        "performance, latency, throughput, scalab*, scale, scaling, load, slow, bottleneck*, "
        "capacity, p95, p99, reliability, availability, resilien*, traffic"
    ),
)
README_TARGET = Lexicon("readme", terms("readme"))

# --- Risk ---------------------------------------------------------------------------------------------------

AUTH = Lexicon(
    "auth",
    terms(
        "auth, authn, authz, authenticat*, unauthenticat*, authoriz*, authoris*, unauthoriz*, "
        "unauthoris*, oauth*, jwt*, login*, log in, logins, sign in, signin, sso, saml, "
        "password*, passwd, passkey*, mfa, 2fa, two factor, totp, rbac, permission*, "
        "access control, session token*, openid, oidc"
    ),
)
PAYMENTS = Lexicon(
    "payments",
    terms(
        "payment*, billing, stripe, paypal, braintree, adyen, refund*, chargeback*, "
        "credit card*, card number*, pci, payout*, ledger"
    ),
)
PRODUCTION = Lexicon("production", terms("production, prod, live environment, live traffic, live database"))
DEPLOY = Lexicon("deploy", terms("deploy*, rollout, roll out, release to"))
INFRA_RISK = Lexicon(
    "infrastructure",
    terms(
        "infrastructure, terraform, kubernetes, k8s, helm, cloudformation, ansible, dns, "
        "load balancer*, firewall*, vpc, iam, network polic*"
    ),
)
SECURITY = Lexicon(
    "security",
    terms(
        "security, vulnerab*, cve, cves, exploit*, owasp, xss, csrf, sql injection, injection, "
        "rce, ssrf, privilege escalation, pentest*, penetration test*, sanitiz*, sanitis*"
    ),
)
SECRETS = Lexicon(
    "secrets",
    terms(
        "secret, secrets, credential*, api key, api keys, private key*, encryption key*, "
        "access token*, token, tokens, encrypt*, decrypt*, certificate*, tls, ssl, vault, kms"
    ),
)
REGULATED = Lexicon(
    "regulated",
    terms(
        "compliance, compliant, gdpr, hipaa, pci, sox, soc2, soc 2, ccpa, regulat*, pii, phi, "
        "personal data, personally identifiable, patient*, medical record*, health record*, ssn, "
        "social security, data protection, data subject*, right to be forgotten, "
        "retention polic*, date of birth, audit trail"
    ),
)
MEDIUM_RISK = Lexicon(
    "medium",
    terms(
        "migrat*, database*, db, postgres*, mysql, schema*, sql, alter table, data pipeline*, etl, bash, "
        "shell script*, shell, cron*, public api, breaking change*, api version*, versioned api, "
        "backfill*, bulk update*, concurren*, race condition*, deadlock*, cache invalidation, "
        "feature flag*"
    ),
)
DESTRUCTIVE = Lexicon(
    "destructive",
    terms(
        "delete, deletes, deleted, deleting, deletion, purge*, wipe*, truncat*, drop, drops, dropping, "
        "erase*, destroy*, hard delete*, remove all"
    ),
)
DATA_NOUNS = Lexicon(
    "data-nouns",
    terms(
        "data, database*, db, table, tables, record, records, row, rows, column, columns, users, "
        "accounts, customers, backup*, bucket*, collection*, index, indexes, schema*, history, "
        "logs"
    ),
)
DROP_STATEMENTS = Lexicon(
    "drop-statements",
    terms("drop table, drop tables, drop database, drop schema, truncate table, drop the database"),
)
MIGRATION_WORDS = Lexicon(
    "migration-words",
    terms("migrat*, schema change*, alter table, backfill*, data migration, move data, re platform*"),
)
ROTATION = Lexicon("rotation", terms("rotate, rotating, rotation, re key, rekey"))
ROTATED_THINGS = Lexicon(
    "rotated",
    terms("secret*, credential*, key, keys, password*, token*, certificate*, api key*"),
)
PERSONAL_DATA = Lexicon(
    "personal-data",
    terms(
        "pii, personal data, personally identifiable, customer data, user data, patient*, "
        "medical record*, health record*, ssn, social security, gdpr, hipaa, phi, "
        "email addresses, phone numbers, date of birth"
    ),
)
DATA_EXPORT = Lexicon(
    "export",
    terms(
        "export*, dump*, download*, share, sharing, shared with, transfer*, extract*, send to, "
        "third party, third parties, sync to, hand over, subject access"
    ),
)
SECURITY_REVIEW_TRIGGERS: tuple[Lexicon, ...] = (AUTH, PAYMENTS, SECURITY, SECRETS)
