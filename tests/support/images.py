"""Container images built and run on this machine, without a Docker engine or a registry.

No registry image can be pulled here, so the generated Dockerfile builds FROM
a stand-in for the official ``python:<version>-slim-trixie`` image: Debian
trixie from ``debootstrap``, imported into podman under the official name, with
Python where the official image has it (``/usr/local/bin``): trixie's own 3.13,
or for 3.14 and 3.15 Debian sid's build that .ci/run made runnable on this host
(interpreter, standard library and sid's C library at the same path inside). Python's
C headers are where the official image has them (``/usr/local/include/python<version>``),
so a Dockerfile can build a C extension (mysqlclient) as it would on the official image. Builds
use ``podman build --isolation=chroot``; containers run with ``buildah run
--isolation chroot``, which shares the host's network (``podman run`` fails in
this sandbox on crun's rlimits). Holding this machine's CA bundle, the
stand-in lets RUN steps reach the package index through its TLS proxy.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support import processes, toolchain
from tests.support.processes import exclusive

DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Trixie's own python3; other versions come from Debian sid (see .ci/run).
TRIXIE_PYTHON = "3.13"
DEBOOTSTRAP_ATTEMPTS = 3
LOCK_DIR = Path(os.environ.get("DJANGO_PROD_IMAGES", Path.home() / ".cache" / "django-prod"))

# The official image's environment (docker-library/python), as far as it matters here.
OFFICIAL_CHANGES = (
    "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
)
# A stand-in's revision, in a label: one built before a change is built again.
# 2: Python's headers in /usr/local/include.
STAND_IN_LABEL = "django-prod.python-stand-in"
STAND_IN_REVISION = "2"


class ImageToolMissing(RuntimeError):
    """podman, buildah or debootstrap is not installed; the message says how to fix it."""


def require_tools() -> None:
    missing = [tool for tool in ("podman", "buildah", "debootstrap") if not shutil.which(tool)]
    if missing:
        raise ImageToolMissing(
            f"{', '.join(missing)} not found: the image tests build and run the generated "
            f"Dockerfile with them (apt-get install {' '.join(missing)})"
        )


def run(command: Sequence[str], *, timeout: float = 600, **kwargs: object) -> str:
    """Run *command*; return its output, or fail with the command and its output."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    result = processes.run(command, timeout=timeout, **kwargs)
    if result.returncode != 0:
        raise AssertionError(
            f"$ {' '.join(command)}\n(exit {result.returncode})\n"
            f"--- stdout ---\n{result.stdout[-8000:]}\n--- stderr ---\n{result.stderr[-8000:]}"
        )
    return str(result.stdout)


def image_exists(name: str) -> bool:
    return subprocess.run(["podman", "image", "exists", name], check=False).returncode == 0


def label(image: str, key: str) -> str:
    """The value of *image*'s label *key*; empty when the image or the label is missing."""
    result = subprocess.run(
        ["podman", "image", "inspect", "--format", f'{{{{index .Labels "{key}"}}}}', image],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else ""


def python_stand_in(python_version: str) -> tuple[str, float]:
    """The stand-in for ``python:<version>-slim-trixie``; build it when missing.

    Returns the image name and the seconds spent building it (0 when it existed).
    Python's headers are in ``/usr/local/include/python<version>``, as in the
    official image: trixie's own (libpython3.13-dev), or sid's copied beside
    its interpreter.
    """
    require_tools()
    name = f"docker.io/library/python:{python_version}-slim-trixie"
    trixie_python = python_version == TRIXIE_PYTHON
    interpreter = f"python{python_version}"
    sid_python = None if trixie_python else Path(toolchain.python(python_version))
    with exclusive(LOCK_DIR / "python-stand-in.lock"):
        if label(name, STAND_IN_LABEL) == STAND_IN_REVISION:
            return name, 0.0
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="stand-in-") as scratch:
            root = Path(scratch) / "rootfs"
            packages = (
                f"{interpreter},{interpreter}-venv,lib{interpreter}-dev," if trixie_python else ""
            )
            _debootstrap(root, include=f"{packages}ca-certificates")
            if sid_python is None:
                target = f"/usr/bin/{interpreter}"
                headers = f"/usr/include/{interpreter}"
            else:
                target = str(sid_python)
                headers = _copy_sid_python(sid_python, python_version, root)
            # As in Debian's official images, apt keeps no package or index cache.
            (root / "etc" / "apt" / "apt.conf.d" / "docker-clean").write_text(
                'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'
                'APT::Keep-Downloaded-Packages "false";\n'
            )
            # The official image's interpreter answers to python, python3 and pythonX.Y.
            for alias in ("python", "python3", interpreter):
                (root / "usr" / "local" / "bin" / alias).symlink_to(target)
            # And its headers are in /usr/local/include/pythonX.Y.
            (root / "usr" / "local" / "include").mkdir(parents=True, exist_ok=True)
            (root / "usr" / "local" / "include" / interpreter).symlink_to(headers)
            shutil.copyfile(HOST_CA_BUNDLE, root / "etc" / "ssl" / "certs" / HOST_CA_BUNDLE.name)
            for cache in (
                "var/cache/apt/archives",
                "var/lib/apt/lists",
                "usr/share/doc",
                "usr/share/man",
            ):
                shutil.rmtree(root / cache, ignore_errors=True)
            tar = subprocess.Popen(
                ["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=subprocess.PIPE
            )
            stand_in = (*OFFICIAL_CHANGES, f"LABEL {STAND_IN_LABEL}={STAND_IN_REVISION}")
            changes = [arg for change in stand_in for arg in ("--change", change)]
            run(["podman", "import", *changes, "-", name], stdin=tar.stdout, timeout=600)
            if tar.wait() != 0:
                raise AssertionError("tar of the stand-in root file system failed")
        return name, time.monotonic() - started


def _copy_sid_python(executable: Path, python_version: str, root: Path) -> str:
    """Debian sid's Python for this host (see .ci/run), at the same path under *root*.

    The interpreter, its standard library and the sid libraries they load (its
    loader lists them), so it runs on sid's C library whatever trixie's is;
    ensurepip finds pip's wheel where Debian's build looks for it. Its headers
    go where its sysconfig looks for them (the interpreter's prefix), with the
    real pyconfig.h in place of Debian's, which includes the one under the
    multiarch directory; returns that directory.
    """
    sid_root = executable.parents[2]
    stdlib = sid_root / "usr" / "lib" / f"python{python_version}"
    loader = next((sid_root / "usr" / "lib").glob("*-linux-gnu*/ld-linux*.so.*"))
    libraries: set[Path] = set()
    for binary in (executable, *stdlib.glob("lib-dynload/*.so")):
        listed = run([str(loader), "--library-path", str(loader.parent), "--list", str(binary)])
        libraries |= {Path(line.split()[2]) for line in listed.splitlines() if " => /" in line}
    for source in (executable, loader, *libraries):
        copy = root / source.relative_to("/")
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, copy)
    shutil.copytree(stdlib, root / stdlib.relative_to("/"), symlinks=True)
    shutil.copytree(sid_root / "usr/share/python-wheels", root / "usr/share/python-wheels")
    headers = sid_root / "usr" / "include" / f"python{python_version}"
    copy = root / headers.relative_to("/")
    shutil.copytree(headers, copy, symlinks=True)
    multiarch = loader.parent.name  # x86_64-linux-gnu
    pyconfig = headers.parent / multiarch / f"python{python_version}" / "pyconfig.h"
    (copy / "pyconfig.h").unlink()
    shutil.copy2(pyconfig, copy / "pyconfig.h")
    return str(headers)


# Each debootstrap's root, archived, by its package list: the 3.14 and 3.15
# stand-ins start from the same trixie, bootstrapped once per process.
_bootstrapped: dict[str, Path] = {}


def _debootstrap(root: Path, *, include: str) -> None:
    """A trixie minbase into *root*, tried again when the mirror fails a download.

    deb.debian.org is a CDN whose index can name a package a moment before the
    server that answers has the file ("Couldn't download package").
    """
    if include in _bootstrapped:
        root.mkdir(parents=True)
        run(["tar", "--numeric-owner", "-C", str(root), "-xf", str(_bootstrapped[include])])
        return
    for attempt in range(1, DEBOOTSTRAP_ATTEMPTS + 1):
        shutil.rmtree(root, ignore_errors=True)
        command = ["debootstrap", "--variant=minbase", f"--include={include}", "trixie"]
        try:
            run([*command, str(root), DEBIAN_MIRROR], timeout=1200)
            break
        except AssertionError:
            if attempt == DEBOOTSTRAP_ATTEMPTS:
                raise
            time.sleep(20 * attempt)
    scratch = tempfile.mkdtemp(prefix="debootstrap-")
    atexit.register(shutil.rmtree, scratch, True)
    archive = Path(scratch) / "root.tar"
    run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(archive), "."])
    _bootstrapped[include] = archive


def build(context: Path, tag: str, *, build_args: Mapping[str, str] | None = None) -> float:
    """``podman build --isolation=chroot`` of *context*'s Dockerfile; return the seconds taken.

    Without podman's layer cache, so the time is a build's from scratch (package
    downloads still come from uv's cache mount when a build ran before), and
    without keeping intermediate images, so repeated runs leave nothing behind.
    """
    started = time.monotonic()
    args = [
        arg
        for key, value in (build_args or {}).items()
        for arg in ("--build-arg", f"{key}={value}")
    ]
    run(
        [
            "podman",
            "build",
            "--isolation=chroot",
            "--format=docker",
            "--network=host",
            "--no-cache",
            "--layers=false",
            *args,
            "-t",
            tag,
            str(context),
        ],
        timeout=1800,
    )
    return time.monotonic() - started


def size_bytes(image: str) -> int:
    return int(run(["podman", "image", "inspect", "--format", "{{.Size}}", image]).strip())


def config(image: str, field: str) -> str:
    return run(["podman", "image", "inspect", "--format", f"{{{{json .Config.{field}}}}}", image])


@contextmanager
def working_container(image: str, hosts: Mapping[str, str] | None = None) -> Iterator[str]:
    """A buildah working container of *image*; removed when the block ends."""
    add_hosts = [f"--add-host={host}:{address}" for host, address in (hosts or {}).items()]
    container = run(["buildah", "from", "--pull=never", *add_hosts, image]).strip()
    try:
        yield container
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True, check=False)


def run_command(container: str, command: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """The ``buildah run`` command line for *command* in *container*, as the image's user."""
    env_args = [arg for key, value in env.items() for arg in ("--env", f"{key}={value}")]
    return [
        "buildah",
        "run",
        "--isolation",
        "chroot",
        "--network",
        "host",
        *env_args,
        container,
        "--",
        *command,
    ]
