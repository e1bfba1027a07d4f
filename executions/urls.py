from django.urls import path
from rest_framework.routers import SimpleRouter

from executions.views import ExecutionViewSet, dashboard, trace, usage

router = SimpleRouter(trailing_slash=False)
router.register("executions", ExecutionViewSet, basename="execution")
urlpatterns = [
    *router.urls,
    path("dashboard", dashboard, name="dashboard"),
    path("traces/<str:task_id>", trace, name="trace"),
    path("usage", usage, name="usage"),
]
