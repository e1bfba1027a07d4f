"""`release_finished_response`: a served API request is freed by reference counting, not by the collector."""

from __future__ import annotations

import gc
import weakref

import pytest
from rest_framework.test import APIRequestFactory

from baton_site.health import HealthView
from baton_site.runtime import release_finished_response


@pytest.mark.django_db
@pytest.mark.parametrize("released", [True, False])
def test_a_finished_response_lets_its_view_and_request_go(released):
    gc.collect()
    gc.disable()  # only reference counting may free them
    try:
        response = HealthView.as_view()(APIRequestFactory().get("/api/v1/health"))
        response.render()
        response.close()
        assert response.status_code == 200
        view = weakref.ref(response.renderer_context["view"])
        request = weakref.ref(response.renderer_context["request"])
        if released:
            release_finished_response(response)
        del response
        # DRF's view, request and response hold one another: without the release they wait for a collection.
        assert (view() is None, request() is None) == (released, released)
    finally:
        gc.enable()
        gc.collect()


def test_a_response_that_is_not_drf_is_left_alone():
    from django.http import JsonResponse

    response = JsonResponse({"ok": True})
    release_finished_response(response)
    assert response.content == b'{"ok": true}'
