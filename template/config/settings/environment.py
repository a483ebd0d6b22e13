"""Where settings read the environment from.

Values already in the process environment win over a ``.env`` file at the
project root, which is read only when it exists (local development).
"""

from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# DJANGO_ENV_FILE names another file, or none when empty (a test that needs a
# variable unset must not have .env fill it in).
ENV_FILE = env.str("DJANGO_ENV_FILE", default=str(BASE_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).is_file():
    env.read_env(ENV_FILE)

# How many proxies in front of the app append the client's address to
# X-Forwarded-For (nginx, Caddy, a platform's router). Rate limits count per
# client address: with 0 they take REMOTE_ADDR, which behind a proxy is the
# proxy's own, shared by every client. Production settings assume the one
# TLS-terminating proxy they already trust for HTTPS; development has none.
IN_PRODUCTION = env.str("DJANGO_SETTINGS_MODULE", default="") == "config.settings.production"
TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=1 if IN_PRODUCTION else 0)


def require_env(*names: str) -> None:
    """Raise ImproperlyConfigured naming every variable in *names* that is unset or empty."""
    missing = [name for name in names if not env.str(name, default="")]
    if missing:
        raise ImproperlyConfigured(
            f"Set the {', '.join(missing)} environment variable{'s' if len(missing) > 1 else ''}: "
            "production settings refuse to start without "
            f"{'them' if len(missing) > 1 else 'it'} (see .env.example)."
        )


def mailer_settings(url: str) -> dict[str, Any]:
    """Turn an EMAIL_URL (``smtp+tls://user:password@host:587``) into a MAILERS entry."""
    config = env.email_url_config(url)
    backend = config["EMAIL_BACKEND"]
    if backend != "django.core.mail.backends.smtp.EmailBackend":
        return {"BACKEND": backend}
    return {
        "BACKEND": backend,
        "OPTIONS": {
            "host": config["EMAIL_HOST"],
            "port": config["EMAIL_PORT"],
            "username": config["EMAIL_HOST_USER"],
            "password": config["EMAIL_HOST_PASSWORD"],
            "use_tls": config.get("EMAIL_USE_TLS", False),
            "use_ssl": config.get("EMAIL_USE_SSL", False),
            "timeout": 10,
        },
    }
