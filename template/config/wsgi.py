"""WSGI entry point used by gunicorn: static files first, then Django."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

django_application = get_wsgi_application()

from apps.core.static_files import StaticFilesFirst  # noqa: E402 (needs the settings loaded)

application = StaticFilesFirst(django_application)
