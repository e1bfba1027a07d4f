from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_openapi_document_lists_the_api(api):
    response = api.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/health" in schema["paths"]
    assert "/api/v1/ready" in schema["paths"]
    assert not any(path.startswith("/admin") for path in schema["paths"])


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_doc_pages_use_only_local_assets(client, page):
    response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls, "the page loads its viewer from somewhere"
    assert not [url for url in urls if url.startswith(("http:", "https:", "//"))]
    assert "/openapi.json" in html
