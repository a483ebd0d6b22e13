"""gunicorn configuration: ``gunicorn -c config/gunicorn.py config.wsgi``.

Every value can be tuned from the environment without a rebuild.
"""

import gc
import multiprocessing
import os
from pathlib import Path

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
# gunicorn's own guidance: (2 x cores) + 1 synchronous workers.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5

# Recycle workers now and then so a slow leak never becomes an outage. Workers
# start together and share the load evenly, so a wide jitter keeps them from
# all being replaced at the same moment.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000"))
max_requests_jitter = max_requests // 2

# Import Django once, in the master, and fork every worker from it: a recycled
# worker serves within milliseconds instead of importing the project again, and
# workers share the imported code's memory. The cost: HUP re-reads this file
# but keeps the loaded code, so new code needs a restart. Set
# GUNICORN_PRELOAD_APP=0 to load the code in each worker instead.
preload_app = os.environ.get("GUNICORN_PRELOAD_APP", "1") != "0"

# Heartbeat files on tmpfs: a slow container disk must not look like a hung worker.
if Path("/dev/shm").is_dir():  # noqa: S108 (tmpfs for heartbeats, no data written)
    worker_tmp_dir = "/dev/shm"  # noqa: S108

# Trust X-Forwarded-* only from the proxy in front.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# No runtime control socket (gunicornc): nothing here uses it, and every
# instance on a host would otherwise claim the same ~/.gunicorn/gunicorn.ctl.
control_socket_disable = True

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = (
    '{"time": "%(t)s", "remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", '
    '"status": %(s)s, "bytes": "%(B)s", "duration_us": %(D)s, '
    '"request_id": "%({x-request-id}o)s", "user_agent": "%(a)s"}'
)


def when_ready(server: object) -> None:
    """Before the first fork: load what Django would load on each worker's first request.

    With preload_app the workers inherit it. Nothing here opens a connection:
    the URLconf imports the views, and a cache backend only connects when used.
    gc.freeze() then keeps the collector from touching (and so copying) the
    inherited objects in every worker.
    """
    if not preload_app:
        return
    from django.core.cache import caches
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports the URLconf and its views)
    for alias in caches.settings:
        caches.create_connection(alias)
    gc.freeze()
