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


def test_list_costs_one_query(api, registry, django_assert_num_queries):
    with django_assert_num_queries(1):
        api.get("/api/v1/agents")
