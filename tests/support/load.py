"""Load from loopback with wrk, and what it reports.

Shared by the soak and memory tests and by bench/serve. wrk keeps its
connections open, but gunicorn's sync workers close each one after the
response (as they do behind a proxy), so every request pays a TCP handshake:
the same for the generated project as for bench/serve's ceiling.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import run


class WrkMissing(RuntimeError):
    """wrk is not installed; the message says how to install it."""


@dataclass
class WrkResult:
    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx_3xx: int
    socket_errors: dict[str, int] = field(default_factory=dict)  # connect, read, write, timeout

    @property
    def errors(self) -> int:
        """Failed requests of any kind: error statuses, refused or cut connections, timeouts."""
        return self.non_2xx_3xx + sum(self.socket_errors.values())


def wrk(
    url: str,
    headers: dict[str, str],
    *,
    duration: float,
    connections: int,
    threads: int = 2,
    script: Path | None = None,
) -> WrkResult:
    """One wrk run against *url* (the paths *script* rotates through, when given)."""
    if shutil.which("wrk") is None:
        raise WrkMissing("wrk is not installed: apt-get install wrk (.ci/run does)")
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    out = run([*command, url], check=True, timeout=duration + 60).stdout
    return parse(out)


def parse(out: str) -> WrkResult:
    def number(pattern: str) -> str:
        found = re.search(pattern, out)
        if found is None:
            raise AssertionError(f"wrk printed no {pattern!r}:\n{out}")
        return found[1]

    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return WrkResult(
        requests=int(number(r"(\d+) requests in")),
        requests_per_second=float(number(r"Requests/sec:\s+([\d.]+)")),
        p50_ms=milliseconds(number(r"\s50%\s+(\S+)")),
        p99_ms=milliseconds(number(r"\s99%\s+(\S+)")),
        non_2xx_3xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=dict(
            zip(
                ("connect", "read", "write", "timeout"),
                map(int, socket_errors.groups() if socket_errors else (0, 0, 0, 0)),
                strict=True,
            )
        ),
    )


def milliseconds(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if found is None:
        raise AssertionError(f"not a wrk duration: {text!r}")
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def rotating_paths(paths: list[str], directory: Path, *, stop_after: int | None = None) -> Path:
    """A wrk script requesting *paths* in turn; each thread stops after *stop_after* responses."""
    listed = ", ".join(f'"{path}"' for path in paths)
    lines = [
        f"local paths = {{{listed}}}",
        "local sent, received = 0, 0",
        "request = function()",
        "  sent = sent + 1",
        "  return wrk.format(nil, paths[(sent - 1) % #paths + 1])",
        "end",
    ]
    if stop_after is not None:
        lines += [
            "response = function(status, headers, body)",
            "  received = received + 1",
            f"  if received >= {stop_after} then wrk.thread:stop() end",
            "end",
        ]
    script = directory / "rotating-paths.lua"
    script.write_text("\n".join(lines) + "\n")
    return script
