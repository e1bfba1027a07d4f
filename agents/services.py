"""Writes to the agent registry."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from agents.definition_files import AgentSpec, DefinitionError, load_roster
from agents.models import AgentDefinition

logger = logging.getLogger(__name__)

_SPEC_FIELDS = (
    "description",
    "model",
    "permission_mode",
    "color",
    "tools",
    "category",
    "base_name",
    "flavor",
    "instructions",
    "source_path",
)


@dataclass
class ReloadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[DefinitionError] = field(default_factory=list)


def _values(spec: AgentSpec) -> dict[str, object]:
    values = {name: getattr(spec, name) for name in _SPEC_FIELDS}
    values["tools"] = list(spec.tools)
    return values


def registry_reload(*, folders: Sequence[Path] | None = None) -> ReloadReport:
    """Load the shipped roster, then the configured folders (later wins by name), into the database.

    Idempotent: an unchanged definition is not rewritten. Definitions that came from files no longer present are
    removed; agents created in the admin (no source path) are kept. A malformed file is reported (with its path)
    and skipped; it never stops the load.
    """
    specs, errors = load_roster(list(settings.BATON_AGENT_DIRS if folders is None else folders))
    report = ReloadReport(errors=list(errors))
    for error in errors:
        logger.warning("agent definition skipped: %s", error)
    wanted = {spec.name: _values(spec) for spec in specs}
    with transaction.atomic():
        existing = {agent.name: agent for agent in AgentDefinition.objects.select_for_update().order_by("pk")}
        to_create = []
        for name, values in wanted.items():
            agent = existing.get(name)
            if agent is None:
                to_create.append(AgentDefinition(name=name, **values))
                report.created.append(name)
                continue
            changed = [key for key, value in values.items() if getattr(agent, key) != value]
            if changed:
                for key in changed:
                    setattr(agent, key, values[key])
                agent.save(update_fields=[*changed, "updated_at"])
                report.updated.append(name)
            else:
                report.unchanged.append(name)
        AgentDefinition.objects.bulk_create(to_create)
        stale = [
            agent.name
            for name, agent in existing.items()
            if name not in wanted and agent.source_path.strip() != ""
        ]
        if stale:
            AgentDefinition.objects.filter(name__in=stale).delete()
            report.removed.extend(sorted(stale))
    return report
