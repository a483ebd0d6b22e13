"""Behind a proxy, rate limits still count each client apart."""

from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIRequestFactory

from apps.core.throttling import AnonRateThrottle

PROXY = "10.0.0.2"  # every request reaches the app from the proxy


def throttle_key_of(client: str, *, trusted_proxies: int) -> str:
    """The address DRF counts a request from *client*, relayed by one proxy, against."""
    request = APIRequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=client)
    rest_framework = {**settings.REST_FRAMEWORK, "NUM_PROXIES": trusted_proxies}
    with override_settings(REST_FRAMEWORK=rest_framework):
        return AnonRateThrottle().get_ident(request)


def test_with_a_trusted_proxy_each_client_has_its_own_rate_limit() -> None:
    assert throttle_key_of("203.0.113.7", trusted_proxies=1) == "203.0.113.7"
    assert throttle_key_of("198.51.100.4", trusted_proxies=1) == "198.51.100.4"


def test_without_one_a_forged_header_cannot_dodge_the_rate_limit() -> None:
    assert throttle_key_of("203.0.113.7", trusted_proxies=0) == PROXY
