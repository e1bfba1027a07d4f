"""Reads of the agent registry."""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from agents.models import AgentCategory, AgentDefinition
from baton_site.errors import NotFound, RuleViolation

_LIST_FIELDS = (
    "name",
    "description",
    "model",
    "permission_mode",
    "color",
    "tools",
    "category",
    "base_name",
    "flavor",
)


def normalise_category(category: str) -> str:
    """The canonical spelling of a category given in any case; RuleViolation naming the valid ones otherwise."""
    for value in AgentCategory.values:
        if value.lower() == category.strip().lower():
            return value
    valid = ", ".join(AgentCategory.values)
    raise RuleViolation(f"Unknown category '{category}'. Valid values: {valid}.")


def agent_list(*, category: str | None = None, stack: str | None = None) -> QuerySet[AgentDefinition]:
    """Agents sorted by name, filtered by category (case-insensitive) and by flavour substring (`stack`)."""
    agents = AgentDefinition.objects.only(*_LIST_FIELDS).order_by("name")
    if category:
        agents = agents.filter(category=normalise_category(category))
    if stack:
        agents = agents.filter(flavor__icontains=stack.strip())
    return agents


def agent_list_rows(*, category: str | None = None, stack: str | None = None) -> list[dict[str, object]]:
    """The AgentResponse dicts of `agent_list` straight from the database (no model instances: this is the
    hottest read of dashboards and CI)."""
    return list(agent_list(category=category, stack=stack).values(*_LIST_FIELDS))


def registry_stamp() -> tuple[object, ...]:
    """A value that changes whenever an agent is created, deleted or saved (in any process): the row count, the
    highest id and the latest `updated_at`. One indexed aggregate, for callers that cache what they build from
    the registry."""
    table = connection.ops.quote_name(AgentDefinition._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), MAX(id), MAX(updated_at) FROM {table}")  # noqa: S608 (no user input)
        return tuple(cursor.fetchone())


def agent_get(*, name: str) -> AgentDefinition:
    agent = AgentDefinition.objects.only(*_LIST_FIELDS).filter(name=name).first()
    if agent is None:
        raise NotFound(f"Agent '{name}' not found")
    return agent


def agent_names_missing(names: list[str]) -> list[str]:
    """The names among `names` that are not in the registry, in the order given."""
    known = set(AgentDefinition.objects.filter(name__in=names).values_list("name", flat=True))
    return [name for name in names if name not in known]
