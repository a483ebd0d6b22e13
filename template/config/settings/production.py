"""Production: every secret and service URL comes from the environment.

A missing variable stops the process at start-up with an error that names it,
instead of a half-configured site.
"""

from config.settings.base import *
from config.settings.environment import env, mailer_settings, require_env

require_env(*REQUIRED_IN_PRODUCTION)

SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list(
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    default=[f"https://{host.lstrip('.')}" for host in ALLOWED_HOSTS if host != "*"],
)

# E-mail: EMAIL_URL such as smtp+tls://user:password@smtp.example.com:587
MAILERS = {"default": mailer_settings(env.str("EMAIL_URL"))}
SITE_URL = env.str("DJANGO_SITE_URL", default=f"https://{DOMAIN_NAME}")

# HTTPS: the proxy in front terminates TLS and says so in X-Forwarded-Proto.
# gunicorn believes it only from FORWARDED_ALLOW_IPS (config/gunicorn.py) and
# sets the request's scheme; Django reading the header itself would believe
# any client claiming HTTPS. One such proxy also sets TRUSTED_PROXY_COUNT's
# default here (environment.py).
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Secure-sessionid"
CSRF_COOKIE_NAME = "__Secure-csrftoken"

# Static files: compressed, content-hashed names served by WhiteNoise.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
