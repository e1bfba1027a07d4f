"""Webhooks API (contract 4.8, plus read, delivery log, test ping and re-enable). Thin: validate, call one service
or selector, answer."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from baton_site.errors import QueryValidationError
from baton_site.pagination import BatonPagination
from baton_site.schema import ERROR_400, ERROR_404, ERROR_422
from webhooks import selectors, services
from webhooks.serializers import (
    DeliveryListQuerySerializer,
    PaginatedWebhookDeliveryListSerializer,
    RegisterWebhookSerializer,
    WebhookDeletedSerializer,
    WebhookResponseSerializer,
    WebhookTestSerializer,
)

TAGS = ["Webhooks"]


class WebhookViewSet(viewsets.ViewSet):
    """Outbound webhook subscriptions and their delivery log."""

    lookup_field = "webhook_id"
    lookup_value_regex = "[^/]+"

    @extend_schema(
        operation_id="webhooks_create",
        tags=TAGS,
        request=RegisterWebhookSerializer,
        responses={201: WebhookResponseSerializer, 422: ERROR_422},
        description="Register a subscription. The URL must be https (http only for loopback hosts) and must not "
        "resolve to a private, link-local or metadata address unless BATON_WEBHOOK_ALLOW_HOSTS names it. "
        "The secret is stored and never returned.",
    )
    def create(self, request: Request) -> Response:
        body = RegisterWebhookSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        webhook = services.webhook_create(**body.validated_data)
        return Response(selectors.webhook_to_dict(webhook), status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="webhooks_list",
        tags=TAGS,
        responses={200: WebhookResponseSerializer(many=True)},
        description="Every subscription, enabled and disabled.",
    )
    def list(self, request: Request) -> Response:
        return Response([selectors.webhook_to_dict(webhook) for webhook in selectors.webhook_list()])

    @extend_schema(
        operation_id="webhooks_get", tags=TAGS, responses={200: WebhookResponseSerializer, 404: ERROR_404}
    )
    def retrieve(self, request: Request, webhook_id: str) -> Response:
        return Response(selectors.webhook_to_dict(selectors.webhook_get(webhook_id=webhook_id)))

    @extend_schema(
        operation_id="webhooks_delete", tags=TAGS, responses={200: WebhookDeletedSerializer, 404: ERROR_404}
    )
    def destroy(self, request: Request, webhook_id: str) -> Response:
        services.webhook_delete(webhook_id=webhook_id)
        return Response({"deleted": True, "webhook_id": webhook_id})

    @extend_schema(
        operation_id="webhooks_deliveries",
        tags=TAGS,
        parameters=[DeliveryListQuerySerializer],
        responses={200: PaginatedWebhookDeliveryListSerializer, 404: ERROR_404, 422: ERROR_422},
        description="The delivery log, newest first: one entry per event sent to this webhook, with every "
        "attempt. Paginated with `limit` (max 200) and `offset`; filter with `status`.",
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, webhook_id: str) -> Response:
        query = DeliveryListQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise QueryValidationError(query.errors)
        webhook = selectors.webhook_get(webhook_id=webhook_id)
        paginator = BatonPagination()
        page = paginator.paginate_queryset(
            selectors.delivery_list(webhook=webhook, status=query.validated_data.get("status")),
            request,
            view=self,
        )
        return paginator.get_paginated_response([selectors.delivery_to_dict(delivery) for delivery in page])

    @extend_schema(
        operation_id="webhooks_test",
        tags=TAGS,
        request=None,
        responses={202: WebhookTestSerializer, 400: ERROR_400, 404: ERROR_404},
        description="Send a `ping` event (task id `system`) to this webhook now, through the delivery queue. "
        "Follow it in the delivery log.",
    )
    @action(detail=True, methods=["post"], url_path="test")
    def send_test(self, request: Request, webhook_id: str) -> Response:
        delivery = services.webhook_ping(webhook_id=webhook_id)
        body = {
            "webhook_id": webhook_id,
            "delivery_id": delivery.delivery_id,
            "event_id": delivery.event.event_id,
            "status": delivery.status,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="webhooks_enable",
        tags=TAGS,
        request=None,
        responses={200: WebhookResponseSerializer, 404: ERROR_404},
        description="Re-enable a webhook (after auto-disable) and reset its failure count.",
    )
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, webhook_id: str) -> Response:
        return Response(selectors.webhook_to_dict(services.webhook_enable(webhook_id=webhook_id)))
