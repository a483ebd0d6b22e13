"""gunicorn sizes its workers from the CPUs the process may use, not the host's."""

import os
from pathlib import Path

import pytest

from config import gunicorn


def cgroup_tree(tmp_path: Path, own_group: str, cpu_max: dict[str, str]) -> tuple[Path, Path]:
    """A cgroup v2 hierarchy with the given cpu.max files, and a membership file."""
    root = tmp_path / "cgroup"
    for group, limit in cpu_max.items():
        (root / group).mkdir(parents=True, exist_ok=True)
        (root / group / "cpu.max").write_text(f"{limit}\n")
    membership = tmp_path / "self-cgroup"
    membership.write_text(f"0::/{own_group}\n")
    return root, membership


def test_a_containers_cpu_quota_is_its_limit(tmp_path: Path) -> None:
    root, membership = cgroup_tree(tmp_path, "", {"": "150000 100000"})

    assert gunicorn.cgroup_cpu_limit(root, membership) == 1.5


def test_the_tightest_quota_on_the_way_to_the_root_applies(tmp_path: Path) -> None:
    root, membership = cgroup_tree(
        tmp_path,
        "system.slice/app.service",
        {"system.slice": "200000 100000", "system.slice/app.service": "max 100000"},
    )

    assert gunicorn.cgroup_cpu_limit(root, membership) == 2


def test_a_cgroup_v1_quota_is_read_too(tmp_path: Path) -> None:
    controller = tmp_path / "cgroup" / "cpu"
    controller.mkdir(parents=True)
    (controller / "cpu.cfs_quota_us").write_text("50000\n")
    (controller / "cpu.cfs_period_us").write_text("100000\n")

    assert gunicorn.cgroup_cpu_limit(tmp_path / "cgroup", tmp_path / "no-such-file") == 0.5


@pytest.mark.parametrize("limit", ["max 100000", None])
def test_without_a_quota_there_is_no_limit(tmp_path: Path, limit: str | None) -> None:
    root, membership = cgroup_tree(tmp_path, "", {"": limit} if limit else {})

    assert gunicorn.cgroup_cpu_limit(root, membership) is None


def test_workers_follow_the_quota_rounded_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    monkeypatch.setattr(gunicorn, "cgroup_cpu_limit", lambda: 1.5)

    assert gunicorn.usable_cpus() == 2


def test_a_quota_above_the_cpus_in_reach_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(gunicorn, "cgroup_cpu_limit", lambda: 8.0)

    assert gunicorn.usable_cpus() == 2
