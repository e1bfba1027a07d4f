from rest_framework.routers import SimpleRouter

from decisions.views import DecisionViewSet

router = SimpleRouter(trailing_slash=False)
router.register("decisions", DecisionViewSet, basename="decision")
urlpatterns = router.urls
