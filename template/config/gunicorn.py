"""gunicorn configuration: ``gunicorn -c config/gunicorn.py config.wsgi``.

Every value can be tuned from the environment; docs/design.md gives the reasons.
"""

import gc
import math
import os
import shutil
import tempfile
from pathlib import Path


def cgroup_cpu_limit(
    root: Path = Path("/sys/fs/cgroup"), membership: Path = Path("/proc/self/cgroup")
) -> float | None:
    """The CPUs a cgroup quota allows this process (1.5 for "150000 100000"), or None.

    cgroup v2: the tightest ``cpu.max`` up from its own group; v1: the ``cpu`` controller's.
    """
    limits: list[float] = []
    own = next(
        (line[3:] for line in read_lines(membership) if line.startswith("0::")),
        "/",
    )
    group = root / own.strip("/")
    for directory in (group, *group.parents):
        fields = read_lines(directory / "cpu.max")[:1]
        if fields and not fields[0].startswith("max"):
            quota, period = fields[0].split()
            limits.append(int(quota) / int(period))
        if directory == root:
            break
    v1_quota = read_lines(root / "cpu" / "cpu.cfs_quota_us")[:1]
    if v1_quota and int(v1_quota[0]) > 0:
        period = read_lines(root / "cpu" / "cpu.cfs_period_us")[0]
        limits.append(int(v1_quota[0]) / int(period))
    return min(limits, default=None)


def read_lines(path: Path) -> list[str]:
    """The file's lines, or none when it does not exist (another OS or cgroup version)."""
    try:
        return path.read_text().splitlines()
    except OSError:
        return []


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity capped by a cgroup quota, not the host's."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cpus = affinity or os.cpu_count() or 1
    limit = cgroup_cpu_limit()
    return cpus if limit is None else max(1, min(cpus, math.ceil(limit)))


bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
# gunicorn's own guidance: (2 x cores) + 1 synchronous workers.
if "WEB_CONCURRENCY" in os.environ:
    workers = int(os.environ["WEB_CONCURRENCY"])
else:
    workers = usable_cpus() * 2 + 1
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5

# Recycle workers so a slow leak never becomes an outage; a wide jitter staggers them.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000"))
max_requests_jitter = max_requests // 2

# Import Django once in the master and fork the workers from it; new code then
# needs a restart, not a HUP (docs/design.md). GUNICORN_PRELOAD_APP=0 turns it off.
preload_app = os.environ.get("GUNICORN_PRELOAD_APP", "1") != "0"

# Heartbeat files on tmpfs: a slow container disk must not look like a hung worker.
if Path("/dev/shm").is_dir():  # noqa: S108 (tmpfs for heartbeats, no data written)
    worker_tmp_dir = "/dev/shm"  # noqa: S108

# Trust X-Forwarded-* only from the proxy in front: from there, and only there,
# "X-Forwarded-Proto: https" makes the request HTTPS (Django reads the scheme
# gunicorn sets). The other scheme headers gunicorn knows are not consulted.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}

# No control socket: unused, and every instance on a host would claim the same path.
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
    """Before the first fork: load what each worker's first request would, then freeze it.

    Nothing here connects; gc.freeze() keeps the workers from copying what they inherit.
    """
    if not preload_app:
        return
    from django.core.cache import caches
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports the URLconf and its views)
    for alias in caches.settings:
        caches.create_connection(alias)
    gc.freeze()


# Prometheus (apps/core/metrics.py): each worker writes its values to one
# directory and /metrics sums them, so a scrape sees every worker, not one.
# It must be known before Django (and prometheus_client) is imported.
made_metrics_dir = ""
if os.environ.get("METRICS_TOKEN") and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    made_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="prometheus-web-"
    )


def on_starting(server: object) -> None:
    """A fresh count per master: values a previous run left in the directory are dropped."""
    if directory := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        shutil.rmtree(directory, ignore_errors=True)
        Path(directory).mkdir(parents=True)


def child_exit(server: object, worker: object) -> None:
    """A dead worker's live gauges go; its counters stay in the sum."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined,no-untyped-call]


def on_exit(server: object) -> None:
    """Remove the directory made above; one the environment named is left for its owner."""
    if made_metrics_dir:
        shutil.rmtree(made_metrics_dir, ignore_errors=True)
