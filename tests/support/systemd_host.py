"""A private stand-in for the VPS the systemd target deploys to.

The units name absolute paths (/srv/<slug>, /etc/<slug>/env, /var/lib/<slug>)
and nginx's site names the certbot certificate under /etc/letsencrypt. Rather
than rewrite those paths, the tests give them a host of their own: a private
mount namespace (``unshare --mount``) in which /etc and /var/lib are overlays
whose writes land in a temporary directory, /srv is a tmpfs, and
/srv/<slug> is an overlay of the rendered project with ``.venv`` pointing at
its installed venv. Commands run inside with ``nsenter``. Nothing on the real
host changes, and the namespace disappears with its last process.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import run

# A unit file: each section's (key, value) pairs, in order (ExecStart may repeat).
Unit = dict[str, list[tuple[str, str]]]

REQUIRED_TOOLS = ("unshare", "nsenter", "systemd-analyze", "systemd-socket-activate", "nginx")


def require_tools() -> None:
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        raise AssertionError(
            f"the systemd target's tests need {', '.join(missing)}: "
            "apt-get install util-linux systemd nginx-light (or nginx)"
        )


@dataclass
class Host:
    pid: int
    scratch: Path

    def command(self, *argv: str, cwd: str = "/") -> list[str]:
        # nsenter's --wd opens the directory before entering: cd inside instead.
        enter = ["nsenter", "-t", str(self.pid), "-m", "--"]
        return [*enter, "sh", "-c", 'cd "$0" && exec "$@"', cwd, *argv]

    def run(
        self, *argv: str, cwd: str = "/", input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run(self.command(*argv, cwd=cwd), input=input, timeout=300)

    def write(self, path: str, text: str) -> None:
        script = 'mkdir -p "$(dirname "$1")" && cat > "$1"'
        result = self.run("sh", "-c", script, "sh", path, input=text)
        assert result.returncode == 0, result.stderr

    def read(self, path: str) -> str:
        result = self.run("cat", path)
        assert result.returncode == 0, result.stderr
        return result.stdout


@contextmanager
def private_host(scratch: Path, slug: str, project: Path, venv: Path) -> Iterator[Host]:
    """A mount namespace laid out like the deploy host; yield a handle to run commands in it."""
    require_tools()
    if not Path("/srv").is_dir():
        raise AssertionError("/srv must exist (Debian's base-files creates it) to mount over it")
    layers = {"etc": "/etc", "varlib": "/var/lib", "srv": f"/srv/{slug}"}
    for name in layers:
        (scratch / f"{name}-upper").mkdir(parents=True)
        (scratch / f"{name}-work").mkdir()

    def overlay(name: str, lower: str | Path) -> str:
        return (
            f"mount -t overlay overlay -o lowerdir={lower},upperdir={scratch}/{name}-upper,"
            f"workdir={scratch}/{name}-work {layers[name]}"
        )

    script = "\n".join(
        [
            "set -e",
            overlay("etc", "/etc"),
            overlay("varlib", "/var/lib"),
            "mount -t tmpfs tmpfs /srv",
            f"mkdir /srv/{slug}",
            overlay("srv", project),
            f"ln -s {venv} /srv/{slug}/.venv",
            "echo ready",
            "exec sleep infinity",
        ]
    )
    holder = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        if holder.stdout.readline().strip() != "ready":
            holder.kill()
            raise AssertionError(f"could not set up the private host: {holder.communicate()[1]}")
        yield Host(holder.pid, scratch)
    finally:
        holder.kill()
        holder.wait()


def parse_unit(text: str) -> Unit:
    """A unit file's sections as (key, value) lists: keys such as ExecStart repeat."""
    sections: Unit = {}
    current: list[tuple[str, str]] | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if match := re.fullmatch(r"\[(\w+)\]", line):
            current = sections.setdefault(match.group(1), [])
            continue
        assert current is not None, f"a setting outside any section: {line}"
        key, _, value = line.partition("=")
        current.append((key.strip(), value.strip()))
    return sections


def values(unit: Unit, section: str, key: str) -> list[str]:
    return [value for name, value in unit.get(section, []) if name == key]


def value(unit: Unit, section: str, key: str) -> str:
    found = values(unit, section, key)
    assert len(found) == 1, f"[{section}] {key}= set {len(found)} times, expected once"
    return found[0]


def environment_of(unit: Unit, env_files: dict[str, str]) -> dict[str, str]:
    """What systemd puts in the process environment: Environment=, then EnvironmentFile=."""
    env: dict[str, str] = {}
    for assignment in values(unit, "Service", "Environment"):
        key, _, val = assignment.partition("=")
        env[key] = val
    for path in values(unit, "Service", "EnvironmentFile"):
        for line in env_files[path.lstrip("-")].splitlines():
            if line.strip() and not line.startswith("#"):
                key, _, val = line.partition("=")
                env[key.strip()] = val.strip()
    return env
