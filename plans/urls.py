from rest_framework.routers import SimpleRouter

from plans.views import PlanViewSet

router = SimpleRouter(trailing_slash=False)
router.register("plans", PlanViewSet, basename="plan")
urlpatterns = router.urls
