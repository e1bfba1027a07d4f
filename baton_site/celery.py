"""The Celery application. Broker: Redis when REDIS_URL is set, else kombu's filesystem transport in the data
directory, so the embedded default delivers through a real worker with no external server."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baton_site.settings")

app = Celery("baton")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class PromptAcknowledgements(bootsteps.StartStopStep):
    """With the threads pool, a worker running an event loop (the Redis broker) acknowledges finished tasks from
    that loop, which sleeps until a socket or timer event: with `acks_late`, finished tasks stay unacknowledged
    and the prefetch window stays full until then, and throughput collapses (celery/celery#6941; with one thread,
    two tasks a second). A short repeating timer wakes the loop. (The filesystem broker has no event loop; its
    transport returns to the worker's loop often instead, see baton_site/broker.py.)"""

    label = "prompt acknowledgements"
    requires = ("celery.worker.components:Pool",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self._entry: Any = None

    def start(self, parent: Any) -> None:
        if parent.hub is not None and "thread" in type(parent.pool).__module__:
            self._entry = parent.timer.call_repeatedly(ACK_WAKE_INTERVAL, _wake)

    def stop(self, parent: Any) -> None:
        if self._entry is not None:
            self._entry.cancel()


ACK_WAKE_INTERVAL = 0.05


def _wake() -> None:
    """Nothing to do: being called is the point (the event loop runs its pending acknowledgements)."""


app.steps["worker"].add(PromptAcknowledgements)
