"""Render the template's working tree, and render and install a combination once per worker."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import copier
import jinja2

from tests.support import services, toolchain
from tests.support.combinations import Combination
from tests.support.project import Project, explain
from tests.support.working_tree import copy_working_tree


@functools.cache
def working_tree_snapshot() -> Path:
    """The template's working tree copied to a plain directory, once per process.

    Copier renders a plain directory as it is, where a git source costs a
    clone and a copy of the uncommitted changes on every render (about a third
    of a render's time).
    """
    snapshot = Path(tempfile.mkdtemp(prefix="django-prod-template-"))
    copy_working_tree(snapshot)
    return snapshot


def render(copie_session: Any, answers: dict[str, str]) -> Path:
    """Render the working tree with *answers* (defaults for the rest) and return the project.

    The copy tasks (git init, the first ``uv lock``) are skipped here: the
    matrix installs with ``uv sync``, and test_quickstart runs the README's
    generate command from git, tasks included, the way a new user does.
    """
    destination = Path(tempfile.mkdtemp(prefix="copie", dir=copie_session.test_dir))
    try:
        with without_repeated_work():
            copy_working_tree_with(answers, destination)
    except Exception as error:
        raise AssertionError(f"rendering {answers} failed: {error!r}") from error
    return destination


def copy_working_tree_with(answers: dict[str, str], destination: Path) -> None:
    """``copier copy`` of the working tree, without its tasks, as Copier alone does it."""
    copier.run_copy(
        str(working_tree_snapshot()),
        destination,
        data=answers,
        defaults=True,
        unsafe=True,
        quiet=True,
        skip_tasks=True,
    )


_compiled: dict[tuple[object, ...], Any] = {}
_jinja_compile = jinja2.Environment.compile


def _compile_once(
    self: jinja2.Environment,
    source: Any,
    name: str | None = None,
    filename: str | None = None,
    raw: bool = False,
    defer_init: bool = False,
) -> Any:
    key = (source, name, filename, raw, defer_init)
    if key not in _compiled:
        _compiled[key] = _jinja_compile(self, source, name, filename, raw, defer_init)
    return _compiled[key]


@contextmanager
def without_repeated_work() -> Iterator[None]:
    """Skip two costs Copier pays on every render that renders of one template need not.

    It compiles every Jinja source again, each file name's parts and the answers
    file's path included (about 1,500 compilations a render); here each source
    is compiled once per process, as every render's environment is configured
    alike by the one template. And it starts a git process per file to carry
    the executable bit into the destination's git index, a no-op for a new
    directory outside any repository. A render's CPU time falls from about 1.9
    to 0.6 s; test_render.py proves the files are the same.
    """
    with (
        mock.patch.object(jinja2.Environment, "compile", _compile_once),
        mock.patch("copier._main.is_git_available", return_value=False),
    ):
        yield


_built: dict[str, Project] = {}


def build(combination: Combination, copie_session: Any) -> Project:
    """Render and install *combination* once per worker; later callers share it."""
    if combination.id not in _built:
        services.require(combination.services)
        toolchain.python(combination.python_version)  # fail early and clearly when missing
        project = Project(Path(), combination)
        with project._timed("render"):
            project.path = render(copie_session, combination.answers)
        installed = project.install()
        assert installed.returncode == 0, explain(installed)
        _built[combination.id] = project
    return _built[combination.id]
