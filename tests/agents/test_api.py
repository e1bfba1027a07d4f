from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

AGENT_FIELDS = {
    "name",
    "description",
    "model",
    "permission_mode",
    "color",
    "tools",
    "category",
    "base_name",
    "flavor",
}


def test_list_all_agents(api, registry):
    response = api.get("/api/v1/agents")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(body["agents"]) == len(registry.created)
    names = [agent["name"] for agent in body["agents"]]
    assert names == sorted(names)
    for agent in body["agents"]:
        assert set(agent) == AGENT_FIELDS  # no instructions, no source_path


def test_filter_by_category_is_case_insensitive(api, registry):
    body = api.get("/api/v1/agents", {"category": "security"}).json()
    assert sorted(agent["name"] for agent in body["agents"]) == ["auditor", "security-reviewer"]
    assert {agent["category"] for agent in body["agents"]} == {"Security"}
    same = api.get("/api/v1/agents", {"category": "SECURITY"}).json()
    assert same == body


def test_unknown_category_is_a_400_naming_the_valid_ones(api, registry):
    response = api.get("/api/v1/agents", {"category": "Wizardry"})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "Wizardry" in detail
    for category in (
        "Engineering",
        "Quality",
        "Architecture",
        "Data",
        "Operations",
        "Management",
        "Security",
    ):
        assert category in detail


def test_stack_is_a_flavour_substring(api, registry):
    body = api.get("/api/v1/agents", {"stack": "py"}).json()
    assert [agent["name"] for agent in body["agents"]] == [
        "backend-engineer--python",
        "test-engineer--python",
    ]
    assert all(agent["flavor"] == "python" for agent in body["agents"])


def test_filters_combine(api, registry):
    body = api.get("/api/v1/agents", {"category": "engineering", "stack": "python"}).json()
    assert body == {"count": 1, "agents": [api.get("/api/v1/agents/backend-engineer--python").json()]}


def test_get_one_agent(api, registry):
    response = api.get("/api/v1/agents/backend-engineer--python")
    assert response.status_code == 200
    agent = response.json()
    assert set(agent) == AGENT_FIELDS
    assert agent["base_name"] == "backend-engineer"
    assert agent["flavor"] == "python"
    assert agent["category"] == "Engineering"
    assert "Bash" in agent["tools"]


def test_unknown_agent_is_404_naming_it(api, registry):
    response = api.get("/api/v1/agents/nobody--here")
    assert response.status_code == 404
    assert "nobody--here" in response.json()["detail"]


def test_repeated_list_costs_one_small_query(api, registry, django_assert_num_queries):
    first = api.get("/api/v1/agents").json()
    with django_assert_num_queries(1):
        again = api.get("/api/v1/agents").json()
    assert again == first


def test_list_sees_every_registry_change_at_once(api, registry):
    from agents.models import AgentDefinition

    before = api.get("/api/v1/agents").json()
    assert api.get("/api/v1/agents", {"category": "security"}).json()["count"] == 2

    # An admin edit (a model save) shows on the next request.
    auditor = AgentDefinition.objects.get(name="auditor")
    auditor.description = "Edited in the admin."
    auditor.save()
    edited = {agent["name"]: agent for agent in api.get("/api/v1/agents").json()["agents"]}
    assert edited["auditor"]["description"] == "Edited in the admin."

    # A deletion, in any of the filtered views too.
    auditor.delete()
    after_delete = api.get("/api/v1/agents").json()
    assert after_delete["count"] == before["count"] - 1
    assert "auditor" not in {agent["name"] for agent in after_delete["agents"]}
    security = api.get("/api/v1/agents", {"category": "security"}).json()
    assert [agent["name"] for agent in security["agents"]] == ["security-reviewer"]

    # A new agent.
    AgentDefinition.objects.create(
        name="zz-newcomer",
        description="Added later.",
        model="sonnet",
        permission_mode="default",
        tools=["Read"],
        category="Quality",
        base_name="zz-newcomer",
        instructions="Check things.",
        source_path="",
    )
    names = [agent["name"] for agent in api.get("/api/v1/agents").json()["agents"]]
    assert names[-1] == "zz-newcomer"
    assert len(names) == before["count"]
