"""URL map: the REST API under /api/v1/, its OpenAPI document and viewers, the admin, and the HTML pages."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from baton_site.audit import audit_list
from baton_site.health import HealthView, ReadyView
from baton_site.metrics import metrics_view
from baton_site.openapi import OpenApiDocumentView

handler404 = "baton_site.errors.not_found"
handler500 = "baton_site.errors.server_error"

# Django tries the patterns in order on every request: the engine's routes, the busiest, come first (a `record`
# call was matched in 69 us behind the agent and plan routes, 37 us in front of them).
api_v1 = [
    path("", include("executions.urls")),
    path("", include("plans.urls")),
    path("health", HealthView.as_view(), name="health"),
    path("ready", ReadyView.as_view(), name="ready"),
    path("audit", audit_list, name="audit"),
    path("", include("agents.urls")),
    path("", include("executions.stream_urls")),
    path("", include("decisions.urls")),
    path("", include("webhooks.urls")),
    path("", include("pmo.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("openapi.json", OpenApiDocumentView.as_view(), name="openapi-schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi-schema"), name="swagger-ui"),
    path("redoc", SpectacularRedocView.as_view(url_name="openapi-schema"), name="redoc"),
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    path("pmo/", include("pmo.page_urls")),
    path("", RedirectView.as_view(url="/pmo/", permanent=False)),
]
