"""Static files answered in front of Django's WSGI handler (docs/design.md)."""

from collections.abc import Iterable
from wsgiref.headers import Headers
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from django.conf import settings
from whitenoise.base import WhiteNoise
from whitenoise.middleware import WhiteNoiseMiddleware
from whitenoise.string_utils import decode_path_info


class StaticFilesFirst:
    """Serve STATIC_ROOT's files before Django builds a request; pass the rest on."""

    def __init__(self, application: WSGIApplication) -> None:
        self.application = application
        # The middleware indexes the files as the settings say (prefix, cache lifetimes,
        # which are immutable). With autorefresh (DEBUG) it finds them per request itself.
        middleware = WhiteNoiseMiddleware()
        self.files = {} if middleware.autorefresh else middleware.files

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if settings.SECURE_SSL_REDIRECT and environ.get("wsgi.url_scheme") != "https":
            return self.application(environ, start_response)  # Django redirects to HTTPS
        static_file = self.files.get(decode_path_info(environ.get("PATH_INFO", "")))
        if static_file is None:
            return self.application(environ, start_response)
        answer: Iterable[bytes] = WhiteNoise.serve(static_file, environ, start_response)
        return answer


def security_headers(headers: Headers, path: str, url: str) -> None:
    """WHITENOISE_ADD_HEADERS_FUNCTION: what SecurityMiddleware adds to a page, added to
    each static file once at start-up, since StaticFilesFirst answers before it runs."""
    if settings.SECURE_HSTS_SECONDS:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        headers["Strict-Transport-Security"] = hsts
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers["X-Content-Type-Options"] = "nosniff"
    if policy := settings.SECURE_REFERRER_POLICY:
        headers["Referrer-Policy"] = policy if isinstance(policy, str) else ",".join(policy)
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers["Cross-Origin-Opener-Policy"] = settings.SECURE_CROSS_ORIGIN_OPENER_POLICY
