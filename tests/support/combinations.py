"""Every supported combination of answers, read from copier.yml itself.

The axis questions' choices come from copier.yml, dependent questions follow
their ``when`` rule, and the unsupported pairs are removed with the same
function copier.yml's validator calls (extensions/context.py). A new choice is
therefore tested without touching the tests.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from extensions.context import services_for, unsupported_reason

TEMPLATE_ROOT = Path(__file__).resolve().parents[2]

# The questions that change what is generated, in the order they are asked.
AXES = ("auth", "task_queue", "celery_broker", "cache", "database", "deploy_target")
# Dependent questions: asked only when the condition on the other answers holds.
DEPENDENT = {"celery_broker": lambda answers: answers["task_queue"] == "celery"}


@cache
def questions() -> dict[str, Any]:
    data = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
    return {key: value for key, value in data.items() if not key.startswith("_")}


def choices(question: str) -> list[str]:
    """The values a question accepts, in copier.yml order."""
    raw = questions()[question]["choices"]
    values = raw.values() if isinstance(raw, dict) else raw
    # A choice is a value, or {value, validator} when the answers so far can rule it out.
    return [str(v["value"] if isinstance(v, dict) else v) for v in values]


def default(question: str) -> str:
    return str(questions()[question]["default"])


@dataclass(frozen=True)
class Combination:
    """One set of answers to the axis questions."""

    answers: dict[str, str] = field(hash=False)

    @property
    def id(self) -> str:
        parts = [self.answers["auth"], self.answers["task_queue"]]
        if "celery_broker" in self.answers:
            parts[-1] += f"-{self.answers['celery_broker']}"
        parts += [self.answers["cache"], self.answers["database"], self.answers["deploy_target"]]
        if "python_version" in self.answers:
            parts.append(f"py{self.answers['python_version']}")
        return ".".join(parts)

    @property
    def python_version(self) -> str:
        """The Python it is generated for: its own answer, else copier.yml's default."""
        return self.answers.get("python_version", default("python_version"))

    def on_python(self, version: str) -> Combination:
        return Combination({**self.answers, "python_version": version})

    def deployed_to(self, target: str) -> Combination:
        return Combination({**self.answers, "deploy_target": target})

    @property
    def services(self) -> set[str]:
        return services_for(self.answers)

    @property
    def slug(self) -> str:
        """A short name safe for database names and cache prefixes."""
        return "dp_" + hashlib.sha1(self.id.encode()).hexdigest()[:10]

    def __hash__(self) -> int:
        return hash(self.id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Combination) and other.id == self.id


def all_combinations() -> list[Combination]:
    """The cross product of the axis choices, dependent questions included where asked."""
    independent = [axis for axis in AXES if axis not in DEPENDENT]
    result = []
    for values in itertools.product(*(choices(axis) for axis in independent)):
        base = dict(zip(independent, values, strict=True))
        dependent_axes = [axis for axis, asked in DEPENDENT.items() if asked(base)]
        for dependent_values in itertools.product(*(choices(a) for a in dependent_axes)):
            result.append(
                Combination({**base, **dict(zip(dependent_axes, dependent_values, strict=True))})
            )
    return result


def supported_combinations() -> list[Combination]:
    return [c for c in all_combinations() if not unsupported_reason(**c.answers)]


def suite_combinations() -> list[Combination]:
    """One combination per application: the supported ones with ``deploy_target=none``.

    A deploy target adds deploy files and nothing else (test_render proves it
    for every supported combination), so the generated project's own suite of
    ``X.none`` is, file for file, the suite of ``X.<target>``. The matrix runs
    that suite once per application and checks every target's files apart.
    """
    return [c for c in supported_combinations() if c.answers["deploy_target"] == "none"]


def python_key(version: str) -> tuple[int, ...]:
    return tuple(map(int, version.split(".")))


def newest_other_python() -> str:
    """The newest Python offered besides the default."""
    others = [v for v in choices("python_version") if v != default("python_version")]
    return max(others, key=python_key)


def other_python_suites() -> list[Combination]:
    """Application suites on Pythons offered besides the default, which runs them all.

    The newest runs covering_suites(), so every package a project can depend on
    is installed and exercised on it; the one before the default (the default
    of the projects generated before it) runs the default application. Older
    ones are offered and not run (README, "Every Python offered").
    """
    newest = newest_other_python()
    older = [
        v
        for v in choices("python_version")
        if python_key(v) < python_key(default("python_version"))
    ]
    previous_default = max(older, key=python_key)
    application = default_combination().deployed_to("none")
    return [s.on_python(newest) for s in covering_suites()] + [
        application.on_python(previous_default)
    ]


def covering_suites() -> list[Combination]:
    """One application per task queue and broker that together hold every answer of every axis.

    Each pick is the one adding the most answers not held yet, the closest to
    the defaults among equals.
    """
    defaults = default_combination().answers

    def answers_of(combination: Combination) -> set[tuple[str, str]]:
        return {item for item in combination.answers.items() if item[0] != "deploy_target"}

    def distance(combination: Combination) -> int:
        return sum(combination.answers.get(key) != value for key, value in defaults.items())

    missing = {(axis, value) for axis in AXES if axis != "deploy_target" for value in choices(axis)}
    by_queue: dict[tuple[str, str | None], list[Combination]] = {}
    for suite in suite_combinations():
        queue = (suite.answers["task_queue"], suite.answers.get("celery_broker"))
        by_queue.setdefault(queue, []).append(suite)
    chosen = []
    for candidates in by_queue.values():
        pick = max(candidates, key=lambda c: (len(answers_of(c) & missing), -distance(c)))
        chosen.append(pick)
        missing -= answers_of(pick)
    assert not missing, f"no application per queue holds {sorted(missing)}"
    return chosen


def unsupported_combinations() -> list[tuple[Combination, str]]:
    return [(c, reason) for c in all_combinations() if (reason := unsupported_reason(**c.answers))]


def default_combination() -> Combination:
    answers = {axis: default(axis) for axis in AXES if axis not in DEPENDENT}
    for axis, asked in DEPENDENT.items():
        if asked(answers):
            answers[axis] = default(axis)
    return Combination(answers)


def recorded_answers(project: Path) -> dict[str, Any]:
    """The answers a rendered project recorded in its .copier-answers.yml."""
    return dict(yaml.safe_load((project / ".copier-answers.yml").read_text()))
