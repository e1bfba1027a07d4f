"""WSGI entry point (admin and API without streams; daphne via `baton serve` is the supported server)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baton_site.settings")
application = get_wsgi_application()
