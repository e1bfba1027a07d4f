"""The Celery application. Broker: Redis when REDIS_URL is set, else kombu's filesystem transport in the data
directory, so the embedded default delivers through a real worker with no external server."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baton_site.settings")

app = Celery("baton")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
