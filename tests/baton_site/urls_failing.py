from django.urls import path
from rest_framework.decorators import api_view

from baton_site.urls import urlpatterns as base_patterns

handler404 = "baton_site.errors.not_found"
handler500 = "baton_site.errors.server_error"


@api_view(["GET"])
def explode(request):
    raise RuntimeError("secret-internal-state")


urlpatterns = [path("api/v1/explode", explode), *base_patterns]
