"""Tests for the pure agent-definition parser and the bundled roster (no Django, no database)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from agents import definition_files
from agents.definition_files import (
    BUNDLED_DIR,
    CATEGORIES,
    MODELS,
    AgentSpec,
    DefinitionError,
    category_for,
    load_folder,
    load_roster,
    parse_definition,
    split_name,
)
from tests.roster import ROSTER_CATEGORIES

REQUIRED_CATEGORIES = ROSTER_CATEGORIES

# The planner (reference section 5.6) treats a body of more than 200 words as "expert", which changes the step
# text it writes. These sets follow the upstream roster (section 15.6) so plans read the same.
SHORT_BODIES = {
    "architect",
    "backend-engineer",
    "frontend-engineer",
    "devops-engineer",
    "test-engineer",
    "data-engineer",
    "code-reviewer",
    "security-reviewer",
    "task-runner",
}
LONG_BODIES = {
    "backend-engineer--python",
    "backend-engineer--node",
    "frontend-engineer--react",
    "frontend-engineer--dotnet",
    "auditor",
    "data-analyst",
    "data-scientist",
    "visualization-expert",
    "subject-matter-expert",
    "orchestrator",
    "team-lead",
}

KNOWN_TOOLS = {"Read", "Write", "Edit", "Glob", "Grep", "Bash"}
HEX_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")


def write(folder: Path, file_name: str, text: str) -> Path:
    path = folder / file_name
    path.write_text(text, encoding="utf-8")
    return path


def definition(name: str | None = None, body: str = "Do the work.", **fields: str) -> str:
    lines = ["---"]
    if name is not None:
        lines.append(f"name: {name}")
    lines.extend(f"{key}: {value}" for key, value in fields.items())
    lines.append("---")
    lines.append(body)
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def bundled() -> dict[str, AgentSpec]:
    specs, errors = load_folder(BUNDLED_DIR)
    assert errors == []
    return {spec.name: spec for spec in specs}


# --- the bundled roster ----------------------------------------------------------------------------------------------


def test_bundled_roster_loads_without_errors() -> None:
    specs, errors = load_roster([])

    assert errors == []
    assert len(specs) >= 26
    assert [spec.name for spec in specs] == sorted(spec.name for spec in specs)
    assert len(specs) == len(list(BUNDLED_DIR.glob("*.md")))


def test_bundled_roster_has_every_required_agent_in_its_category(bundled: dict[str, AgentSpec]) -> None:
    missing = sorted(set(REQUIRED_CATEGORIES) - set(bundled))
    assert missing == []
    assert {name: bundled[name].category for name in REQUIRED_CATEGORIES} == REQUIRED_CATEGORIES


def test_bundled_roster_covers_all_seven_categories(bundled: dict[str, AgentSpec]) -> None:
    assert {spec.category for spec in bundled.values()} == set(CATEGORIES)


def test_bundled_explicit_categories_agree_with_the_base_name_table(bundled: dict[str, AgentSpec]) -> None:
    disagreeing = {
        name: (spec.category, category_for(spec.base_name, None))
        for name, spec in bundled.items()
        if spec.category != category_for(spec.base_name, None)
    }
    assert disagreeing == {}


def test_bundled_agents_have_substantial_bodies_with_an_output_section(bundled: dict[str, AgentSpec]) -> None:
    for name, spec in bundled.items():
        words = len(spec.instructions.split())
        assert 150 <= words <= 400, f"{name} has {words} words"
        assert "## Output" in spec.instructions, name
        assert spec.instructions.split("## Output", 1)[1].strip().startswith("- "), name


def test_bundled_body_lengths_match_the_planner_expertise_split(bundled: dict[str, AgentSpec]) -> None:
    assert {name for name in SHORT_BODIES if len(bundled[name].instructions.split()) > 200} == set()
    assert {name for name in LONG_BODIES if len(bundled[name].instructions.split()) <= 200} == set()


def test_bundled_agents_have_complete_front_matter(bundled: dict[str, AgentSpec]) -> None:
    for name, spec in bundled.items():
        assert Path(spec.source_path).stem == name
        assert spec.description, name
        assert "\n" not in spec.description, name
        assert spec.model in MODELS, name
        assert spec.color is not None, name
        assert HEX_COLOR.match(spec.color), name
        assert spec.tools, name
        assert set(spec.tools) <= KNOWN_TOOLS, name
        # Reviewers and advisors must not be able to edit files.
        if spec.base_name in {"architect", "code-reviewer", "security-reviewer", "auditor"}:
            assert {"Write", "Edit"} & set(spec.tools) == set(), name
            assert spec.permission_mode == "default", name


def test_every_flavoured_bundled_agent_has_its_base(bundled: dict[str, AgentSpec]) -> None:
    flavoured = {name: spec for name, spec in bundled.items() if spec.is_flavored}

    assert len(flavoured) == 10
    assert {spec.base_name for spec in flavoured.values()} == {
        "backend-engineer",
        "frontend-engineer",
        "test-engineer",
    }
    for spec in flavoured.values():
        assert spec.base_name in bundled
        assert bundled[spec.base_name].category == spec.category


def test_bundled_python_agent_is_parsed_exactly(bundled: dict[str, AgentSpec]) -> None:
    spec = bundled["backend-engineer--python"]

    assert spec.model == "sonnet"
    assert spec.permission_mode == "auto-edit"
    assert spec.color == "#3776AB"
    assert spec.tools == ("Read", "Write", "Edit", "Glob", "Grep", "Bash")
    assert spec.base_name == "backend-engineer"
    assert spec.flavor == "python"
    assert spec.source_path == str(BUNDLED_DIR / "backend-engineer--python.md")
    assert "pytest" in spec.instructions


# --- parse_definition: valid files -----------------------------------------------------------------------------------


def test_parse_full_definition(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "whatever.md",
        "---\n"
        "name: api-engineer--python\n"
        "description: |\n"
        "  Builds APIs.\n"
        "  Carefully.\n"
        "model: opus\n"
        "permissionMode: auto-edit\n"
        'color: "#112233"\n'
        "tools: [Read, Bash]\n"
        "category: data\n"
        "owner: someone\n"
        "---\n"
        "\n"
        "  First line.\n"
        "\n"
        "Second paragraph.\n\n\n",
    )

    assert parse_definition(path) == AgentSpec(
        name="api-engineer--python",
        description="Builds APIs.\nCarefully.",
        model="opus",
        permission_mode="auto-edit",
        color="#112233",
        tools=("Read", "Bash"),
        category="Data",
        base_name="api-engineer",
        flavor="python",
        instructions="First line.\n\nSecond paragraph.",
        source_path=str(path),
    )


def test_parse_defaults_from_minimal_file(tmp_path: Path) -> None:
    path = write(tmp_path, "release-manager.md", "---\n---\nShip it.\n")

    spec = parse_definition(path)

    assert spec == AgentSpec(
        name="release-manager",
        description="",
        model="sonnet",
        permission_mode="default",
        color=None,
        tools=(),
        category="Management",
        base_name="release-manager",
        flavor=None,
        instructions="Ship it.",
        source_path=str(path),
    )
    assert spec.is_flavored is False


def test_parse_name_defaults_to_file_stem(tmp_path: Path) -> None:
    path = write(tmp_path, "frontend-engineer--svelte.md", definition(description="Svelte UI"))

    spec = parse_definition(path)

    assert (spec.name, spec.base_name, spec.flavor, spec.category) == (
        "frontend-engineer--svelte",
        "frontend-engineer",
        "svelte",
        "Engineering",
    )
    assert spec.description == "Svelte UI"


def test_parse_comma_separated_tools(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", definition(tools="Read, Grep ,Bash,, Read"))

    assert parse_definition(path).tools == ("Read", "Grep", "Bash")


def test_parse_yaml_list_tools_keeps_order(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", "---\ntools:\n  - Bash\n  - Read\n---\nbody\n")

    assert parse_definition(path).tools == ("Bash", "Read")


def test_parse_tolerates_crlf_bom_and_trailing_spaces_on_delimiters(tmp_path: Path) -> None:
    path = tmp_path / "crlf.md"
    path.write_bytes(
        "\ufeff---  \r\nname: crlf-agent\r\nmodel: haiku\r\n---\t\r\nBody\r\nline two\r\n".encode()
    )

    spec = parse_definition(path)

    assert (spec.name, spec.model, spec.instructions) == ("crlf-agent", "haiku", "Body\nline two")


def test_parse_body_may_contain_further_delimiters(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", "---\nname: a\n---\nTop\n---\nBottom\n")

    assert parse_definition(path).instructions == "Top\n---\nBottom"


def test_unquoted_hash_colour_is_a_yaml_comment(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", "---\ncolor: #3776AB\n---\nbody\n")

    assert parse_definition(path).color is None


# --- parse_definition: malformed files -------------------------------------------------------------------------------

MALFORMED: list[tuple[str, str, str]] = [
    ("empty-file", "", "missing front matter"),
    ("no-front-matter", "# Agent\n\nJust prose.\n", "missing front matter"),
    ("delimiter-not-first", "\n---\nname: a\n---\nbody\n", "missing front matter"),
    ("unclosed", "---\nname: a\nmodel: opus\n", "not closed"),
    ("invalid-yaml", "---\nname: [unclosed\n---\nbody\n", "not valid YAML"),
    ("invalid-yaml-indent", "---\nname: a\n  model: opus\n---\nbody\n", "not valid YAML"),
    ("list-front-matter", "---\n- a\n- b\n---\nbody\n", "must be a mapping, not list"),
    ("scalar-front-matter", "---\njust words\n---\nbody\n", "must be a mapping, not str"),
    ("name-with-space", definition("Backend Engineer"), "invalid agent name 'Backend Engineer'"),
    ("name-with-underscore", definition("backend_engineer"), "invalid agent name 'backend_engineer'"),
    ("name-uppercase", definition("Architect"), "invalid agent name 'Architect'"),
    ("name-leading-hyphen", definition("-lead"), "invalid agent name '-lead'"),
    ("name-trailing-space-inside", definition("'lead two'"), "invalid agent name 'lead two'"),
    ("name-not-string", definition("42"), "name must be a string, not int"),
    ("description-list", definition(description="[a, b]"), "description must be a string, not list"),
    ("description-number", definition(description="42"), "description must be a string, not int"),
    ("unknown-model", definition(model="gpt-4"), "unknown model 'gpt-4'"),
    ("model-wrong-case", definition(model="Opus"), "unknown model 'Opus'"),
    ("model-not-string", definition(model="3"), "unknown model 3"),
    ("unknown-permission", definition(permissionMode="bypass"), "unknown permissionMode 'bypass'"),
    ("tools-number", definition(tools="42"), "tools must be a list of strings"),
    ("tools-mixed-list", definition(tools="[Read, 3]"), "tools must be a list of strings"),
    ("tools-mapping", definition(tools="{Read: yes}"), "tools must be a list of strings"),
    ("unknown-category", definition(category="Finance"), "unknown category 'Finance'"),
    ("category-not-string", definition(category="7"), "category must be a string, not int"),
    ("color-not-string", definition(color="123"), "color must be a string, not int"),
]


@pytest.mark.parametrize(("stem", "text", "message"), MALFORMED, ids=[case[0] for case in MALFORMED])
def test_parse_malformed_file_raises_definition_error_naming_the_path(
    tmp_path: Path, stem: str, text: str, message: str
) -> None:
    path = write(tmp_path, f"{stem}.md", text)

    with pytest.raises(DefinitionError) as caught:
        parse_definition(path)

    assert caught.value.path == path
    assert message in caught.value.message
    assert str(caught.value) == f"{path}: {caught.value.message}"


def test_parse_rejects_file_stem_that_is_not_a_slug(tmp_path: Path) -> None:
    path = write(tmp_path, "My Agent.md", definition())

    with pytest.raises(DefinitionError, match="invalid agent name 'My Agent'") as caught:
        parse_definition(path)
    assert caught.value.path == path


def test_parse_rejects_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.md"
    path.write_bytes(b"---\nname: latin\n---\nCaf\xe9\n")

    with pytest.raises(DefinitionError, match="not valid UTF-8") as caught:
        parse_definition(path)
    assert caught.value.path == path


def test_parse_rejects_unreadable_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing.md"
    folder = tmp_path / "folder.md"
    folder.mkdir()

    for path in (missing, folder):
        with pytest.raises(DefinitionError, match="cannot read file") as caught:
            parse_definition(path)
        assert caught.value.path == path


# --- names and categories --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("backend-engineer--python", ("backend-engineer", "python")),
        ("architect", ("architect", None)),
        ("frontend-engineer--react-native", ("frontend-engineer", "react-native")),
        ("a--b--c", ("a", "b")),
        ("trailing--", ("trailing", None)),
    ],
)
def test_split_name(name: str, expected: tuple[str, str | None]) -> None:
    assert split_name(name) == expected


@pytest.mark.parametrize(("base", "category"), sorted(definition_files.BASE_CATEGORIES.items()))
def test_category_table(base: str, category: str) -> None:
    assert category_for(base, None) == category


@pytest.mark.parametrize(
    ("base", "category"),
    [
        ("api-reviewer", "Quality"),
        ("qa-bot", "Quality"),
        ("contract-tester", "Quality"),
        ("security-test-bot", "Quality"),  # first matching rule wins
        ("compliance-checker", "Security"),
        ("security-champion", "Security"),
        ("log-auditor", "Security"),
        ("solution-architect", "Architecture"),
        ("ml-scientist", "Data"),
        ("bi-analyst", "Data"),
        ("visual-designer", "Data"),
        ("dataops-runner", "Data"),
        ("infra-bot", "Operations"),
        ("sre-oncall", "Operations"),
        ("mlops-engineer", "Operations"),
        ("reliability-guard", "Operations"),
        ("system-maintainer", "Operations"),
        ("release-manager", "Management"),
        ("ux-writer", "Management"),
        ("domain-expert", "Management"),
        ("squad-lead", "Management"),
        ("mobile-engineer", "Engineering"),
        ("test-engineer--go", "Quality"),  # a flavoured name is reduced to its base
    ],
)
def test_category_fallback_rules(base: str, category: str) -> None:
    assert category_for(base, None) == category


@pytest.mark.parametrize(
    ("explicit", "category"),
    [("Data", "Data"), ("quality", "Quality"), (" SECURITY ", "Security"), ("architecture", "Architecture")],
)
def test_explicit_category_wins_and_is_canonicalised(explicit: str, category: str) -> None:
    assert category_for("backend-engineer", explicit) == category


@pytest.mark.parametrize("explicit", ["Finance", "", "Data & Analytics", "Meta"])
def test_invalid_explicit_category_is_an_error(explicit: str) -> None:
    with pytest.raises(ValueError, match="unknown category"):
        category_for("backend-engineer", explicit)


def test_categories_constant() -> None:
    assert CATEGORIES == (
        "Engineering",
        "Quality",
        "Architecture",
        "Data",
        "Operations",
        "Management",
        "Security",
    )


# --- load_folder -----------------------------------------------------------------------------------------------------


def test_load_folder_skips_bad_files_and_reports_them(tmp_path: Path) -> None:
    write(tmp_path, "b-agent.md", definition(description="B"))
    write(tmp_path, "a-agent.md", definition(description="A"))
    bad_yaml = write(tmp_path, "c-broken.md", "---\nname: [x\n---\nbody\n")
    no_front = write(tmp_path, "d-plain.md", "No front matter here.\n")
    write(tmp_path, "README.md", "# Not an agent\n")
    write(tmp_path, "Claude.md", "# Not an agent either\n")
    write(tmp_path, "readme.md", "# Nor this\n")
    write(tmp_path, "notes.txt", "ignored\n")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "nested.md", definition())
    (tmp_path / "dir.md").mkdir()

    specs, errors = load_folder(tmp_path)

    assert [spec.name for spec in specs] == ["a-agent", "b-agent"]
    assert [spec.description for spec in specs] == ["A", "B"]
    assert [error.path for error in errors] == [bad_yaml, no_front]
    assert "not valid YAML" in errors[0].message
    assert "missing front matter" in errors[1].message


def test_load_folder_reports_duplicate_names_and_keeps_the_first(tmp_path: Path) -> None:
    first = write(tmp_path, "a.md", definition("shared", body="first"))
    second = write(tmp_path, "b.md", definition("shared", body="second"))

    specs, errors = load_folder(tmp_path)

    assert [(spec.name, spec.instructions) for spec in specs] == [("shared", "first")]
    assert [error.path for error in errors] == [second]
    assert errors[0].message == f"duplicate agent name 'shared' (already defined in {first})"


def test_load_folder_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nope"

    specs, errors = load_folder(missing)

    assert specs == []
    assert len(errors) == 1
    assert errors[0].path == missing
    assert errors[0].message == "agent definition folder does not exist"


def test_load_folder_on_a_file(tmp_path: Path) -> None:
    path = write(tmp_path, "agent.md", definition())

    specs, errors = load_folder(path)

    assert specs == []
    assert [(error.path, error.message) for error in errors] == [
        (path, "agent definition folder is not a directory")
    ]


def test_load_folder_empty(tmp_path: Path) -> None:
    assert load_folder(tmp_path) == ([], [])


# --- load_roster -----------------------------------------------------------------------------------------------------


def test_load_roster_later_folders_override_earlier_ones(
    tmp_path: Path, bundled: dict[str, AgentSpec]
) -> None:
    user = tmp_path / "user"
    project = tmp_path / "project"
    user.mkdir()
    project.mkdir()
    write(user, "backend-engineer--python.md", definition(model="haiku", body="user python"))
    write(user, "architect.md", definition(model="sonnet", body="user architect"))
    write(user, "zz-custom.md", definition(description="user custom"))
    write(
        project,
        "python-override.md",
        definition("backend-engineer--python", model="opus", body="project python"),
    )
    project_custom = write(project, "aa-custom.md", definition(category="security"))

    specs, errors = load_roster([user, project])
    by_name = {spec.name: spec for spec in specs}

    assert errors == []
    assert [spec.name for spec in specs] == sorted(by_name)
    assert len(specs) == len(bundled) + 2
    assert (by_name["backend-engineer--python"].model, by_name["backend-engineer--python"].instructions) == (
        "opus",
        "project python",
    )
    assert by_name["backend-engineer--python"].source_path == str(project / "python-override.md")
    assert (by_name["architect"].model, by_name["architect"].instructions) == ("sonnet", "user architect")
    assert by_name["zz-custom"].description == "user custom"
    assert (by_name["aa-custom"].category, by_name["aa-custom"].source_path) == (
        "Security",
        str(project_custom),
    )
    assert by_name["orchestrator"] == bundled["orchestrator"]


def test_load_roster_reports_errors_but_keeps_loading(tmp_path: Path, bundled: dict[str, AgentSpec]) -> None:
    missing = tmp_path / "missing"
    extra = tmp_path / "extra"
    extra.mkdir()
    broken = write(extra, "architect.md", definition(model="gpt-4"))
    write(extra, "new-agent.md", definition())

    specs, errors = load_roster([missing, extra])
    names = [spec.name for spec in specs]

    assert [error.path for error in errors] == [missing, broken]
    assert len(specs) == len(bundled) + 1
    assert "new-agent" in names
    # A broken override does not remove the bundled agent it tried to replace.
    assert next(spec for spec in specs if spec.name == "architect") == bundled["architect"]


# --- purity ----------------------------------------------------------------------------------------------------------


def test_module_imports_only_stdlib_and_yaml() -> None:
    tree = ast.parse(Path(definition_files.__file__).read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])

    assert roots == {"__future__", "collections", "dataclasses", "pathlib", "re", "typing", "yaml"}
