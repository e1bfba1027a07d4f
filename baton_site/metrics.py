"""`GET /metrics` in the Prometheus text format, with prometheus_client.

Request counters and latency histograms are kept per process, and summed over the web processes when
PROMETHEUS_MULTIPROC_DIR names a folder for prometheus_client's multi-process mode (`baton serve` sets one when it
runs several); state gauges (executions by status, pending decisions, webhook deliveries by outcome, Celery queue
depth) are read from the database and the broker at scrape time, so every process reports the same truth.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from baton_site.auth import bearer_credential, token_matches, unauthorized_response
from baton_site.middleware import _Hybrid

logger = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "baton_http_requests_total", "HTTP requests served", ["method", "route", "status"], registry=REGISTRY
)
LATENCY = Histogram(
    "baton_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
STREAM_CLIENTS = Gauge(
    "baton_stream_clients",
    "SSE and WebSocket clients connected to this process",
    ["transport"],
    registry=REGISTRY,
    multiprocess_mode="livesum",  # several web processes: the sum over the live ones
)


class StateCollector(Collector):
    """Gauges computed from the database (and the broker) when Prometheus scrapes."""

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # never query the database at registration time

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from decisions.selectors import pending_decision_count
        from executions.models import Execution

        executions = GaugeMetricFamily("baton_executions", "Executions by status", labels=["status"])
        for status, count in Execution.objects.order_by().values_list("status").annotate(n=Count("id")):
            executions.add_metric([status], count)
        yield executions
        yield GaugeMetricFamily(
            "baton_pending_decisions", "Human decisions waiting", value=pending_decision_count()
        )
        deliveries = GaugeMetricFamily(
            "baton_webhook_deliveries", "Webhook deliveries by outcome", labels=["status"]
        )
        try:
            from webhooks.models import Delivery

            for status, count in Delivery.objects.order_by().values_list("status").annotate(n=Count("id")):
                deliveries.add_metric([status], count)
        except (ImportError, LookupError):  # webhooks app without a Delivery model
            pass
        yield deliveries
        depth = _queue_depth()
        if depth is not None:
            yield GaugeMetricFamily(
                "baton_celery_queue_depth", "Messages waiting in the Celery queue", value=depth
            )


def _queue_depth() -> int | None:
    """Messages in the default Celery queue: LLEN on Redis, files in the filesystem broker's folder."""
    try:
        if settings.REDIS_URL:
            import redis

            return int(redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1).llen("celery"))
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in")
        return len(os.listdir(folder)) if folder and os.path.isdir(folder) else None
    except Exception:  # noqa: BLE001 - a broken broker must not break the scrape
        logger.warning("celery queue depth unavailable", exc_info=True)
        return None


REGISTRY.register(StateCollector())


def _route_label(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return "/" + match.route
    return "unmatched"


class MetricsMiddleware(_Hybrid):
    """Counts requests and observes latency per method, route pattern and status."""

    def before(self, request: HttpRequest) -> HttpResponse | None:
        request._metrics_started = time.perf_counter()  # type: ignore[attr-defined]
        return None

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        started = getattr(request, "_metrics_started", None)
        if started is not None:
            route = _route_label(request)
            method = request.method or ""
            REQUESTS.labels(method, route, str(response.status_code)).inc()
            LATENCY.labels(method, route).observe(time.perf_counter() - started)
        return response


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition. Needs the API token when one is configured, unless BATON_METRICS_PUBLIC is set."""
    if request.method != "GET":
        return JsonResponse({"detail": "Method Not Allowed"}, status=405)
    if settings.BATON_API_TOKEN and not settings.BATON_METRICS_PUBLIC:
        credential = bearer_credential(request.headers.get("Authorization"))
        if not token_matches(credential, settings.BATON_API_TOKEN):
            return unauthorized_response()
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(StateCollector())
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
