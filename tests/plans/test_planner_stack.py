"""Stack detection from project files (tmp_path projects) and from technology names in a description."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plans.planner import AgentInfo, PlanRequest, Stack, detect_stack, make_plan, stack_from_description
from plans.planner import stack as stack_module


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def package_json(dependencies: dict[str, str] | None = None, scripts: dict[str, str] | None = None) -> str:
    return json.dumps({"name": "app", "dependencies": dependencies or {}, "scripts": scripts or {}})


def test_python_project(tmp_path):
    stack = detect_stack(
        str(write(tmp_path, {"pyproject.toml": "[project]\nname='x'\n", "README.md": "# x"}))
    )
    assert (stack.language, stack.framework, stack.label) == ("python", None, "python")
    assert stack.test_command == "pytest"
    assert stack.build_command == "python -m compileall -q ."
    assert stack.markers == ("README.md", "pyproject.toml")


def test_python_project_with_ruff_lints(tmp_path):
    write(tmp_path, {"pyproject.toml": "[tool.ruff]\nline-length = 100\n", "src/app/__init__.py": ""})
    stack = detect_stack(str(tmp_path))
    assert stack.build_command == "ruff check ."
    assert stack.source_dirs == ("src/",)


def test_django_project(tmp_path):
    write(
        tmp_path,
        {
            "manage.py": "",
            "requirements.txt": "Django==5.2\npytest-django\n",
            "shop/__init__.py": "",
            "shop/settings.py": "",
            "tests/test_x.py": "",
        },
    )
    stack = detect_stack(str(tmp_path))
    assert stack.label == "python/django"
    assert stack.test_command == "pytest"
    assert stack.build_command == "python manage.py check"
    assert stack.source_dirs == ("shop/",)
    assert stack.test_dirs == ("tests/",)
    assert stack.markers == ("manage.py", "requirements.txt")


@pytest.mark.parametrize(
    ("requirement", "framework"), [("fastapi>=0.110", "fastapi"), ("Flask==3.0", "flask")]
)
def test_python_web_frameworks_named_in_requirements(tmp_path, requirement, framework):
    write(tmp_path, {"requirements.txt": f"{requirement}\nuvicorn\n"})
    assert detect_stack(str(tmp_path)).framework == framework


def test_node_project(tmp_path):
    write(tmp_path, {"package.json": package_json({"express": "^4"}, {"build": "tsc", "test": "jest"})})
    stack = detect_stack(str(tmp_path))
    assert stack.label == "javascript/express"
    assert (stack.test_command, stack.build_command) == ("npm test", "npm run build")


def test_typescript_react_project(tmp_path):
    write(
        tmp_path,
        {
            "package.json": package_json(
                {"react": "^18", "react-dom": "^18"}, {"test": "vitest", "build": "vite"}
            ),
            "tsconfig.json": "{}",
            "yarn.lock": "",
            "src/App.tsx": "",
        },
    )
    stack = detect_stack(str(tmp_path))
    assert (stack.language, stack.framework, stack.frontend) == ("typescript", "react", "react")
    assert (stack.test_command, stack.build_command) == ("yarn test", "yarn run build")
    assert stack.frontend_dirs == ("src/",)


def test_next_and_vue_are_frontend_frameworks(tmp_path):
    next_app = write(tmp_path / "next", {"package.json": package_json({"next": "14"}), "next.config.js": ""})
    vue_app = write(tmp_path / "vue", {"package.json": package_json({"vue": "3"})})
    assert detect_stack(str(next_app)).frontend == "react"
    assert detect_stack(str(vue_app)).label == "javascript/vue"


def test_typescript_without_build_script_type_checks(tmp_path):
    write(tmp_path, {"package.json": package_json({}, {"test": "jest"}), "tsconfig.json": "{}"})
    assert detect_stack(str(tmp_path)).build_command == "npx tsc --noEmit"


def test_go_project(tmp_path):
    write(tmp_path, {"go.mod": "module example.com/x\n", "cmd/x/main.go": "", "internal/a/a.go": ""})
    stack = detect_stack(str(tmp_path))
    assert stack.label == "go"
    assert (stack.test_command, stack.build_command) == ("go test ./...", "go build ./...")
    assert stack.source_dirs == ("cmd/", "internal/")


def test_rust_project(tmp_path):
    stack = detect_stack(str(write(tmp_path, {"Cargo.toml": "[package]\nname='x'\n", "src/main.rs": ""})))
    assert stack.label == "rust"
    assert (stack.test_command, stack.build_command) == ("cargo test", "cargo build")


def test_java_maven_and_gradle_projects(tmp_path):
    maven = write(tmp_path / "m", {"pom.xml": "<artifactId>spring-boot-starter-web</artifactId>"})
    gradle = write(tmp_path / "g", {"build.gradle.kts": "plugins {}", "gradlew": ""})
    assert detect_stack(str(maven)).label == "java/spring"
    assert detect_stack(str(maven)).test_command == "mvn test"
    assert (detect_stack(str(gradle)).test_command, detect_stack(str(gradle)).build_command) == (
        "./gradlew test",
        "./gradlew assemble",
    )


def test_dotnet_project(tmp_path):
    write(
        tmp_path,
        {"Shop.sln": "", "src/Shop.Web/Shop.Web.csproj": "", "tests/Shop.Tests/Shop.Tests.csproj": ""},
    )
    stack = detect_stack(str(tmp_path))
    assert stack.label == "csharp/dotnet"
    assert (stack.test_command, stack.build_command) == ("dotnet test", "dotnet build")


def test_ruby_project(tmp_path):
    write(tmp_path, {"Gemfile": "gem 'rails'\ngem 'rspec-rails'\n"})
    stack = detect_stack(str(tmp_path))
    assert stack.label == "ruby/rails"
    assert stack.test_command == "bundle exec rspec"


@pytest.mark.parametrize("kind", ["none", "empty", "missing"])
def test_nothing_known(tmp_path, kind):
    path = {"none": None, "empty": str(tmp_path), "missing": str(tmp_path / "nope")}[kind]
    stack = detect_stack(path)
    assert stack == Stack()
    assert stack.label is None


def test_root_markers_win_over_nested_ones(tmp_path):
    write(tmp_path, {"pyproject.toml": "", "tools/gen/go.mod": "module x\n"})
    assert detect_stack(str(tmp_path)).label == "python"


def test_python_beats_plain_javascript_at_the_root(tmp_path):
    write(tmp_path, {"pyproject.toml": "", "package.json": package_json({"prettier": "3"})})
    stack = detect_stack(str(tmp_path))
    assert stack.label == "python"
    assert stack.frontend is None


def test_python_with_a_react_frontend_is_full_stack(tmp_path):
    write(
        tmp_path,
        {
            "manage.py": "",
            "pyproject.toml": 'dependencies = ["django"]\n',
            "frontend/package.json": package_json({"react": "18"}, {"build": "vite build", "test": "vitest"}),
        },
    )
    stack = detect_stack(str(tmp_path))
    assert stack.label == "python/django+react"
    assert stack.test_command == "pytest && npm --prefix frontend test"
    assert stack.build_command == "python manage.py check && npm --prefix frontend run build"
    assert stack.frontend_dirs == ("frontend/",)


def test_nested_only_projects_run_commands_in_their_folder(tmp_path):
    write(tmp_path, {"service/go.mod": "module x\n"})
    stack = detect_stack(str(tmp_path))
    assert stack.label == "go"
    assert stack.test_command == "cd service && go test ./..."


def test_dependency_and_hidden_folders_are_skipped(tmp_path):
    write(
        tmp_path,
        {
            "node_modules/left-pad/package.json": package_json(),
            ".venv/lib/pyproject.toml": "",
            "build/setup.py": "",
            "go.mod": "module x\n",
        },
    )
    stack = detect_stack(str(tmp_path))
    assert stack.label == "go"
    assert stack.markers == ("go.mod",)


def test_markers_deeper_than_two_levels_are_ignored(tmp_path):
    write(tmp_path, {"a/b/c/Cargo.toml": ""})
    assert detect_stack(str(tmp_path)) == Stack()


def test_scan_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(stack_module, "MAX_SCAN_ENTRIES", 20)
    write(tmp_path, {f"data/file{index:03}.csv": "" for index in range(100)})
    write(tmp_path, {"zzz/pyproject.toml": ""})
    assert detect_stack(str(tmp_path)).language is None


def test_infrastructure_markers(tmp_path):
    write(
        tmp_path,
        {
            "go.mod": "module x\n",
            "Dockerfile": "FROM golang",
            "infra/main.tf": "",
            ".github/workflows/ci.yml": "",
            "charts/api/Chart.yaml": "",
        },
    )
    stack = detect_stack(str(tmp_path))
    assert stack.infra == ("docker", "github-actions", "helm", "terraform")
    assert "Dockerfile" in stack.markers


def test_a_plan_scans_the_project_and_lists_its_markers_as_context(tmp_path):
    write(
        tmp_path,
        {
            "pyproject.toml": "[project]\ndependencies = ['fastapi']\n",
            "README.md": "# api",
            "app/__init__.py": "",
        },
    )
    registry = [
        AgentInfo.from_name(name, category="Engineering")
        for name in ("backend-engineer", "backend-engineer--python", "test-engineer--python")
    ]
    plan = make_plan(
        PlanRequest(description="Add a health endpoint", project_path=str(tmp_path)),
        registry,
        plan_id="p",
        created_at="t",
    )
    assert plan.stack == "python/fastapi"
    step = plan.phases[0].steps[0]
    assert step.agent_name == "backend-engineer--python"
    assert step.context_files == ["README.md", "pyproject.toml"]
    assert step.allowed_paths == ["app/", "tests/"]


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Add a Django view for invoices", "python/django"),
        ("Add a FastAPI route for health checks", "python/fastapi"),
        ("Speed up the pandas report script", "python"),
        ("Refactor the Go service that sends emails", "go"),
        ("Port the importer to Go", "go"),
        ("Publish the Rust crate to crates.io", "rust"),
        ("Add a React component for the avatar", "javascript/react"),
        ("Add a TypeScript React hook for polling", "typescript/react"),
        ("Add a Vue.js date picker", "javascript/vue"),
        ("Upgrade the Spring Boot service", "java/spring"),
        ("Add a Blazor page to the .NET admin", "csharp/dotnet"),
        ("Add a Rails controller for reports", "ruby/rails"),
        ("Add a Node.js worker for thumbnails", "javascript"),
        ("Add a Django API and a React dashboard", "python/django+react"),
        ("Let users go to the settings page", None),
        ("Users should react to comments with emoji", None),
        ("Optimise cargo capacity planning", None),
    ],
)
def test_stack_hints_from_the_description(text, label):
    assert stack_from_description(text).label == label


def test_description_hints_carry_commands():
    stack = stack_from_description("Fix the flaky Go service tests")
    assert (stack.test_command, stack.build_command) == ("go test ./...", "go build ./...")
    assert stack.from_description


def test_description_infrastructure_hints():
    assert stack_from_description("Provision the cluster with Terraform and Helm").infra == (
        "helm",
        "terraform",
    )
