"""Project stack detection: from marker files in a project directory, or from hints in the description.

The directory scan looks at the root and two levels below it, in sorted order, skipping dependency and build
folders and hidden folders, and stops after `MAX_SCAN_ENTRIES` entries so a huge tree stays fast. Root markers
win over nested ones; at the same depth a backend language wins over JavaScript, and a JavaScript frontend
framework found anywhere in the scan makes the project full stack (python + react).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .models import Stack
from .text import Doc

SKIP_DIRS = frozenset(
    {
        "node_modules", ".git", ".venv", "venv", "env", "__pycache__", "dist", "build", "target", "vendor",
        "site-packages", "coverage", "htmlcov", "out", "bin", "obj",
    }
)  # fmt: skip
MAX_DEPTH = 2
MAX_SCAN_ENTRIES = 4000
MAX_MANIFEST_BYTES = 512 * 1024

PYTHON_MANIFESTS = frozenset({"pyproject.toml", "setup.py", "Pipfile"})
LANGUAGE_MANIFESTS: dict[str, str] = {
    "package.json": "javascript",
    "tsconfig.json": "typescript",
    "go.mod": "go",
    "Cargo.toml": "rust",
    "pom.xml": "java",
    "build.gradle": "java",
    "build.gradle.kts": "java",
    "Gemfile": "ruby",
}
FRAMEWORK_FILES: dict[str, str] = {
    "manage.py": "django",
    "next.config.js": "react",
    "next.config.mjs": "react",
    "next.config.ts": "react",
    "nuxt.config.js": "vue",
    "nuxt.config.ts": "vue",
    "angular.json": "angular",
    "svelte.config.js": "svelte",
}
INFRA_FILES: dict[str, str] = {
    "Dockerfile": "docker",
    "docker-compose.yml": "compose",
    "docker-compose.yaml": "compose",
    "compose.yml": "compose",
    "compose.yaml": "compose",
    "Chart.yaml": "helm",
    "kustomization.yaml": "kubernetes",
}
CONTEXT_FILES = frozenset({"README.md", "README.rst", "README", "CLAUDE.md", "AGENTS.md"})
#: Order in which languages found at the same depth become primary: backend languages before JavaScript.
LANGUAGE_PRIORITY: tuple[str, ...] = (
    "python",
    "go",
    "rust",
    "java",
    "csharp",
    "ruby",
    "typescript",
    "javascript",
)
#: package.json dependency → frontend family, most specific first.
FRONTEND_DEPENDENCIES: tuple[tuple[str, str], ...] = (
    ("next", "react"),
    ("react", "react"),
    ("nuxt", "vue"),
    ("vue", "vue"),
    ("@angular/core", "angular"),
    ("@sveltejs/kit", "svelte"),
    ("svelte", "svelte"),
)
BACKEND_JS_DEPENDENCIES: tuple[tuple[str, str], ...] = (
    ("@nestjs/core", "nestjs"),
    ("express", "express"),
    ("fastify", "fastify"),
    ("koa", "koa"),
)
_JS = ("typescript", "javascript")


@dataclass
class _Scan:
    """Files found by the bounded walk, keyed by relative posix path, with their depth (root = 0)."""

    root: str
    files: dict[str, int] = field(default_factory=dict)
    top_dirs: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    truncated: bool = False

    def named(self, *names: str) -> list[str]:
        wanted = set(names)
        return [path for path in self.files if path.rsplit("/", 1)[-1] in wanted]

    def has(self, name: str) -> bool:
        return bool(self.named(name))

    def read(self, path: str) -> str:
        try:
            full = os.path.join(self.root, path)
            if os.path.getsize(full) > MAX_MANIFEST_BYTES:
                return ""
            with open(full, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return ""


def _scan(root: str) -> _Scan:
    scan = _Scan(root=root)
    budget = MAX_SCAN_ENTRIES
    queue: list[tuple[str, int]] = [("", 0)]
    while queue:
        relative, depth = queue.pop(0)
        try:
            with os.scandir(os.path.join(root, relative) if relative else root) as iterator:
                entries = sorted(iterator, key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            budget -= 1
            if budget < 0:
                scan.truncated = True
                return scan
            path = f"{relative}/{entry.name}" if relative else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if entry.name.startswith(".") or entry.name in SKIP_DIRS or entry.name.endswith(".egg-info"):
                    continue
                if depth == 0:
                    scan.top_dirs.append(entry.name)
                if depth < MAX_DEPTH:
                    queue.append((path, depth + 1))
            else:
                scan.files[path] = depth
                if depth == 1 and entry.name == "__init__.py":
                    scan.packages.append(relative)
    return scan


def _language_of(name: str) -> str | None:
    if name in PYTHON_MANIFESTS or (name.startswith("requirements") and name.endswith(".txt")):
        return "python"
    if name.endswith((".csproj", ".sln")):
        return "csharp"
    return LANGUAGE_MANIFESTS.get(name)


def _package_json(scan: _Scan, path: str) -> dict[str, object]:
    try:
        data = json.loads(scan.read(path) or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _dependencies(package: dict[str, object]) -> set[str]:
    names: set[str] = set()
    for key in ("dependencies", "devDependencies", "peerDependencies"):
        section = package.get(key)
        if isinstance(section, dict):
            names.update(str(name) for name in section)
    return names


def _scripts(package: dict[str, object]) -> set[str]:
    scripts = package.get("scripts")
    return {str(name) for name in scripts} if isinstance(scripts, dict) else set()


def _dir_of(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _named_in(text: str, name: str) -> bool:
    # "django-environ" and "rspec-rails" name their base package; "pytest-django" does not name django.
    return re.search(rf"(?<![\w-]){re.escape(name)}(?!\w)", text, re.IGNORECASE) is not None


@dataclass
class _JsProject:
    directory: str
    language: str
    frontend: str | None
    backend: str | None
    scripts: set[str]
    manager: str

    def command(self, script: str) -> str:
        if not self.directory:
            return f"{self.manager} test" if script == "test" else f"{self.manager} run {script}"
        run = "test" if script == "test" else f"run {script}"
        flag = {"npm": "--prefix", "yarn": "--cwd", "pnpm": "--dir"}[self.manager]
        return f"{self.manager} {flag} {self.directory} {run}"

    @property
    def test_command(self) -> str:
        return self.command("test")

    @property
    def build_command(self) -> str:
        if "build" in self.scripts or not self.scripts:
            return self.command("build")
        if self.language == "typescript":
            prefix = f"cd {self.directory} && " if self.directory else ""
            return f"{prefix}npx tsc --noEmit"
        if "lint" in self.scripts:
            return self.command("lint")
        return self.test_command


def _js_project(scan: _Scan, package_path: str) -> _JsProject:
    directory = _dir_of(package_path)
    package = _package_json(scan, package_path)
    dependencies = _dependencies(package)
    frontend = next((family for dep, family in FRONTEND_DEPENDENCIES if dep in dependencies), None)
    if frontend is None:
        frontend = next(
            (
                family
                for name, family in FRAMEWORK_FILES.items()
                if family != "django" and _join(directory, name) in scan.files
            ),
            None,
        )
    backend = next((framework for dep, framework in BACKEND_JS_DEPENDENCIES if dep in dependencies), None)
    typescript = _join(directory, "tsconfig.json") in scan.files or "typescript" in dependencies
    if _join(directory, "pnpm-lock.yaml") in scan.files:
        manager = "pnpm"
    elif _join(directory, "yarn.lock") in scan.files:
        manager = "yarn"
    else:
        manager = "npm"
    return _JsProject(
        directory=directory,
        language="typescript" if typescript else "javascript",
        frontend=frontend,
        backend=backend,
        scripts=_scripts(package),
        manager=manager,
    )


def _existing(scan: _Scan, candidates: Iterable[str], default: tuple[str, ...]) -> tuple[str, ...]:
    found = tuple(f"{name}/" for name in candidates if name in scan.top_dirs)
    return found or default


def _in_dir(directory: str, command: str) -> str:
    return f"cd {directory} && {command}" if directory else command


def detect_stack(project_path: str | None) -> Stack:
    """Detect the stack of the project at `project_path` from its files; an empty Stack when nothing is known.

    The caller validates the path (absolute, an existing directory, inside the allowed root); a path that does
    not exist simply yields an empty Stack.
    """
    if not project_path or not os.path.isdir(project_path):
        return Stack()
    scan = _scan(project_path)

    by_depth: dict[int, dict[str, list[str]]] = {}
    for path, depth in scan.files.items():
        language = _language_of(path.rsplit("/", 1)[-1])
        if language is not None:
            by_depth.setdefault(depth, {}).setdefault(language, []).append(path)
    if not by_depth:
        return _infra_only(scan)
    depth = min(by_depth)
    languages = by_depth[depth]
    present = set(languages)
    if "typescript" in present:
        present.add("javascript")
    primary = next(language for language in LANGUAGE_PRIORITY if language in present)

    packages = sorted(scan.named("package.json"), key=lambda path: (scan.files[path], path))
    js_projects = [_js_project(scan, path) for path in packages]
    if primary in _JS:
        root_js = next(
            (js for js in js_projects if scan.files.get(_join(js.directory, "package.json")) == depth), None
        )
        stack = _js_stack(scan, root_js or (js_projects[0] if js_projects else None))
    else:
        frontend_js = next((js for js in js_projects if js.frontend), None)
        stack = _backend_stack(scan, primary, languages[primary], frontend_js)
    return stack


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def _markers(scan: _Scan, extra: Iterable[str] = ()) -> tuple[str, ...]:
    names = (
        set(LANGUAGE_MANIFESTS) | PYTHON_MANIFESTS | set(FRAMEWORK_FILES) | set(INFRA_FILES) | CONTEXT_FILES
    )
    found = [
        path
        for path in scan.files
        if path.rsplit("/", 1)[-1] in names
        or path.endswith((".csproj", ".sln", ".tf"))
        or (path.rsplit("/", 1)[-1].startswith("requirements") and path.endswith(".txt"))
    ]
    found.extend(extra)
    unique = dict.fromkeys(found)
    return tuple(sorted(unique, key=lambda path: (scan.files.get(path, 0), path)))


def _infra(scan: _Scan) -> tuple[str, ...]:
    kinds = {INFRA_FILES[path.rsplit("/", 1)[-1]] for path in scan.named(*INFRA_FILES)}
    if any(path.endswith(".tf") for path in scan.files):
        kinds.add("terraform")
    if any(name in scan.top_dirs for name in ("k8s", "kubernetes", "manifests")):
        kinds.add("kubernetes")
    if os.path.isdir(os.path.join(scan.root, ".github", "workflows")):
        kinds.add("github-actions")
    if os.path.isfile(os.path.join(scan.root, ".gitlab-ci.yml")):
        kinds.add("gitlab-ci")
    return tuple(sorted(kinds))


def _docs_command(scan: _Scan) -> str | None:
    if "mkdocs.yml" in scan.files:
        return "mkdocs build --strict"
    if "docs/conf.py" in scan.files:
        return "sphinx-build -W -b html docs docs/_build/html"
    lint_configs = (
        ".markdownlint.json",
        ".markdownlint.yaml",
        ".markdownlint.yml",
        ".markdownlint-cli2.yaml",
    )
    if any(name in scan.files for name in lint_configs):
        return 'npx markdownlint-cli2 "**/*.md"'
    return None


def _infra_only(scan: _Scan) -> Stack:
    infra = _infra(scan)
    markers = _markers(scan)
    if not infra and not markers:
        return Stack(docs_command=_docs_command(scan))
    return Stack(markers=markers, infra=infra, docs_command=_docs_command(scan))


def _js_stack(scan: _Scan, js: _JsProject | None) -> Stack:
    if js is None:  # only a tsconfig.json: a TypeScript project without a manifest
        return Stack(
            language="typescript",
            test_command="npm test",
            build_command="npx tsc --noEmit",
            markers=_markers(scan),
            source_dirs=_existing(scan, ("src", "lib"), ("src/",)),
            test_dirs=_existing(scan, ("tests", "test", "__tests__"), ("tests/",)),
            infra=_infra(scan),
            docs_command=_docs_command(scan),
        )
    prefix = f"{js.directory}/" if js.directory else ""
    source_candidates = ("src", "app", "pages", "components", "lib", "server", "api")
    if js.directory:
        source_dirs: tuple[str, ...] = (f"{js.directory}/",)
    else:
        source_dirs = _existing(scan, source_candidates, ("src/",))
    return Stack(
        language=js.language,
        framework=js.frontend or js.backend,
        test_command=js.test_command,
        build_command=js.build_command,
        markers=_markers(scan),
        frontend=js.frontend,
        source_dirs=source_dirs,
        frontend_dirs=source_dirs if js.frontend else (),
        test_dirs=tuple(
            f"{prefix}{d}" for d in _existing(scan, ("tests", "test", "__tests__", "e2e"), ("tests/",))
        ),
        infra=_infra(scan),
        docs_command=_docs_command(scan),
    )


def _backend_stack(scan: _Scan, language: str, manifests: list[str], frontend_js: _JsProject | None) -> Stack:
    directory = _dir_of(sorted(manifests)[0])
    manifest_text = "\n".join(scan.read(path) for path in sorted(manifests) if not path.endswith(".sln"))
    framework: str | None
    if language == "python":
        framework, test, build, source, tests = _python_details(scan, directory, manifest_text)
    else:
        framework, test, build, source, tests = _other_details(scan, language, directory, manifest_text)
    frontend = frontend_js.frontend if frontend_js else None
    if frontend_js is not None:
        test = f"{test} && {frontend_js.test_command}"
        build = f"{build} && {frontend_js.build_command}"
    return Stack(
        language=language,
        framework=framework,
        test_command=test,
        build_command=build,
        markers=_markers(scan),
        frontend=frontend,
        source_dirs=source,
        test_dirs=tests,
        frontend_dirs=(f"{frontend_js.directory}/" if frontend_js.directory else "src/",)
        if frontend_js
        else (),
        infra=_infra(scan),
        docs_command=_docs_command(scan),
    )


def _python_details(
    scan: _Scan, directory: str, manifest_text: str
) -> tuple[str | None, str, str, tuple[str, ...], tuple[str, ...]]:
    manage = sorted(scan.named("manage.py"), key=lambda path: (scan.files[path], path))
    framework: str | None = None
    if manage or _named_in(manifest_text, "django"):
        framework = "django"
    elif _named_in(manifest_text, "fastapi"):
        framework = "fastapi"
    elif _named_in(manifest_text, "flask"):
        framework = "flask"
    uses_ruff = _named_in(manifest_text, "ruff") or bool(scan.named("ruff.toml", ".ruff.toml"))
    # pytest runs plain unittest suites too; it is the one test entry point the agents are told to use.
    test = "pytest"
    checks: list[str] = []
    if uses_ruff:
        checks.append("ruff check .")
    if framework == "django" and manage:
        checks.append(f"python {manage[0]} check")
    if not checks:
        checks.append("python -m compileall -q .")
    build = " && ".join(checks)
    if directory:
        test, build = _in_dir(directory, test), _in_dir(directory, build)
    ignored = {"tests", "test", "docs", "scripts", "migrations"}
    packages = [f"{name}/" for name in scan.packages if name not in ignored]
    if "src" in scan.top_dirs:
        packages.insert(0, "src/")
    if directory and not packages:
        packages = [f"{directory}/"]
    source = tuple(packages[:6]) or ("*.py",)
    tests = _existing(scan, ("tests", "test"), ("tests/",))
    return framework, test, build, source, tests


def _other_details(
    scan: _Scan, language: str, directory: str, manifest_text: str
) -> tuple[str | None, str, str, tuple[str, ...], tuple[str, ...]]:
    framework: str | None = None
    if language == "go":
        test, build = "go test ./...", "go build ./..."
        source = _existing(scan, ("cmd", "internal", "pkg"), ("*.go",))
        tests: tuple[str, ...] = ("**/*_test.go",)
    elif language == "rust":
        test, build = "cargo test", "cargo build"
        source, tests = ("src/",), ("tests/",)
    elif language == "java":
        if _named_in(manifest_text, "spring-boot") or "org.springframework" in manifest_text:
            framework = "spring"
        if scan.named("pom.xml"):
            test, build = "mvn test", "mvn compile"
        else:
            gradle = "./gradlew" if scan.has("gradlew") else "gradle"
            test, build = f"{gradle} test", f"{gradle} assemble"
        source, tests = ("src/main/",), ("src/test/",)
    elif language == "csharp":
        framework = "dotnet"
        test, build = "dotnet test", "dotnet build"
        projects = sorted({_dir_of(path) for path in scan.files if path.endswith(".csproj")} - {""})
        source = tuple(f"{d}/" for d in projects if "test" not in d.lower()) or ("src/",)
        tests = tuple(f"{d}/" for d in projects if "test" in d.lower()) or ("tests/",)
    else:  # ruby
        if _named_in(manifest_text, "rails"):
            framework = "rails"
        rspec = _named_in(manifest_text, "rspec") or "spec" in scan.top_dirs
        test = "bundle exec rspec" if rspec else "bundle exec rake test"
        build = "bundle exec rubocop" if _named_in(manifest_text, "rubocop") else "bundle exec rake"
        source = _existing(scan, ("app", "lib"), ("app/", "lib/"))
        tests = ("spec/",) if rspec else ("test/",)
    if directory:
        test, build = _in_dir(directory, test), _in_dir(directory, build)
    return framework, test, build, source, tests


# --- Hints from the description -----------------------------------------------------------------------------

#: Technology names (as lower-case token sequences) -> what they say about the stack. One pass over the tokens
#: finds the first mention of each; the earliest backend mention decides the language.
_BACKEND_TERMS: dict[tuple[str, ...], tuple[str, str | None]] = {
    ("django",): ("python", "django"),
    ("fastapi",): ("python", "fastapi"),
    ("flask",): ("python", "flask"),
    **dict.fromkeys(
        [("python",), ("pytest",), ("pydantic",), ("sqlalchemy",), ("pandas",), ("jupyter",)],
        ("python", None),
    ),
    ("golang",): ("go", None),
    **dict.fromkeys([("rust",), ("rustc",)], ("rust", None)),
    ("spring", "boot"): ("java", "spring"),
    **dict.fromkeys([("java",), ("kotlin",), ("maven",), ("gradle",), ("jvm",)], ("java", None)),
    **dict.fromkeys(
        [("c#",), ("dotnet",), ("asp", "net"), ("blazor",), ("razor", "pages")], ("csharp", "dotnet")
    ),
    ("ruby", "on", "rails"): ("ruby", "rails"),
    **dict.fromkeys(
        [("rails", noun) for noun in ("app", "application", "api", "controller", "model", "migration")],
        ("ruby", "rails"),
    ),
    ("ruby",): ("ruby", None),
    **dict.fromkeys(
        [("node", "js"), ("nodejs",), ("nestjs",), ("express", "js")]
        + [("node", noun) for noun in ("service", "server", "backend", "api")],
        ("javascript", None),
    ),
}
#: "Go" is also an English verb: "Go service", "in Go" count only when the text spells the language "Go".
_GO_NOUNS = frozenset(
    {
        "service", "services", "module", "binary", "program", "code", "codebase", "app", "application", "api",
        "server", "cli", "backend", "microservice", "library", "package", "project", "worker",
    }
)  # fmt: skip
_GO_PREPOSITIONS = frozenset({"in", "using", "with", "to"})
_FRONTEND_TERMS: dict[tuple[str, ...], str] = {
    **dict.fromkeys([("react",), ("reactjs",), ("react", "js"), ("next", "js"), ("nextjs",)], "react"),
    **dict.fromkeys([("vue",), ("vuejs",), ("vue", "js"), ("nuxt",)], "vue"),
    **dict.fromkeys([("angular",), ("angularjs",)], "angular"),
    **dict.fromkeys([("svelte",), ("sveltekit",)], "svelte"),
}
_INFRA_TERMS: dict[tuple[str, ...], str] = {
    ("terraform",): "terraform",
    ("helm",): "helm",
    ("kubernetes",): "kubernetes",
    ("k8s",): "kubernetes",
    **dict.fromkeys([("docker",), ("dockerfile",), ("containerize",), ("containerise",)], "docker"),
    ("github", "actions"): "github-actions",
}
_FIRST_WORDS = frozenset(
    term[0] for table in (_BACKEND_TERMS, _FRONTEND_TERMS, _INFRA_TERMS) for term in table
) | {"typescript", "go"}
_CAPITAL_GO_RE = re.compile(r"\bGo\b")
_DOTNET_RE = re.compile(r"(?<![\w.])\.net\b")
_DEFAULT_COMMANDS: dict[str, tuple[str, str]] = {
    "python": ("pytest", "python -m compileall -q ."),
    "go": ("go test ./...", "go build ./..."),
    "rust": ("cargo test", "cargo build"),
    "java": ("mvn test", "mvn compile"),
    "csharp": ("dotnet test", "dotnet build"),
    "ruby": ("bundle exec rspec", "bundle exec rake"),
    "javascript": ("npm test", "npm run build"),
    "typescript": ("npm test", "npm run build"),
}
_DEFAULT_DIRS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "python": (("src/",), ("tests/",)),
    "go": (("cmd/", "internal/", "pkg/"), ("**/*_test.go",)),
    "rust": (("src/",), ("tests/",)),
    "java": (("src/main/",), ("src/test/",)),
    "csharp": (("src/",), ("tests/",)),
    "ruby": (("app/", "lib/"), ("spec/",)),
    "javascript": (("src/",), ("tests/",)),
    "typescript": (("src/",), ("tests/",)),
}


def stack_from_description(text: str, doc: Doc | None = None) -> Stack:
    """Best guess of the stack from technology names in the description (when project files say nothing)."""
    doc = doc if doc is not None else Doc(text)
    tokens = doc.tokens if not doc.words.isdisjoint(_FIRST_WORDS) else []
    backend: tuple[int, str, str | None] | None = None
    frontend: tuple[int, str] | None = None
    infra: set[str] = set()
    typescript = False
    capital_go: bool | None = None
    for index, word in enumerate(tokens):
        if word not in _FIRST_WORDS:
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        candidates = [
            (word,),
            (word, following),
            (word, following, tokens[index + 2] if index + 2 < len(tokens) else ""),
        ]
        for term in candidates:
            if backend is None and term in _BACKEND_TERMS:
                backend = (index, *_BACKEND_TERMS[term])
            if frontend is None and term in _FRONTEND_TERMS and not (word == "react" and following == "to"):
                frontend = (index, _FRONTEND_TERMS[term])
            if term in _INFRA_TERMS:
                infra.add(_INFRA_TERMS[term])
        if backend is None and word == "go":
            previous = tokens[index - 1] if index else ""
            if following in _GO_NOUNS or previous in _GO_PREPOSITIONS:
                if capital_go is None:
                    capital_go = _CAPITAL_GO_RE.search(text) is not None
                if capital_go:
                    backend = (index, "go", None)
        typescript = typescript or word == "typescript"
    if backend is None and _DOTNET_RE.search(text.lower()):
        backend = (len(tokens), "csharp", "dotnet")
    infra_kinds = tuple(sorted(infra))
    if backend is None and frontend is None:
        return Stack(infra=infra_kinds, from_description=True) if infra_kinds else Stack()

    if backend is None or backend[1] == "javascript":
        language = "typescript" if typescript else "javascript"
        framework = frontend[1] if frontend else None
    else:
        language, framework = backend[1], backend[2]
    if language == "python" and framework is None:
        # A framework named later in the text still refines a plain "python" mention.
        framework = next((fw for term, (lang, fw) in _BACKEND_TERMS.items() if fw and lang == "python" and
                          term[0] in tokens), None)  # fmt: skip
    test, build = _DEFAULT_COMMANDS[language]
    if framework == "django":
        build = "python manage.py check"
    frontend_name = frontend[1] if frontend else None
    if frontend_name and language not in _JS:
        test, build = f"{test} && npm test", f"{build} && npm run build"
    source, tests = _DEFAULT_DIRS[language]
    return Stack(
        language=language,
        framework=framework,
        test_command=test,
        build_command=build,
        frontend=frontend_name,
        source_dirs=source,
        test_dirs=tests,
        frontend_dirs=(("frontend/",) if language not in _JS else source) if frontend_name else (),
        infra=infra_kinds,
        from_description=True,
    )
