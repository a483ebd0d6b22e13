"""A rendered project: install its dependencies and run its commands."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import toolchain
from tests.support.bytecode import share_bytecode
from tests.support.combinations import Combination
from tests.support.processes import exclusive, run

# Virtual environments shared by projects whose dependencies are identical.
VENV_ROOT = Path(
    os.environ.get("DJANGO_PROD_VENVS", Path.home() / ".cache" / "django-prod" / "venvs")
)

# Variables of the developer's shell that would leak into a generated project's run.
LEAKY = ("VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE", "PYTHONPATH", "UV_PROJECT_ENVIRONMENT")
# Where it is set (CI machines set it), every process of a generated project
# would compile Django from source again: about 0.9 s per command. Without it the
# first process writes the bytecode of what it imports into the shared venv,
# once; compiling the whole venv at install instead costs 16 s of CPU each.
NO_BYTECODE = ("PYTHONDONTWRITEBYTECODE",)
SERVICE_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "MEMCACHED_SERVERS",
    "CELERY_BROKER_URL",
    "HUEY_REDIS_URL",
    "DJANGO_Q_REDIS_URL",
    "CACHE_KEY_PREFIX",
)


@dataclass
class Project:
    path: Path
    combination: Combination
    timings: dict[str, float] = field(default_factory=dict)
    release_env: dict[str, str] | None = None

    @property
    def answers(self) -> dict[str, str]:
        return self.combination.answers

    @property
    def python_version(self) -> str:
        return self.combination.python_version

    def dependency_key(self) -> str:
        """A digest of everything that decides the installed packages."""
        pyproject = tomllib.loads((self.path / "pyproject.toml").read_text())
        spec = repr(
            (
                self.python_version,
                sorted(pyproject["project"]["dependencies"]),
                sorted(pyproject.get("dependency-groups", {}).get("dev", [])),
            )
        )
        return hashlib.sha256(spec.encode()).hexdigest()[:16]

    @property
    def venv(self) -> Path:
        return VENV_ROOT / f"py{self.python_version}-{self.dependency_key()}"

    def beside_venv(self, suffix: str) -> Path:
        """A path next to the venv, its own (``with_suffix`` would cut the name at ``py3.``)."""
        return self.venv.parent / f"{self.venv.name}{suffix}"

    def install(self) -> subprocess.CompletedProcess[str]:
        """``uv sync`` into the shared venv for these dependencies (one writer at a time)."""
        with exclusive(self.beside_venv(".lock")), self._timed("install"):
            new = not self.venv.exists()
            result = self.uv("sync", "--python", toolchain.python(self.python_version))
            if new and result.returncode == 0:
                share_bytecode(self.venv, self.python_version)
            return result

    def type_check(self) -> subprocess.CompletedProcess[str]:
        """``mypy .``, with a cache shared by the projects of one ``mypy_cache_group``.

        Without one, every run analyses the installed packages and their stubs
        (Django's, DRF's) again: about 4/5 of its time. mypy revalidates each
        cached module against its source's hash (a package at another venv's
        path included) and never caches a module with errors, so the cache
        changes no verdict. One mypy at a time per cache.
        """
        cache = VENV_ROOT / f"mypy-py{self.python_version}-{self.mypy_cache_group()}"
        with exclusive(cache.with_name(f"{cache.name}.lock")):
            env = {"MYPY_CACHE_DIR": str(cache)}
            return self.run("mypy", ".", env=env, services=False, timing="mypy")

    def mypy_cache_group(self) -> str:
        """The answers that decide INSTALLED_APPS: the django-stubs plugin discards
        the whole cache when they differ (its ``report_config_data``)."""
        return "-".join(self.answers[question] for question in ("auth", "task_queue"))

    def uv(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        env = self.environment({"UV_PROJECT_ENVIRONMENT": str(self.venv)}, services=False)
        return run([toolchain.uv(), *args], cwd=self.path, env=env, timeout=timeout)

    def run(
        self,
        *command: str,
        env: Mapping[str, str] | None = None,
        services: bool = True,
        timeout: float = 900,
        timing: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command of the project's venv (``python``, ``pytest``, ``ruff``...)."""
        executable = self.venv / "bin" / command[0]
        with self._timed(timing):
            return run(
                [executable, *command[1:]],
                cwd=self.path,
                env=self.environment(env or {}, services=services),
                timeout=timeout,
            )

    def manage(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return self.run("python", "manage.py", *args, **kwargs)

    def environment(self, extra: Mapping[str, str], *, services: bool) -> dict[str, str]:
        from tests.support.services import service_env

        env = {
            k: v for k, v in os.environ.items() if k not in LEAKY + SERVICE_VARIABLES + NO_BYTECODE
        }
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.venv)
        env["UV_PYTHON_DOWNLOADS"] = "never"
        if services:
            env.update(service_env(self.combination))
        env.update(extra)
        return env

    @contextmanager
    def _timed(self, name: str | None) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            if name:
                self.timings[name] = time.perf_counter() - started


def explain(result: subprocess.CompletedProcess[str]) -> str:
    """The command and its output, for assertion messages."""
    return (
        f"$ {' '.join(map(str, result.args))}\n(exit {result.returncode})\n"
        f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
    )
