"""Page-number pagination with bounds, for every list endpoint.

Ninja's ``PageNumberPagination`` takes any integer, so ``?page=4611686018427387904`` asks the
database for an offset it cannot represent (a server error on PostgreSQL). Here the page is
at most ``MAX_PAGE`` and the page size at most ``MAX_PAGE_SIZE``; beyond them the request is
invalid input (422, the one error shape).
"""

from ninja import Field, Schema
from ninja.pagination import PageNumberPagination

MAX_PAGE = 100_000
MAX_PAGE_SIZE = 100


class BoundedPagination(PageNumberPagination):
    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1, le=MAX_PAGE_SIZE)
