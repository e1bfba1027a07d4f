"""The Baton Django project: settings, URL map, ASGI/WSGI entry points, Celery app and the `baton` command."""

from baton_site.celery import app as celery_app

__all__ = ["celery_app"]
