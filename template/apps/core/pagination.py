"""Cursor pagination: stable pages under concurrent writes and O(1) deep pages."""

from rest_framework.pagination import CursorPagination


class CreatedAtCursorPagination(CursorPagination):
    """Newest first, for models built on TimeStampedModel."""

    ordering = ("-created_at", "-pk")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
