from __future__ import annotations

import pytest

from baton_site import runtime

pytestmark = pytest.mark.django_db


def test_health_reports_status_version_and_uptime(api):
    response = api.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "version", "uptime_seconds"}
    assert body["status"] == "healthy"
    assert body["version"] == runtime.package_version() == "0.1.0"
    assert isinstance(body["uptime_seconds"], float)
    assert body["uptime_seconds"] >= 0


def test_uptime_grows(api):
    first = api.get("/api/v1/health").json()["uptime_seconds"]
    runtime.STARTED_AT -= 5  # as if the process had started five seconds earlier
    try:
        second = api.get("/api/v1/health").json()["uptime_seconds"]
    finally:
        runtime.STARTED_AT += 5
    # Both are rounded to the millisecond, and two calls may fall in the same one.
    assert round(second - first, 3) >= 5


def test_ready_with_nothing_running(api):
    response = api.get("/api/v1/ready")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "daemon_running": False, "pending_decisions": 0}


def test_probes_are_exempt_from_the_token(api, api_token):
    assert api.get("/api/v1/health").status_code == 200
    assert api.get("/api/v1/ready").status_code == 200
