"""A generated project's task worker, started as its README says, and waiting until it answers."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.project import Project, explain
from tests.support.server import own_session

WORKER_COMMANDS = {
    "celery": ["celery", "-A", "config", "worker", "--loglevel=INFO", "--concurrency=2"],
    "huey": ["python", "manage.py", "run_huey", "--workers", "2"],
    "django-q2": ["python", "manage.py", "qcluster"],
}


@contextmanager
def worker(
    project: Project, env: dict[str, str], log_name: str, *, grace: float = 30
) -> Iterator[subprocess.Popen[bytes]]:
    """The worker process group until the block ends; then SIGTERM, SIGKILL after *grace* s."""
    command = WORKER_COMMANDS[project.answers["task_queue"]]
    with own_session(
        [str(project.venv / "bin" / command[0]), *command[1:]],
        project.path / log_name,
        cwd=project.path,
        env=project.environment(env, services=True),
        grace=grace,
    ) as process:
        yield process


def shell(project: Project, env: dict[str, str], script: str) -> str:
    result = project.manage("shell", "-c", script, env=env)
    assert result.returncode == 0, explain(result)
    return result.stdout


def wait_for_worker(project: Project, env: dict[str, str], log_name: str) -> None:
    """Wait until a worker answers the project's own check (prodcheck's), so the
    test's faults hit a running worker, not one still connecting. Asked again
    until it answers: a Celery worker not yet listening misses a broadcast."""
    output = shell(
        project,
        env,
        "import json, time\nfrom django.conf import settings\n"
        "from django.utils.module_loading import import_string\n"
        "check = import_string(settings.TASKS_WORKER_CHECK)\n"
        "deadline = time.monotonic() + 60\n"
        "while not (answer := check(2))[0] and time.monotonic() < deadline:\n"
        "    pass\n"
        "print(json.dumps(answer))\n",
    )
    answered, detail = json.loads(output.strip().splitlines()[-1])
    assert answered, f"{detail}:\n{(project.path / log_name).read_text()[-5000:]}"
