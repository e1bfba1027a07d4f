"""Parse agent definition files (Markdown with YAML front matter) into plain data.

This module is part of the pure core: it imports only the standard library and PyYAML, never Django, so the
registry's rules can be unit-tested without a database and reused by management commands or scripts.

File format (one agent per file, ``<name>.md``)::

    ---
    name: backend-engineer--python
    description: Python backend implementation
    model: sonnet              # opus | sonnet | haiku (default sonnet)
    permissionMode: auto-edit  # default | auto-edit (default "default")
    color: "#3776AB"           # quote it: an unquoted "#" starts a YAML comment
    tools: [Read, Write, Edit, Glob, Grep, Bash]   # or "Read, Write, Edit"
    category: Engineering      # optional; otherwise derived from the base name
    ---
    The agent's instructions (the body), kept verbatim apart from surrounding whitespace.

Guarantees:

* ``parse_definition`` either returns a fully validated :class:`AgentSpec` or raises :class:`DefinitionError`
  naming the file; it never raises anything else for a bad file.
* ``load_folder`` and ``load_roster`` never raise for bad files: they skip them and report one
  :class:`DefinitionError` each, so one broken override cannot take the whole registry down.
* Every loaded spec has a slug name, a model in :data:`MODELS`, a permission mode in :data:`PERMISSION_MODES` and a
  category in :data:`CATEGORIES`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "BASE_CATEGORIES",
    "BUNDLED_DIR",
    "CATEGORIES",
    "DEFAULT_MODEL",
    "DEFAULT_PERMISSION_MODE",
    "MODELS",
    "NAME_PATTERN",
    "PERMISSION_MODES",
    "SKIPPED_FILE_NAMES",
    "AgentSpec",
    "DefinitionError",
    "category_for",
    "load_folder",
    "load_roster",
    "parse_definition",
    "split_name",
]

# The contract's seven categories, in display order. ``category_for`` always returns one of these spellings.
CATEGORIES: tuple[str, ...] = (
    "Engineering",
    "Quality",
    "Architecture",
    "Data",
    "Operations",
    "Management",
    "Security",
)

MODELS: tuple[str, ...] = ("opus", "sonnet", "haiku")
DEFAULT_MODEL = "sonnet"

PERMISSION_MODES: tuple[str, ...] = ("default", "auto-edit")
DEFAULT_PERMISSION_MODE = "default"

# A lowercase slug, optionally followed by one ``--flavor`` suffix (e.g. ``backend-engineer--python``).
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*(--[a-z0-9][a-z0-9-]*)?$")

# Files in a definitions folder that document the folder rather than define an agent (compared lower-cased).
SKIPPED_FILE_NAMES: frozenset[str] = frozenset({"readme.md", "claude.md"})

# The roster shipped with Baton: the ``definitions`` folder next to this module. Loaded first, lowest priority.
BUNDLED_DIR: Path = Path(__file__).resolve().parent / "definitions"

# Known base names and their category. Flavoured agents inherit the category of their base.
BASE_CATEGORIES: dict[str, str] = {
    "backend-engineer": "Engineering",
    "frontend-engineer": "Engineering",
    "architect": "Architecture",
    "code-reviewer": "Quality",
    "test-engineer": "Quality",
    "security-reviewer": "Security",
    "auditor": "Security",
    "data-engineer": "Data",
    "data-analyst": "Data",
    "data-scientist": "Data",
    "visualization-expert": "Data",
    "devops-engineer": "Operations",
    "site-reliability-engineer": "Operations",
    "task-runner": "Operations",
    "orchestrator": "Management",
    "team-lead": "Management",
    "subject-matter-expert": "Management",
    "technical-writer": "Management",
}

# Fallback for base names missing from BASE_CATEGORIES: the first rule whose keyword occurs in the base name wins;
# a name that matches no rule is Engineering.
_FALLBACK_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("review", "test", "qa"), "Quality"),
    (("security", "audit", "compliance"), "Security"),
    (("architect",), "Architecture"),
    (("data", "analyst", "scientist", "visual"), "Data"),
    (("devops", "ops", "sre", "infra", "reliability", "maintainer", "runner"), "Operations"),
    (("orchestrator", "lead", "manager", "writer", "expert"), "Management"),
)
_FALLBACK_CATEGORY = "Engineering"

_CANONICAL_CATEGORIES: dict[str, str] = {category.lower(): category for category in CATEGORIES}
_FRONT_MATTER_DELIMITER = "---"


class DefinitionError(Exception):
    """A definition file (or folder) that cannot be turned into an :class:`AgentSpec`.

    ``path`` is the offending file or folder; ``message`` says what is wrong without repeating the path.
    ``str(error)`` is ``"<path>: <message>"``.
    """

    def __init__(self, path: Path | str, message: str) -> None:
        self.path = Path(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")


@dataclass(frozen=True)
class AgentSpec:
    """One validated agent definition.

    ``name`` matches :data:`NAME_PATTERN`; ``base_name`` is the text before the first ``--`` (the whole name when
    there is none) and ``flavor`` the segment after it (``None`` when unflavoured). ``instructions`` is the body
    with surrounding whitespace stripped. ``source_path`` is the file the spec was read from.
    """

    name: str
    description: str
    model: str = DEFAULT_MODEL
    permission_mode: str = DEFAULT_PERMISSION_MODE
    color: str | None = None
    tools: tuple[str, ...] = ()
    category: str = _FALLBACK_CATEGORY
    base_name: str = ""
    flavor: str | None = None
    instructions: str = ""
    source_path: str = ""

    @property
    def is_flavored(self) -> bool:
        """True when the name carries a ``--flavor`` suffix."""
        return self.flavor is not None


def split_name(name: str) -> tuple[str, str | None]:
    """Split an agent name into ``(base_name, flavor)``.

    ``"backend-engineer--python"`` gives ``("backend-engineer", "python")``; a name without ``--`` gives
    ``(name, None)``. Only the segment right after the first ``--`` is the flavour; any further segment is
    ignored, and an empty segment counts as no flavour.
    """
    base, separator, rest = name.partition("--")
    if not separator:
        return name, None
    flavor = rest.split("--", 1)[0]
    return base, flavor or None


def category_for(base_name: str, explicit: str | None) -> str:
    """Return the canonical category for an agent.

    An explicit value wins when it names one of :data:`CATEGORIES` case-insensitively, and is returned in its
    canonical spelling; any other explicit value raises ``ValueError``. Without one, the base name is looked up in
    :data:`BASE_CATEGORIES`, then matched against the keyword fallback rules, then defaults to ``"Engineering"``.
    A flavoured name passed by mistake is reduced to its base first.
    """
    if explicit is not None:
        canonical = _CANONICAL_CATEGORIES.get(explicit.strip().lower())
        if canonical is None:
            raise ValueError(f"unknown category {explicit!r}; expected one of: {', '.join(CATEGORIES)}")
        return canonical

    base = split_name(base_name)[0]
    known = BASE_CATEGORIES.get(base)
    if known is not None:
        return known
    for keywords, category in _FALLBACK_RULES:
        if any(keyword in base for keyword in keywords):
            return category
    return _FALLBACK_CATEGORY


def parse_definition(path: Path) -> AgentSpec:
    """Read and validate one definition file.

    Raises :class:`DefinitionError` (with ``path`` set to this file) when the file cannot be read as UTF-8, lacks a
    front matter block (first line ``---`` and a later closing ``---`` line), holds invalid YAML or a non-mapping
    front matter, or when a field is invalid: a name that is not a slug, a non-string description, an unknown
    model or permissionMode, tools that are neither a list of strings nor a comma-separated string, or an unknown
    category. An empty front matter block is allowed and means "all defaults". Unknown keys are ignored.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError(path, f"file is not valid UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise DefinitionError(path, f"cannot read file: {exc.strerror or exc}") from exc

    front_matter_text, body = _split_front_matter(path, text)
    try:
        loaded: Any = yaml.safe_load(front_matter_text)
    except yaml.YAMLError as exc:
        raise DefinitionError(path, f"front matter is not valid YAML: {_one_line(exc)}") from exc
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise DefinitionError(path, f"front matter must be a mapping, not {type(loaded).__name__}")
    meta: dict[Any, Any] = loaded

    name = _read_name(path, meta)
    description = _read_description(path, meta)
    model = _read_choice(path, meta, "model", MODELS, DEFAULT_MODEL)
    permission_mode = _read_choice(path, meta, "permissionMode", PERMISSION_MODES, DEFAULT_PERMISSION_MODE)
    color = _read_color(path, meta)
    tools = _read_tools(path, meta)
    base_name, flavor = split_name(name)

    explicit_category = meta.get("category")
    if explicit_category is not None and not isinstance(explicit_category, str):
        raise DefinitionError(path, f"category must be a string, not {type(explicit_category).__name__}")
    try:
        category = category_for(base_name, explicit_category)
    except ValueError as exc:
        raise DefinitionError(path, str(exc)) from exc

    return AgentSpec(
        name=name,
        description=description,
        model=model,
        permission_mode=permission_mode,
        color=color,
        tools=tools,
        category=category,
        base_name=base_name,
        flavor=flavor,
        instructions=body,
        source_path=str(path),
    )


def load_folder(folder: Path) -> tuple[list[AgentSpec], list[DefinitionError]]:
    """Parse every ``*.md`` file directly inside ``folder``.

    Files are visited in file-name order; README.md and CLAUDE.md (any case) are skipped, as are sub-folders.
    A file that fails to parse is left out and reported as one error; a second file declaring a name already
    loaded from this folder is also left out and reported. A folder that does not exist (or is not a directory)
    gives no specs and exactly one error. Never raises for bad input.
    """
    folder = Path(folder)
    if not folder.is_dir():
        reason = "is not a directory" if folder.exists() else "does not exist"
        return [], [DefinitionError(folder, f"agent definition folder {reason}")]

    specs: list[AgentSpec] = []
    errors: list[DefinitionError] = []
    seen: dict[str, str] = {}
    try:
        candidates = sorted(folder.glob("*.md"), key=lambda candidate: candidate.name)
    except OSError as exc:
        return [], [DefinitionError(folder, f"cannot list folder: {exc.strerror or exc}")]

    for candidate in candidates:
        if candidate.name.lower() in SKIPPED_FILE_NAMES or not candidate.is_file():
            continue
        try:
            spec = parse_definition(candidate)
        except DefinitionError as exc:
            errors.append(exc)
            continue
        if spec.name in seen:
            errors.append(
                DefinitionError(
                    candidate, f"duplicate agent name {spec.name!r} (already defined in {seen[spec.name]})"
                )
            )
            continue
        seen[spec.name] = spec.source_path
        specs.append(spec)
    return specs, errors


def load_roster(folders: Sequence[Path]) -> tuple[list[AgentSpec], list[DefinitionError]]:
    """Load the bundled roster, then each folder in ``folders`` in order.

    A spec from a later folder replaces any earlier spec with the same name (so configured folders override the
    bundled agents). Returns the surviving specs sorted by name, plus every error met on the way, in load order.
    """
    by_name: dict[str, AgentSpec] = {}
    errors: list[DefinitionError] = []
    for folder in (BUNDLED_DIR, *folders):
        specs, folder_errors = load_folder(Path(folder))
        errors.extend(folder_errors)
        for spec in specs:
            by_name[spec.name] = spec
    return sorted(by_name.values(), key=lambda spec: spec.name), errors


# --- field readers -------------------------------------------------------------------------------------------------


def _split_front_matter(path: Path, text: str) -> tuple[str, str]:
    """Return ``(front_matter_yaml, stripped_body)``; raise when the delimiters are missing."""
    lines = text.removeprefix("\ufeff").splitlines()
    if not lines or lines[0].rstrip() != _FRONT_MATTER_DELIMITER:
        raise DefinitionError(path, "missing front matter: the file must start with a '---' line")
    for index in range(1, len(lines)):
        if lines[index].rstrip() == _FRONT_MATTER_DELIMITER:
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]).strip()
    raise DefinitionError(path, "front matter is not closed: no second '---' line")


def _read_name(path: Path, meta: dict[Any, Any]) -> str:
    raw = meta.get("name")
    if raw is None:
        name = path.stem
    elif isinstance(raw, str):
        name = raw.strip()
    else:
        raise DefinitionError(path, f"name must be a string, not {type(raw).__name__}")
    if not NAME_PATTERN.match(name):
        raise DefinitionError(
            path,
            f"invalid agent name {name!r}: use lowercase letters, digits and '-', with an optional '--flavor'",
        )
    return name


def _read_description(path: Path, meta: dict[Any, Any]) -> str:
    raw = meta.get("description")
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise DefinitionError(path, f"description must be a string, not {type(raw).__name__}")
    return raw.strip()


def _read_choice(path: Path, meta: dict[Any, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    raw = meta.get(key)
    if raw is None:
        return default
    if not isinstance(raw, str) or raw.strip() not in allowed:
        raise DefinitionError(path, f"unknown {key} {raw!r}; expected one of: {', '.join(allowed)}")
    return raw.strip()


def _read_color(path: Path, meta: dict[Any, Any]) -> str | None:
    raw = meta.get("color")
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise DefinitionError(path, f"color must be a string, not {type(raw).__name__}")
    return raw.strip() or None


def _read_tools(path: Path, meta: dict[Any, Any]) -> tuple[str, ...]:
    """Accept a YAML list of strings or one comma-separated string; blanks are dropped, duplicates collapsed."""
    raw = meta.get("tools")
    if raw is None:
        return ()
    if isinstance(raw, str):
        items = raw.split(",")
    elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        items = raw
    else:
        raise DefinitionError(path, "tools must be a list of strings or a comma-separated string")
    tools: list[str] = []
    for item in items:
        tool = item.strip()
        if tool and tool not in tools:
            tools.append(tool)
    return tuple(tools)


def _one_line(exc: Exception) -> str:
    """Collapse a (possibly multi-line) YAML error message to one line."""
    return " ".join(str(exc).split())
