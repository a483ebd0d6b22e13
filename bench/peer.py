"""bench/peer: this template's project beside cookiecutter-django's, on one machine, in one run.

    uv run python -m bench.peer [--pairs 5] [--duration 10] [--connections 16]

Both projects are rendered and installed from scratch: this template's default
answers with auth=jwt (as bench/serve renders it), and cookiecutter-django from
its release tarball (issue #21's answers, no Docker; its post-generation hook
writes its uv.lock, from which it is installed without dev dependencies). Each
is released (migrate, collectstatic) into a fresh PostgreSQL database, with
Redis, under its production settings, and served by gunicorn as it ships: ours
with config/gunicorn.py, the peer as its production start command does
(``gunicorn config.wsgi``); 2 sync workers each, both running at once.

Measured in pairs, A and B interleaved (the order flips every pair):
``GET /api/users/me/`` with a JWT here and a DRF token there, Django admin's
``admin/css/base.css`` through WhiteNoise (the same file in both), and the
wall time of a fresh ``manage.py check``. After the pairs, the resident memory
of each server's workers. Our API rate limits are raised for the run (as in
bench/serve), so throttling is paid for but never hit.

Every target's first answer must be a 200 with the expected body, and every
wrk run free of errors and non-2xx/3xx answers: otherwise the run stops and
reports no ratio. Prints each pair and the median ratio (ours / peer) against
issue #21's goals; writes bench/results/peer.json.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.serve import rendered_project
from tests.support import services, toolchain
from tests.support.combinations import TEMPLATE_ROOT
from tests.support.load import WrkResult, wrk
from tests.support.production import UNTHROTTLED, release
from tests.support.project import LEAKY, NO_BYTECODE, SERVICE_VARIABLES
from tests.support.server import free_port, stop_process_group
from tests.support.signin import PASSWORD, Served, create_verified_user, jwt_access_token

RESULTS = TEMPLATE_ROOT / "bench" / "results" / "peer.json"
# shared/ sits beside the repository, as in CI.
PEER_TARBALL = Path(
    os.environ.get(
        "BENCH_PEER_TARBALL",
        TEMPLATE_ROOT.parent / "shared" / "peers" / "cookiecutter-django-2026.03.27.tar.gz",
    )
)
COOKIECUTTER = "cookiecutter==2.7.1"
PEER_ANSWERS = (
    "rest_api=DRF", "use_celery=y", "use_whitenoise=y", "cloud_provider=None",
    "mail_service=Other SMTP", "username_type=email", "use_docker=n",
)  # fmt: skip
PEER_DATABASE = "bench_peer_prod"
PEER_REDIS = f"redis://{services.HOST}:{services.PORTS['redis']}/13"
EMAIL = "bench@example.com"
STATIC_FILE = "admin/css/base.css"  # Django's own: the same bytes in both projects
WORKERS = "2"
WARM_UP_SECONDS = 2
HTTPS = {"X-Forwarded-Proto": "https"}  # what the TLS-terminating proxy adds

# measure -> (ours / peer must be >= or <= this), issue #21's goals
GOALS = {
    "me_requests_per_second": (">=", 1.5),
    "me_p99_ms": ("<=", 1.0),
    "static_requests_per_second": (">=", 1.2),
    "check_seconds": ("<=", 0.7),
    "worker_rss_mib": ("<=", 0.7),
}


class Refused(SystemExit):
    """A target answered with an error: no ratio is reported from this run."""


@dataclass
class Site:
    """One project, released and ready to serve: its directory, venv and environment."""

    name: str
    path: Path
    venv: Path
    env: dict[str, str]  # the whole environment of its production processes
    command: list[str]  # its web process, as it ships (gunicorn adds --bind)
    sign_in: Callable[[Site], dict[str, str]]  # headers of a signed-in request
    static_url_path: str = ""
    url: str = ""
    master_pid: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        return run_in(self.path, self.venv, self.env, *command)

    def shell(self, script: str) -> str:
        """The last line ``manage.py shell -c script`` prints."""
        printed = self.run("python", "manage.py", "shell", "-c", script).stdout
        return printed.strip().splitlines()[-1]


def run_in(
    path: Path, venv: Path, env: dict[str, str], *command: str
) -> subprocess.CompletedProcess[str]:
    """A command of *venv* run in *path*; a failure stops the benchmark with its output."""
    result = subprocess.run(
        [str(venv / "bin" / command[0]), *command[1:]], cwd=path, env=env,
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(
            f"$ {' '.join(command)} (in {path}) exited with {result.returncode}\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def clean_environment(venv: Path) -> dict[str, str]:
    """This shell's environment without what would leak into a project's processes."""
    env = {k: v for k, v in os.environ.items() if k not in LEAKY + SERVICE_VARIABLES + NO_BYTECODE}
    # The peer's post-generation hook runs uv from PATH.
    env["PATH"] = os.pathsep.join(
        [str(venv / "bin"), str(Path(toolchain.uv()).parent), env["PATH"]]
    )
    env["VIRTUAL_ENV"] = str(venv)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


def ours(workdir: Path) -> Site:
    project = rendered_project("jwt", workdir)
    release_env = {**release(project), **UNTHROTTLED}
    served = Served(project, "", release_env)
    create_verified_user(served, EMAIL)
    env = project.environment({**release_env, "WEB_CONCURRENCY": WORKERS}, services=True)

    def sign_in(site: Site) -> dict[str, str]:
        # An access token lives minutes: a new one for every pair.
        token = jwt_access_token(Served(project, site.url, release_env), EMAIL)
        return {**HTTPS, "Authorization": f"Bearer {token}"}

    command = ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
    return Site("ours", project.path, project.venv, env, command, sign_in)


def peer(workdir: Path) -> Site:
    """cookiecutter-django rendered from its tarball, installed from its own uv.lock, released."""
    source = workdir / "peer-template"
    with tarfile.open(PEER_TARBALL) as archive:
        archive.extractall(source, filter="data")
    (template,) = source.iterdir()
    python = toolchain.python("3.13")
    venv = workdir / "peer-venv"
    env = clean_environment(venv) | {"UV_PYTHON": python, "UV_PROJECT_ENVIRONMENT": str(venv)}
    rendered = workdir / "peer"
    render = [
        "uvx", "--from", COOKIECUTTER, "cookiecutter", "--no-input", "--output-dir",
        str(rendered), str(template), *PEER_ANSWERS,
    ]  # fmt: skip
    done = subprocess.run(render, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"peer: cookiecutter failed\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    (path,) = rendered.iterdir()
    installed = subprocess.run(
        [toolchain.uv(), "sync", "--locked", "--no-dev", "--python", python],
        cwd=path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if installed.returncode != 0:
        raise SystemExit(f"peer: uv sync failed\n{installed.stderr[-4000:]}")

    services.recreate_database("postgresql", PEER_DATABASE)
    env = clean_environment(venv) | {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ADMIN_URL": "manage-bench/",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"postgres://postgres@{services.HOST}:{services.PORTS['postgresql']}/"
        + PEER_DATABASE,
        "REDIS_URL": PEER_REDIS,
        "CELERY_BROKER_URL": PEER_REDIS,
        "WEB_CONCURRENCY": WORKERS,
    }
    token_script = (
        "from django.contrib.auth import get_user_model\n"
        "from rest_framework.authtoken.models import Token\n"
        f"user = get_user_model().objects.create_user(email={EMAIL!r}, password={PASSWORD!r})\n"
        "print(Token.objects.create(user=user).key)\n"
    )
    for step in (("migrate", "--noinput"), ("collectstatic", "--noinput")):
        run_in(path, venv, env, "python", "manage.py", *step)
    printed = run_in(path, venv, env, "python", "manage.py", "shell", "-c", token_script).stdout
    headers = {**HTTPS, "Authorization": f"Token {printed.strip().splitlines()[-1]}"}
    # Its production start command, less the container's --bind and --chdir.
    return Site("peer", path, venv, env, ["gunicorn", "config.wsgi"], lambda _: headers)


@contextmanager
def serving(site: Site) -> Iterator[None]:
    """Start the site's gunicorn on a free port until the block ends."""
    port = free_port()
    site.static_url_path = site.shell(
        f"from django.templatetags.static import static; print(static({STATIC_FILE!r}))"
    )
    log = site.path / "bench-gunicorn.log"
    executable, *arguments = site.command
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(site.venv / "bin" / executable), *arguments, f"--bind=127.0.0.1:{port}"],
            cwd=site.path, env=site.env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            site.url, site.master_pid = f"http://127.0.0.1:{port}", process.pid
            wait_for_first_answer(site, process, log)
            yield
        finally:
            stop_process_group(process)


def wait_for_first_answer(site: Site, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{site.name}: gunicorn exited:\n{log.read_text()[-4000:]}")
        try:
            requests.get(site.url + site.static_url_path, headers=HTTPS, timeout=10)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.3)
    raise SystemExit(f"{site.name}: no answer within 60 s:\n{log.read_text()[-4000:]}")


def target_url(site: Site, target: str) -> str:
    return site.url + ("/api/users/me/" if target == "me" else site.static_url_path)


def check_answer(site: Site, target: str) -> None:
    """One request as wrk will send it: a 200 with a JSON profile, or with the CSS file."""
    answer = requests.get(
        target_url(site, target), headers=site.headers, allow_redirects=False, timeout=10
    )
    content_type = "application/json" if target == "me" else "text/css"
    if answer.status_code != 200 or not answer.headers.get("Content-Type", "").startswith(
        content_type
    ):
        raise Refused(
            f"{site.name} {target}: {answer.status_code} {answer.headers.get('Content-Type')} "
            f"{answer.text[:500]!r}; no ratio reported"
        )


def load(site: Site, target: str, duration: float, connections: int) -> WrkResult:
    check_answer(site, target)
    result = wrk(target_url(site, target), site.headers, duration=duration, connections=connections)
    if result.errors or result.requests == 0:
        raise Refused(
            f"{site.name} {target}: {result.non_2xx_3xx} non-2xx/3xx answers, socket errors "
            f"{result.socket_errors}, {result.requests} requests; no ratio reported"
        )
    return result


def check_seconds(site: Site) -> float:
    """Wall time of a fresh ``manage.py check`` under production settings."""
    started = time.perf_counter()
    site.run("python", "manage.py", "check")
    return time.perf_counter() - started


def worker_memory(site: Site) -> dict[str, float]:
    """Mean resident and proportional set size of the gunicorn master's children, in MiB."""
    children = Path(f"/proc/{site.master_pid}/task/{site.master_pid}/children").read_text()
    rss, pss = [], []
    for pid in children.split():
        status = Path(f"/proc/{pid}/status").read_text()
        rss.append(kib(status, "VmRSS:") / 1024)
        pss.append(kib(Path(f"/proc/{pid}/smaps_rollup").read_text(), "Pss:") / 1024)
    return {"worker_rss_mib": statistics.mean(rss), "worker_pss_mib": statistics.mean(pss)}


def kib(text: str, label: str) -> int:
    line = next(line for line in text.splitlines() if line.startswith(label))
    return int(line.split()[1])


def measure_pair(
    sites: list[Site], duration: float, connections: int
) -> dict[str, dict[str, float]]:
    """Every target once on each site, the sites taking turns; {site: {measure: value}}."""
    pair: dict[str, dict[str, float]] = {site.name: {} for site in sites}
    for site in sites:
        site.headers = site.sign_in(site)
    for target in ("me", "static"):
        for site in sites:
            result = load(site, target, duration, connections)
            pair[site.name][f"{target}_requests_per_second"] = result.requests_per_second
            pair[site.name][f"{target}_p99_ms"] = result.p99_ms
    for site in sites:
        pair[site.name]["check_seconds"] = check_seconds(site)
    return pair


def ratio(values: dict[str, dict[str, float]], measure: str) -> float:
    return values["ours"][measure] / values["peer"][measure]


def meets(measure: str, value: float) -> bool:
    comparison, goal = GOALS[measure]
    return value >= goal if comparison == ">=" else value <= goal


def git_head() -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=TEMPLATE_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=5, help="A/B pairs of every target")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    if not PEER_TARBALL.is_file():
        raise SystemExit(f"{PEER_TARBALL} is missing: set BENCH_PEER_TARBALL to the peer's tarball")

    commit, load_average = git_head(), os.getloadavg()  # what was measured, how busy the machine
    pairs: list[dict[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as workdir, ExitStack() as stack:
        sites = [ours(Path(workdir)), peer(Path(workdir))]
        print("rendered, installed and released both; measuring", flush=True)
        for site in sites:
            stack.enter_context(serving(site))
        for site in sites:  # discarded: pools, caches and bytecode warmed on both sides
            site.headers = site.sign_in(site)
            for target in ("me", "static"):
                load(site, target, WARM_UP_SECONDS, options.connections)
            check_seconds(site)
        for number in range(options.pairs):
            order = sites if number % 2 == 0 else sites[::-1]
            pair = measure_pair(order, options.duration, options.connections)
            pairs.append(pair)
            print(
                f"pair {number + 1} ({order[0].name} first): "
                + "  ".join(
                    f"{measure} {pair['ours'][measure]:.4g}/{pair['peer'][measure]:.4g}"
                    f"={ratio(pair, measure):.2f}"
                    for measure in pair["ours"]
                ),
                flush=True,
            )
        memory = {site.name: worker_memory(site) for site in sites}

    summary = {}
    for measure in GOALS:
        if measure == "worker_rss_mib":
            median, low, high = (ratio(memory, measure),) * 3
        else:
            ratios = [ratio(pair, measure) for pair in pairs]
            median, low, high = statistics.median(ratios), min(ratios), max(ratios)
        comparison, goal = GOALS[measure]
        summary[measure] = {
            "median_ratio": round(median, 3), "min_ratio": round(low, 3),
            "max_ratio": round(high, 3), "goal": f"{comparison} {goal}",
            "meets_goal": meets(measure, median),
        }  # fmt: skip
        print(
            f"{measure:<28} ours/peer x{median:.2f} (pairs {low:.2f}..{high:.2f})  "
            f"goal {comparison} {goal}: {'met' if meets(measure, median) else 'NOT met'}"
        )
    pss = memory["ours"]["worker_pss_mib"] / memory["peer"]["worker_pss_mib"]
    print(f"{'worker_pss_mib (info)':<28} ours/peer x{pss:.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "template_commit": commit,
                "load_average_at_start": [round(load, 2) for load in load_average],
                "peer": PEER_TARBALL.name,
                "pairs": options.pairs,
                "duration_s": options.duration,
                "connections": options.connections,
                "workers": int(WORKERS),
                "static_file": STATIC_FILE,
                "ratios_ours_to_peer": summary,
                "worker_memory": memory,
                "per_pair": pairs,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written to {RESULTS.relative_to(TEMPLATE_ROOT)}")


if __name__ == "__main__":
    main()
