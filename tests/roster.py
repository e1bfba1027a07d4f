"""The agent roster Baton ships, as the tests expect it: agent name -> category.

The registry tests check the shipped definition files against it; the planner tests build their registry from it.
"""

ROSTER_CATEGORIES: dict[str, str] = {
    "architect": "Architecture",
    "auditor": "Security",
    "backend-engineer": "Engineering",
    "backend-engineer--go": "Engineering",
    "backend-engineer--java": "Engineering",
    "backend-engineer--node": "Engineering",
    "backend-engineer--python": "Engineering",
    "backend-engineer--rust": "Engineering",
    "code-reviewer": "Quality",
    "data-analyst": "Data",
    "data-engineer": "Data",
    "data-scientist": "Data",
    "devops-engineer": "Operations",
    "frontend-engineer": "Engineering",
    "frontend-engineer--dotnet": "Engineering",
    "frontend-engineer--react": "Engineering",
    "frontend-engineer--vue": "Engineering",
    "orchestrator": "Management",
    "security-reviewer": "Security",
    "site-reliability-engineer": "Operations",
    "subject-matter-expert": "Management",
    "team-lead": "Management",
    "technical-writer": "Management",
    "test-engineer": "Quality",
    "test-engineer--javascript": "Quality",
    "test-engineer--python": "Quality",
    "visualization-expert": "Data",
}
