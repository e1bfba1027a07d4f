"""PMO projects: register (201, replace keeps registered_at), list, remove (204/404), path validation."""

from __future__ import annotations

from datetime import datetime

import pytest

from pmo.models import Project
from tests.pmo.conftest import register

pytestmark = pytest.mark.django_db


def test_register_answers_the_project(api, project_dir):
    body = register(api, project_dir, color="#4A90E2", description="Core analytics")
    assert body == {
        "project_id": "nds",
        "name": "NDS",
        "path": str(project_dir.resolve()),
        "program": "NDS",
        "color": "#4A90E2",
        "description": "Core analytics",
        "registered_at": body["registered_at"],
    }
    registered = datetime.fromisoformat(body["registered_at"])
    assert registered.utcoffset() is not None
    assert body["registered_at"].endswith("+00:00")


def test_optional_fields_default_to_empty(api, project_dir):
    body = register(api, project_dir)
    assert body["color"] == ""
    assert body["description"] == ""


def test_same_id_replaces_and_keeps_registered_at(api, project_dir, tmp_path):
    first = register(api, project_dir, name="Old name")
    other = tmp_path / "moved"
    other.mkdir()
    second = register(api, other, name="New name", program="ATL")
    assert second["registered_at"] == first["registered_at"]
    assert second["name"] == "New name"
    assert second["path"] == str(other.resolve())
    assert second["program"] == "ATL"
    assert Project.objects.count() == 1


def test_list_is_ordered_by_name(api, tmp_path):
    for project_id, name in (("b", "Zeta"), ("a", "Alpha"), ("c", "Mid")):
        folder = tmp_path / project_id
        folder.mkdir()
        register(api, folder, project_id=project_id, name=name)
    response = api.get("/api/v1/pmo/projects")
    assert response.status_code == 200
    assert [p["name"] for p in response.json()] == ["Alpha", "Mid", "Zeta"]


def test_path_is_stored_resolved(api, tmp_path, project_dir):
    link = tmp_path / "link"
    link.symlink_to(project_dir)
    assert register(api, link)["path"] == str(project_dir.resolve())


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("relative/path", "absolute"),
        ("/definitely/not/here", "does not exist"),
    ],
)
def test_bad_paths_are_400(api, path, problem):
    body = {"project_id": "x", "name": "X", "path": path, "program": "X"}
    response = api.post("/api/v1/pmo/projects", body, format="json")
    assert response.status_code == 400
    assert problem in response.json()["detail"]
    assert not Project.objects.exists()


def test_a_file_is_not_a_project_directory(api, tmp_path):
    file = tmp_path / "file.txt"
    file.write_text("x")
    body = {"project_id": "x", "name": "X", "path": str(file), "program": "X"}
    assert api.post("/api/v1/pmo/projects", body, format="json").status_code == 400


def test_paths_outside_the_allowed_roots_are_refused(api, settings, tmp_path, project_dir):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    settings.BATON_PROJECT_ROOTS = [allowed.resolve()]
    body = {"project_id": "x", "name": "X", "path": str(project_dir), "program": "X"}
    response = api.post("/api/v1/pmo/projects", body, format="json")
    assert response.status_code == 400
    assert "allowed project roots" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": "X", "path": "/tmp", "program": "X"}, ["body", "project_id"]),
        ({"project_id": "x", "path": "/tmp", "program": "X"}, ["body", "name"]),
        ({"project_id": "x", "name": "X", "program": "X"}, ["body", "path"]),
        ({"project_id": "x", "name": "X", "path": "/tmp"}, ["body", "program"]),
        ({"project_id": "", "name": "X", "path": "/tmp", "program": "X"}, ["body", "project_id"]),
        ({"project_id": "a/b", "name": "X", "path": "/tmp", "program": "X"}, ["body", "project_id"]),
        ({"project_id": "x", "name": "", "path": "/tmp", "program": "X"}, ["body", "name"]),
    ],
)
def test_invalid_bodies_are_422(api, body, loc):
    response = api.post("/api/v1/pmo/projects", body, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


def test_remove(api, project):
    response = api.delete("/api/v1/pmo/projects/nds")
    assert response.status_code == 204
    assert response.content == b""
    assert api.get("/api/v1/pmo/projects").json() == []


def test_remove_unknown_is_404(api):
    response = api.delete("/api/v1/pmo/projects/nope")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_a_registration_that_races_another_is_409(api, project_dir, monkeypatch):
    from django.utils import timezone

    def competing_writer_first(*args, **kwargs):
        # Another request registers the same id between our locked read and our insert.
        Project.objects.create(
            project_id="nds", name="Other", path="/x", program="X", registered_at=timezone.now()
        )
        return Project.objects.none()

    monkeypatch.setattr(Project.objects, "select_for_update", competing_writer_first)
    body = {"project_id": "nds", "name": "NDS", "path": str(project_dir), "program": "NDS"}
    response = api.post("/api/v1/pmo/projects", body, format="json")
    assert response.status_code == 409
    assert "concurrently" in response.json()["detail"]
