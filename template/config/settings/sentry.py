"""Error tracking: Sentry, on only when SENTRY_DSN is set.

Events carry the request id as a tag and no cookie, password, token or
Authorization header (apps/core/error_tracking.py). The task queue's own
integration, if sentry-sdk has one, comes from tasks.py.
"""

import os

from config.settings.environment import IN_PRODUCTION, env
from config.settings.tasks import TASKS_SENTRY_INTEGRATIONS

# Revisions the platforms expose that sentry-sdk does not read itself; unset, it
# asks git for HEAD, then reads Heroku's HEROKU_BUILD_COMMIT and SOURCE_VERSION.
PLATFORM_REVISIONS = ("RENDER_GIT_COMMIT", "FLY_IMAGE_REF")
# Keys whose values never leave the process, beside sentry-sdk's own denylist
# (password, token, cookie, authorization, sessionid, csrftoken, ...): the
# prefixed cookie names of production, allauth's and the API's password fields,
# and simplejwt's tokens in request bodies.
SCRUBBED_KEYS = [
    "__secure-sessionid",
    "__secure-csrftoken",
    "password1",
    "password2",
    "old_password",
    "new_password",
    "new_password1",
    "new_password2",
    "current_password",
    "refresh",
    "access",
    "jwt_signing_key",
    "secret_key",
]

SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str(
    "SENTRY_ENVIRONMENT", default="production" if IN_PRODUCTION else "development"
)
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="") or next(
    (os.environ[name] for name in PLATFORM_REVISIONS if os.environ.get(name)), ""
)
# Share of requests and tasks traced for performance; errors are always sent.
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)

if SENTRY_DSN:
    # Imported only when on: sentry-sdk and its integrations add about 80 ms and
    # 3 MB to the start of every process.
    from apps.core.error_tracking import start_sentry

    start_sentry(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=SENTRY_RELEASE or None,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
        scrubbed_keys=SCRUBBED_KEYS,
        task_integrations=TASKS_SENTRY_INTEGRATIONS,
    )
