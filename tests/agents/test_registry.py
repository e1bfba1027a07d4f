"""The registry as the server loads it: database rows from the roster and configured folders."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from agents.models import AgentDefinition
from agents.services import registry_reload

pytestmark = pytest.mark.django_db

VALID = """---
name: {name}
description: {description}
model: haiku
permissionMode: default
color: "#123456"
tools: [Read, Grep]
---
Do the thing carefully.
"""


def test_reload_is_idempotent(registry):
    count = AgentDefinition.objects.count()
    assert count == len(registry.created) >= 26
    again = registry_reload(folders=[])
    assert again.created == again.updated == again.removed == []
    assert len(again.unchanged) == count
    assert AgentDefinition.objects.count() == count


def test_project_folder_overrides_by_name_and_bad_files_are_skipped(registry, tmp_path, caplog):
    (tmp_path / "architect.md").write_text(VALID.format(name="architect", description="Our own architect"))
    (tmp_path / "ml-engineer--pytorch.md").write_text(
        VALID.format(name="ml-engineer--pytorch", description="ML")
    )
    (tmp_path / "broken.md").write_text("---\nname: [unclosed\n---\nbody\n")
    report = registry_reload(folders=[tmp_path])
    assert report.updated == ["architect"]
    assert report.created == ["ml-engineer--pytorch"]
    assert [str(error.path) for error in report.errors] == [str(tmp_path / "broken.md")]
    assert str(tmp_path / "broken.md") in caplog.text
    architect = AgentDefinition.objects.get(name="architect")
    assert architect.description == "Our own architect"
    assert architect.model == "haiku"
    assert architect.source_path == str(tmp_path / "architect.md")
    ml = AgentDefinition.objects.get(name="ml-engineer--pytorch")
    assert (ml.base_name, ml.flavor, ml.category) == ("ml-engineer", "pytorch", "Engineering")

    # The folder goes away: its agents go, the shipped architect comes back.
    back = registry_reload(folders=[])
    assert back.removed == ["ml-engineer--pytorch"]
    assert "architect" in back.updated
    assert AgentDefinition.objects.get(name="architect").description != "Our own architect"


def test_agents_made_in_the_admin_survive_a_reload(registry):
    AgentDefinition.objects.create(name="custom-agent", base_name="custom-agent", description="hand made")
    report = registry_reload(folders=[])
    assert "custom-agent" not in report.removed
    assert AgentDefinition.objects.filter(name="custom-agent").exists()


def test_management_command_reports_counts(db, settings, tmp_path, capsys):
    settings.BATON_AGENT_DIRS = [tmp_path]
    (tmp_path / "bad.md").write_text("no front matter at all")
    call_command("load_agents")
    out, err = capsys.readouterr()
    assert "created" in out
    assert "0 updated" in out
    assert "1 skipped" in out
    assert str(tmp_path / "bad.md") in err
