"""Pagination for list endpoints: `limit`/`offset`, with a maximum page size."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination


class BatonPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 200
