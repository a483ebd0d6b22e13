"""Which combinations a run tests: the --combination filter and the closest-to-defaults picks."""

from __future__ import annotations

import re

import pytest

from tests.support.combinations import (
    Combination,
    default_combination,
    other_python_suites,
    suite_combinations,
    supported_combinations,
)


def matching(config: pytest.Config, combinations: list[Combination]) -> list[Combination]:
    """The *combinations* whose id the --combination filter matches."""
    pattern = re.compile(config.getoption("--combination") or "")
    return [c for c in combinations if pattern.search(c.id)]


def selected_combinations(config: pytest.Config) -> list[Combination]:
    """The selected supported combinations, deploy targets included."""
    return matching(config, supported_combinations())


def selected_suites(config: pytest.Config) -> list[Combination]:
    """The selected combinations whose generated suite runs: one per application."""
    return matching(config, suite_combinations())


def selected_matrix(config: pytest.Config) -> list[Combination]:
    """The suites test_generated_project runs: every application, then the other Pythons."""
    return selected_suites(config) + matching(config, other_python_suites())


def closest_to_defaults(config: pytest.Config, *axes: str) -> list[Combination]:
    """For each choice of *axes*, the selected combination that differs least from the defaults.

    Tests that need one served project per choice (an auth mode, a cache, a
    queue and its broker) use these, so they share the build of a combination
    the matrix tests anyway.
    """
    defaults = default_combination().answers

    def distance(combination: Combination) -> int:
        return sum(combination.answers.get(key) != value for key, value in defaults.items())

    chosen: dict[tuple[str | None, ...], Combination] = {}
    candidates = (
        selected_combinations(config) if "deploy_target" in axes else selected_suites(config)
    )
    for combination in candidates:
        choice = tuple(combination.answers.get(axis) for axis in axes)
        if choice not in chosen or distance(combination) < distance(chosen[choice]):
            chosen[choice] = combination
    return list(chosen.values())
