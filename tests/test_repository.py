"""The template repository itself: what a clone on any operating system needs."""

import re
import subprocess
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
