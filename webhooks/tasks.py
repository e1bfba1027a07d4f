"""Celery tasks of the webhooks app, and the delivery sweep every worker runs.

`webhooks.deliver` takes a delivery's primary key and makes its next attempt (see `services.delivery_attempt`):
idempotent, so a redelivered or duplicated message does nothing once the delivery is claimed or done. Messages
are acknowledged late (settings: `CELERY_TASK_ACKS_LATE`, `CELERY_TASK_REJECT_ON_WORKER_LOST`), but nothing
depends on that: the row, not the message, is the state.

The sweep runs in a thread of every worker process (a worker bootstep), so there is no extra process to deploy and
no single scheduler to lose; concurrent sweeps do not enqueue a delivery twice (`services.delivery_sweep`). Once
an hour the same thread deletes deliveries that finished longer ago than the retention setting
(`services.delivery_prune`).
`webhooks.sweep` is the same work as a task, for operators who prefer to schedule it with celery beat.

A worker turns on group commit for its delivery writes (`services.group_commit_enable`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from celery import bootsteps, shared_task, signals
from django.conf import settings
from django.db import close_old_connections, connection

from baton_site.celery import app
from webhooks import services

logger = logging.getLogger(__name__)

PRUNE_INTERVAL = 3600.0  # seconds between two retention passes of one worker


@shared_task(name="webhooks.deliver", ignore_result=True, acks_late=True)
def deliver(delivery_pk: int) -> None:
    services.delivery_attempt(delivery_pk=delivery_pk)


@shared_task(name="webhooks.sweep", ignore_result=True)
def sweep() -> None:
    services.delivery_sweep()
    services.delivery_prune()


def enqueue(delivery_pks: Sequence[int], countdown: float | None = None) -> None:
    """Send one `webhooks.deliver` message per delivery (called on commit, never inside a transaction)."""
    for pk in delivery_pks:
        deliver.apply_async((pk,), countdown=countdown if countdown and countdown > 0 else None)


class DeliverySweep(bootsteps.StartStopStep):
    """Runs `services.delivery_sweep` every BATON_WEBHOOK_SWEEP_INTERVAL seconds in a worker thread (once at
    start-up too, so a restarted worker picks up what its predecessor left)."""

    label = "webhook delivery sweep"

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, parent: Any) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="webhook-sweep", daemon=True)
        self._thread.start()

    def stop(self, parent: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        interval = settings.BATON_WEBHOOK_SWEEP_INTERVAL
        next_prune = time.monotonic()
        try:
            while True:
                try:
                    close_old_connections()
                    services.delivery_sweep()
                    if time.monotonic() >= next_prune:
                        next_prune = time.monotonic() + PRUNE_INTERVAL
                        services.delivery_prune()
                except Exception:  # noqa: BLE001 - a failed pass (database or broker down) is retried next interval
                    logger.exception("webhook delivery sweep failed")
                if self._stop.wait(interval):
                    break
        finally:
            connection.close()


app.steps["worker"].add(DeliverySweep)


@signals.worker_init.connect
def _share_delivery_transactions(**kwargs: Any) -> None:
    """In a worker, the claims and attempt records of concurrent deliveries share transactions (group commit,
    `baton_site.db.group`): on SQLite, one writer-lock round for many deliveries instead of two for each."""
    services.group_commit_enable()
