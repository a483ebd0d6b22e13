"""Prometheus metrics (apps/core/metrics.py): off until METRICS_TOKEN is set.

Prometheus sends the token as a bearer token to /metrics on the web and to
METRICS_WORKER_PORT on a task worker; without it both answer 404 or 401.
"""

import os
import shutil
import tempfile
from multiprocessing.util import Finalize

from config.settings.environment import env

METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Where a task worker serves its own /metrics (it has no web server to share).
METRICS_WORKER_HOST = env.str("METRICS_WORKER_HOST", default="0.0.0.0")  # noqa: S104 (scraped from outside)
METRICS_WORKER_PORT = env.int("METRICS_WORKER_PORT", default=9191)


def use_multiprocess_dir() -> None:
    """With metrics on, give this process and the ones it forks one value directory.

    prometheus_client reads it when first imported, which an app may do (django-q2
    does), so it is chosen here, before any app loads; gunicorn's config chooses the
    web's. The directory is removed at exit after the pool's processes are joined
    (a multiprocessing finalizer: django-q2's command returns while its cluster runs).
    """
    if not METRICS_TOKEN or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prometheus-")
    owner = os.getpid()

    def remove() -> None:
        if os.getpid() == owner:
            shutil.rmtree(directory, ignore_errors=True)

    Finalize(None, remove, exitpriority=-1)


use_multiprocess_dir()
