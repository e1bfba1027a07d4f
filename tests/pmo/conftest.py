from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A small Python project on disk."""
    folder = tmp_path / "nds"
    folder.mkdir()
    (folder / "pyproject.toml").write_text("[project]\nname = 'nds'\n")
    return folder


def register(api, folder: Path, project_id: str = "nds", program: str = "NDS", **extra) -> dict:
    body = {
        "project_id": project_id,
        "name": extra.pop("name", project_id.upper()),
        "path": str(folder),
        "program": program,
    }
    body.update(extra)
    response = api.post("/api/v1/pmo/projects", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def approve(api, plan: dict, project_id: str = "nds", **extra) -> str:
    response = api.post(
        "/api/v1/pmo/forge/approve", {"plan": plan, "project_id": project_id, **extra}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["plan_id"]


def run(api, plan_id: str) -> str:
    response = api.post("/api/v1/executions", {"plan_id": plan_id}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["execution"]["task_id"]


@pytest.fixture
def project(db, api, project_dir) -> dict:
    return register(api, project_dir, color="#4A90E2", description="Network data")
