"""The PMO board in a real browser: headless Chromium (Debian's `chromium`, driven by Playwright) against a live
`baton serve`. The board shows a card; an execution driven through the API moves it from executing to deployed
without a reload; a pending decision is resolved by clicking its button. Screenshots go to test-artifacts/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests

from tests.executions.plans import inline_plan
from tests.integration.servers import baton_server

pytestmark = pytest.mark.integration

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 20_000


def api(session: requests.Session, method: str, url: str, expected: int, **kwargs) -> dict:
    response = session.request(method, url, timeout=10, **kwargs)
    assert response.status_code == expected, response.text
    return response.json() if response.content else {}


@pytest.fixture
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def test_board_is_live_and_decisions_resolve_by_click(tmp_path, chromium):
    project_dir = tmp_path / "shop"
    project_dir.mkdir()
    (project_dir / "pyproject.toml").write_text("[project]\nname = 'shop'\n")
    ARTIFACTS.mkdir(exist_ok=True)

    with baton_server(tmp_path, "--no-worker") as server:
        base = server.url
        session = requests.Session()
        project = {"project_id": "shop", "name": "Shop", "path": str(project_dir), "program": "COM"}
        api(session, "POST", f"{base}/api/v1/pmo/projects", 201, json=project)
        live_plan = inline_plan([[{}]], gates=[False])
        live_plan["task_summary"] = "Export invoices as CSV"
        live_id = api(
            session,
            "POST",
            f"{base}/api/v1/pmo/forge/approve",
            200,
            json={"plan": live_plan, "project_id": "shop"},
        )["plan_id"]
        review_plan = inline_plan([[{}]], risk_level="HIGH")
        review_plan["task_summary"] = "Migrate the billing tables"
        review_id = api(
            session,
            "POST",
            f"{base}/api/v1/pmo/forge/approve",
            200,
            json={"plan": review_plan, "project_id": "shop"},
        )["plan_id"]
        api(session, "POST", f"{base}/api/v1/executions", 201, json={"plan_id": live_id})
        api(session, "POST", f"{base}/api/v1/executions", 201, json={"plan_id": review_id})

        page = chromium.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{base}/pmo/")
        card = page.locator(f'[data-card-id="{live_id}"]')
        sync_api.expect(card).to_have_attribute("data-column", "executing")
        sync_api.expect(page.locator(f'#column-executing [data-card-id="{live_id}"]')).to_be_visible()
        sync_api.expect(page.locator(f'#column-planning [data-card-id="{review_id}"]')).to_be_visible()
        # The live stream is open before the execution moves; a marker on `window` proves there is no reload.
        sync_api.expect(page.locator("#board")).to_have_attribute("data-live-connected", "true")
        page.evaluate("window.batonNoReload = true")

        api(
            session,
            "POST",
            f"{base}/api/v1/executions/{live_id}/record",
            200,
            json={"step_id": "0.0", "agent": "backend-engineer--python", "status": "complete"},
        )
        api(session, "POST", f"{base}/api/v1/executions/{live_id}/complete", 200)

        sync_api.expect(page.locator(f'#column-deployed [data-card-id="{live_id}"]')).to_be_visible()
        sync_api.expect(page.locator(f'[data-card-id="{live_id}"]')).to_contain_text("1/1 steps")
        assert page.evaluate("window.batonNoReload") is True
        page.screenshot(path=str(ARTIFACTS / "pmo-board.png"), full_page=True)

        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(ARTIFACTS / "pmo-board-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1440, "height": 900})

        # Resolve the plan review by clicking its button on the card page.
        page.locator(f"#card-link-{review_id}").click()
        page.wait_for_url(f"**/pmo/cards/{review_id}")
        decision = page.locator("form[data-decision-id]")
        sync_api.expect(decision).to_be_visible()
        request_id = decision.get_attribute("data-decision-id")
        decision.get_by_role("button", name="Approve").click()
        sync_api.expect(page.locator(".messages")).to_contain_text(f"Decision {request_id} resolved: approve")
        sync_api.expect(page.get_by_text("No decision is waiting.")).to_be_visible()
        sync_api.expect(page.locator("[data-card-column]")).to_have_attribute("data-card-column", "executing")
        page.screenshot(path=str(ARTIFACTS / "pmo-card.png"), full_page=True)

        page.goto(f"{base}/pmo/dashboard")
        sync_api.expect(page.locator("figure.chart svg")).to_have_count(4)
        page.screenshot(path=str(ARTIFACTS / "pmo-dashboard.png"), full_page=True)

        resolved = api(session, "GET", f"{base}/api/v1/decisions/{request_id}", 200)
        assert resolved["status"] == "resolved"
        execution = api(session, "GET", f"{base}/api/v1/executions/{review_id}", 200)
        assert execution["status"] == "running"
