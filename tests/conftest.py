from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from plans import selectors as plan_selectors


@pytest.fixture(autouse=True)
def _fresh_outcome_history(monkeypatch):
    """The planner's outcome history and roster are cached per process; rolled-back test data must not linger
    in them."""
    monkeypatch.setattr(plan_selectors, "_history", plan_selectors._OutcomeHistory())
    monkeypatch.setattr(plan_selectors, "_registry", plan_selectors._RegistrySnapshot())


@pytest.fixture
def api() -> APIClient:
    """An anonymous API client (no token)."""
    return APIClient()


@pytest.fixture
def api_token(settings) -> str:
    """Configure a bearer token for the duration of a test and return it."""
    settings.BATON_API_TOKEN = "test-token-0123456789"
    return settings.BATON_API_TOKEN


@pytest.fixture
def authed_api(api_token) -> APIClient:
    """An API client presenting the configured token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token}")
    return client


@pytest.fixture
def registry(db, settings):
    """The shipped agent roster loaded into the database (no extra folders)."""
    from agents.services import registry_reload

    settings.BATON_AGENT_DIRS = []
    report = registry_reload()
    assert not report.errors
    return report
