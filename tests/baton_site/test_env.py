from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from baton_site.env import env_bool, env_float_list, env_int, env_list, env_secret


def test_bool_accepts_only_agreed_spellings(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    assert env_bool("X_FLAG", default=False) is True
    monkeypatch.setenv("X_FLAG", "off")
    assert env_bool("X_FLAG", default=True) is False
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG", default=False)


def test_int_and_lists(monkeypatch):
    monkeypatch.setenv("X_INT", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("X_INT", 3, minimum=1)
    monkeypatch.setenv("X_INT", "seven")
    with pytest.raises(ImproperlyConfigured, match="integer"):
        env_int("X_INT", 3)
    monkeypatch.delenv("X_INT")
    assert env_int("X_INT", 3) == 3
    monkeypatch.setenv("X_LIST", " a, b ,,c")
    assert env_list("X_LIST", []) == ["a", "b", "c"]
    monkeypatch.setenv("X_DELAYS", "0.1,0.2")
    assert env_float_list("X_DELAYS", [5.0]) == [0.1, 0.2]
    monkeypatch.setenv("X_DELAYS", "1,-2")
    with pytest.raises(ImproperlyConfigured):
        env_float_list("X_DELAYS", [5.0])


def test_secret_from_file(monkeypatch, tmp_path):
    secret_file = tmp_path / "token"
    secret_file.write_text("from-file\n")
    monkeypatch.delenv("X_SECRET", raising=False)
    monkeypatch.setenv("X_SECRET_FILE", str(secret_file))
    assert env_secret("X_SECRET") == "from-file"
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured):
        env_secret("X_SECRET")
