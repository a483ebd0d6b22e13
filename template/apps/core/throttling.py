"""API rate limits: one atomic cache counter per client and window (docs/design.md)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rest_framework import throttling

if TYPE_CHECKING:  # rest_framework.views imports this module, through the settings
    from rest_framework.request import Request
    from rest_framework.views import APIView


class FixedWindowRateThrottle(throttling.SimpleRateThrottle):
    """Count requests per client in fixed windows of the rate's period."""

    # Parsed from the rate by SimpleRateThrottle.__init__; unused when the rate is None.
    num_requests: int
    duration: int

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends_at = float((window + 1) * self.duration)
        count = self.count_request(f"{key}:{window}")
        return count is None or count <= self.num_requests  # cache down: let it through

    def count_request(self, key: str) -> int | None:
        """Add one to the window's counter; the new count, or None if the cache is down."""
        expires_in = math.ceil(self.window_ends_at - self.now) + 1
        for _attempt in range(2):
            try:
                count: int | None = self.cache.incr(key)
            except ValueError:  # the window's first request: no counter yet
                if self.cache.add(key, 1, expires_in):
                    return 1
                # Another worker created it first (or the cache is down): increment again.
            else:
                return count
        return None

    def wait(self) -> float:
        """Seconds until the current window ends and the client's count starts over."""
        return max(self.window_ends_at - self.now, 0.0)


class AnonRateThrottle(throttling.AnonRateThrottle, FixedWindowRateThrottle):
    """The ``anon`` rate, per client IP, for requests without credentials."""


class UserRateThrottle(throttling.UserRateThrottle, FixedWindowRateThrottle):
    """The ``user`` rate, per signed-in user.

    DRF's class also counts anonymous requests by IP; AnonRateThrottle already
    limits those, more tightly, so they are not counted twice here.
    """

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not request.user.is_authenticated:
            return None
        return super().get_cache_key(request, view)


class ScopedRateThrottle(throttling.ScopedRateThrottle, FixedWindowRateThrottle):
    """The rate named by the view's ``throttle_scope``; views without one are not counted."""
