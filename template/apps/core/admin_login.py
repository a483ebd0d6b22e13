"""The admin's sign-in, throttled per client and per account like the API's auth endpoints.

Failed sign-ins count against the ``auth`` rate (API_THROTTLE_AUTH) in two
counters: the client's address (behind the trusted proxies) and the account
tried. Once either is spent, every sign-in is refused until the window ends,
the right password included, so guessing costs the window's length.
"""

import hashlib
import math

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from apps.core.throttling import FixedWindowRateThrottle


class FailedAdminSignIns(FixedWindowRateThrottle):
    scope = "auth"

    def __init__(self, request: HttpRequest) -> None:
        super().__init__()
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends_at = float((window + 1) * self.duration)
        account = request.POST.get("username", "").strip().lower().encode()
        self.keys = [
            f"throttle_admin_login_client_{self.get_ident(request)}:{window}",  # type: ignore[arg-type]
            f"throttle_admin_login_account_{hashlib.sha256(account).hexdigest()}:{window}",
        ]

    def spent(self) -> bool:
        return any((self.cache.get(key) or 0) >= self.num_requests for key in self.keys)

    def count_failure(self) -> None:
        for key in self.keys:
            self.count_request(key)


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's own login view, behind the failed sign-in counters."""
    if request.method != "POST":
        return admin.site.login(request)
    failures = FailedAdminSignIns(request)
    if failures.spent():
        wait = math.ceil(failures.wait())
        return HttpResponse(
            f"Too many failed sign-ins. Try again in {wait} seconds.",
            status=429,
            content_type="text/plain",
            headers={"Retry-After": str(wait)},
        )
    response = admin.site.login(request)
    if not request.user.is_authenticated:
        failures.count_failure()
    return response
