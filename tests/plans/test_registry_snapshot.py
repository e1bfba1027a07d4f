"""The planner's view of the agent roster (`plans.selectors.registry_snapshot`) is cached per process and must
always read as the table does: edits, deletions and additions show on the next call."""

from __future__ import annotations

import pytest

from agents.models import AgentDefinition
from plans import selectors

pytestmark = pytest.mark.django_db


def descriptions() -> dict[str, str]:
    return {agent.name: agent.description for agent in selectors.registry_snapshot()}


def test_the_roster_follows_the_table_with_one_query_when_nothing_changed(
    registry, django_assert_num_queries
):
    first = descriptions()
    assert set(first) == set(AgentDefinition.objects.values_list("name", flat=True))
    with django_assert_num_queries(1):  # the stamp only
        assert descriptions() == first

    edited = AgentDefinition.objects.get(name="code-reviewer")
    edited.description = "Edited in the admin."
    edited.save()
    assert descriptions()["code-reviewer"] == "Edited in the admin."

    AgentDefinition.objects.filter(name="architect").delete()
    assert "architect" not in descriptions()

    AgentDefinition.objects.create(name="data-wrangler", base_name="data-wrangler", description="New.")
    assert descriptions()["data-wrangler"] == "New."
    assert [agent.name for agent in selectors.registry_snapshot()] == sorted(descriptions())
