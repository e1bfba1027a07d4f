from __future__ import annotations

import pytest

from tests.webhooks.receiver import running_receiver


@pytest.fixture
def receiver():
    """A real HTTP receiver on a free loopback port."""
    with running_receiver(slow_seconds=2.0) as running:
        yield running


@pytest.fixture(autouse=True)
def webhook_settings(settings, tmp_path):
    """Short retry delays and a failure log in the test's own directory."""
    settings.BATON_WEBHOOK_RETRY_DELAYS = [5.0, 30.0, 300.0]
    settings.BATON_WEBHOOK_TIMEOUT = 1.0
    settings.BATON_WEBHOOK_CLAIM_TIMEOUT = 150.0
    settings.BATON_WEBHOOK_REQUEUE_AFTER = 60.0
    settings.BATON_WEBHOOK_AUTO_DISABLE_AFTER = 10
    settings.BATON_WEBHOOK_ALLOW_LOOPBACK = True
    settings.BATON_WEBHOOK_ALLOW_HOSTS = []
    settings.BATON_WEBHOOK_FAILURE_LOG = tmp_path / "webhook-failures.jsonl"
    return settings
