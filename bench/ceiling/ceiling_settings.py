"""The ceiling for bench/serve: Django with one view and nothing else.

No apps, no middleware, no database: what gunicorn and Django's request
handling cost by themselves, served the same way as the generated project.
"""

from django.http import HttpRequest, JsonResponse
from django.urls import path

SECRET_KEY = "bench-ceiling-only"  # serves one constant view, on loopback
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "ceiling_settings"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [path("healthz", healthz)]
