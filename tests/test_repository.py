"""The template repository itself: what a clone on any operating system needs."""

import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Characters Windows refuses in a file name, and its reserved device names.
WINDOWS_FORBIDDEN = re.compile(r'[<>:"\\|?*\x00-\x1f]')
WINDOWS_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?$", re.IGNORECASE)


def tracked_paths() -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [path for path in listing.split("\0") if path]


def test_every_path_in_the_repository_can_be_cloned_on_windows_macos_and_linux() -> None:
    paths = tracked_paths()
    assert paths, "git ls-files listed nothing"
    refused = []
    for path in paths:
        for part in path.split("/"):
            windows_refuses = (
                WINDOWS_FORBIDDEN.search(part)
                or WINDOWS_RESERVED.match(part)
                or part.endswith((".", " "))
            )
            if windows_refuses:
                refused.append(path)
    assert not refused, "file names Windows cannot hold:\n" + "\n".join(sorted(set(refused)))
    # macOS and Windows compare names case-insensitively: two names differing
    # only in case would overwrite each other there.
    folded: dict[str, str] = {}
    clashes = []
    for path in paths:
        other = folded.setdefault(path.lower(), path)
        if other != path:
            clashes.append(f"{other} ~ {path}")
    assert not clashes, "paths that differ only in case:\n" + "\n".join(clashes)


def latest_changelog_release() -> str:
    match = re.search(r"^## (\d+\.\d+\.\d+)", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert match, "CHANGELOG.md names no release"
    return match[1]


def release_key(tag: str) -> tuple[int, ...]:
    return tuple(int(part) for part in tag.split("."))


def test_pyproject_changelog_and_newest_release_tag_name_the_same_version() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["version"] == latest_changelog_release()
    # Copier picks the newest PEP 440 tag. A clone without tags (CI's shallow
    # checkout) has nothing to compare, and the update tests tag their own clone.
    tags = subprocess.run(
        ["git", "tag", "--list"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    releases = sorted((t for t in tags if re.fullmatch(r"\d+\.\d+\.\d+", t)), key=release_key)
    if releases:
        assert releases[-1] == latest_changelog_release(), f"newest tag {releases[-1]}"
