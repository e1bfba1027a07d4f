"""PMO API routes, mounted under /api/v1/ by `baton_site.urls`."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from pmo import views

router = SimpleRouter(trailing_slash=False)
router.register("pmo/projects", views.ProjectViewSet, basename="pmo-project")
router.register("pmo/signals", views.SignalViewSet, basename="pmo-signal")

urlpatterns = [
    *router.urls,
    path("pmo/board", views.board, name="pmo-board"),
    path("pmo/board/<str:program>", views.board_program, name="pmo-board-program"),
    path("pmo/health", views.health, name="pmo-health"),
    path("pmo/forge/plan", views.forge_plan, name="pmo-forge-plan"),
    path("pmo/forge/approve", views.forge_approve, name="pmo-forge-approve"),
    path("pmo/forge/interview", views.forge_interview, name="pmo-forge-interview"),
    path("pmo/forge/regenerate", views.forge_regenerate, name="pmo-forge-regenerate"),
    path("pmo/ado/search", views.ado_search, name="pmo-ado-search"),
]
