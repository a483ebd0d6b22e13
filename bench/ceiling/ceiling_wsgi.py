"""WSGI entry point of the bench/serve ceiling."""

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
