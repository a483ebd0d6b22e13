"""Private Redis, Memcached, RabbitMQ, PostgreSQL and MariaDB servers a test may stop and start.

The machine's shared servers serve every combination at once, so outage tests
never touch them: each starts a server of its own on a free port and takes that
one down. The binaries are the machine's (.ci/run installs what is missing).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from tests.support.processes import run
from tests.support.server import free_port
from tests.support.services import accepts_connections
from tests.support.waiting import wait_until

HOST = "127.0.0.1"


class PrivateServer:
    """A server process on its own port: ``stop()`` is the outage, ``start()`` the recovery."""

    name = "server"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    # Seconds the server may take to accept connections once started.
    boot_seconds = 30.0

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str] | None:
        """The server's environment: this process's unless a server needs its own."""
        return None

    def start(self) -> None:
        log = (self.workdir / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.environment(),
            start_new_session=True,  # its own process group, which stop() may signal
        )
        wait_for_port(self.port, self.name, timeout=self.boot_seconds)

    def stop(self) -> None:
        """Kill the server outright, as a crash or a lost host would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)
            self.process = None
        wait_for_port_closed(self.port, self.name)


class PrivateRedis(PrivateServer):
    name = "redis"

    def command(self) -> list[str]:
        return [
            _binary("redis-server"),
            "--bind",
            HOST,
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
        ]

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def env(self) -> dict[str, str]:
        return {"REDIS_URL": self.url}


class PrivateMemcached(PrivateServer):
    name = "memcached"

    def command(self) -> list[str]:
        # memcached refuses to run as root unless told which user to become.
        user = ["-u", "memcache"] if os.geteuid() == 0 else []
        return [_binary("memcached"), *user, "-l", HOST, "-p", str(self.port), "-m", "32"]

    @property
    def env(self) -> dict[str, str]:
        return {"MEMCACHED_SERVERS": f"{HOST}:{self.port}"}


class PrivateRabbitMQ(PrivateServer):
    """A RabbitMQ node of its own: its own name, ports and data, no plugins.

    ``stop()`` ends the node (SIGTERM to the script and the Erlang VM it
    started) and ``start()`` boots it again on the same data directory, so
    durable queues and their persistent messages survive, as on a broker host
    that restarts. The machine's configuration (/etc/rabbitmq) names the shared
    node's port: this node reads a configuration file of its own instead.
    """

    name = "rabbitmq"
    boot_seconds = 60.0

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.node = f"rabbit-test-{self.port}@localhost"
        (workdir / "rabbitmq.conf").write_text(f"listeners.tcp.local = {HOST}:{self.port}\n")
        (workdir / "enabled_plugins").write_text("[].\n")  # no management listener to clash

    def command(self) -> list[str]:
        # The package's script proper: /usr/sbin/rabbitmq-server would switch to
        # the rabbitmq user, who cannot write this test's directory.
        return ["/usr/lib/rabbitmq/bin/rabbitmq-server"]

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_CONFIG_FILE": str(self.workdir / "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.workdir / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.workdir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.workdir / "log"),
            "RABBITMQ_LOGS": "-",
        }

    def stop(self) -> None:
        """End the node: connections drop at once, persistent messages stay on disk."""
        if self.process is not None:
            shut_down(self.process, grace_seconds=30)
            self.process = None
        wait_for_port_closed(self.port, self.name)

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@{HOST}:{self.port}//"


class PrivateDatabase(Protocol):
    """A database server of its own: ``init()`` once, then ``start()``, ``restart()``..."""

    name: str
    port: int

    def __init__(self, workdir: Path) -> None: ...
    def init(self) -> None: ...
    def start(self) -> None: ...
    def restart(self) -> None: ...
    def stop(self) -> None: ...
    def database_url(self, name: str) -> str: ...
    def create_database(self, name: str) -> None: ...


class PrivatePostgres:
    """A PostgreSQL cluster of its own (initdb), restarted with ``pg_ctl restart``."""

    name = "postgres"

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.data = workdir / "data"
        self.log = workdir / "postgres.log"
        self.bindir = _postgres_bindir()
        if os.geteuid() == 0:
            # PostgreSQL will not run as root: the cluster belongs to "postgres".
            shutil.chown(workdir, "postgres", "postgres")

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = run(command, timeout=120)
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed:\n{result.stderr}\n{log[-3000:]}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses={HOST} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def restart(self) -> None:
        """Stop (fast: clients are disconnected) and start again."""
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "restart"
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def database_url(self, name: str) -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{name}"

    def create_database(self, name: str) -> None:
        subprocess.run(
            [
                "psql",
                "-h",
                HOST,
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-qc",
                f'CREATE DATABASE "{name}"',
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )


class PrivateMariaDB:
    """A MariaDB server of its own (mariadb-install-db), its root reachable over TCP sans password.

    ``restart()`` shuts it down cleanly (SIGTERM: every client connection is
    closed) and starts it again on the same data. It reads no option file
    (/etc/mysql names the shared server's port and socket) and trades
    durability for speed: no binary log, no flush at each commit.
    """

    name = "mariadb"
    boot_seconds = 60.0

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.data = workdir / "data"
        self.log = workdir / "mariadb.log"
        self.process: subprocess.Popen[bytes] | None = None
        # mariadbd will not run as root unless told to: as root it becomes "mysql".
        self.user = ["--user=mysql"] if os.geteuid() == 0 else []
        if self.user:
            shutil.chown(workdir, "mysql", "mysql")

    def _options(self) -> list[str]:
        """What both mariadb-install-db and mariadbd are told (--no-defaults first)."""
        return [
            "--no-defaults",
            *self.user,
            f"--datadir={self.data}",
            "--skip-name-resolve",
            "--innodb-log-file-size=16M",
            "--innodb-buffer-pool-size=64M",
        ]

    def init(self) -> None:
        result = run(
            [
                _binary("mariadb-install-db"),
                *self._options(),
                "--auth-root-authentication-method=normal",  # root@127.0.0.1, no password
                "--skip-test-db",
            ],
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"mariadb-install-db failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )

    def start(self) -> None:
        """Start mariadbd; return once it answers a query, or fail with its log's tail."""
        command = [
            _binary("mariadbd"),
            *self._options(),
            f"--bind-address={HOST}",
            f"--port={self.port}",
            f"--socket={self.workdir / 'mariadbd.sock'}",
            f"--pid-file={self.workdir / 'mariadbd.pid'}",
            "--skip-log-bin",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-doublewrite=0",
        ]
        with self.log.open("ab") as log:  # no --log-error: the server logs to stderr
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        process = self.process

        def answers() -> bool:
            if process.poll() is not None:
                raise RuntimeError(
                    f"mariadbd exited with {process.returncode} on port {self.port}:\n"
                    f"{self._log_tail()}"
                )
            return self._sql("SELECT 1").returncode == 0

        try:
            wait_until(
                answers,
                timeout=self.boot_seconds,
                message=f"private mariadb did not answer on {HOST}:{self.port}",
                interval=0.1,
            )
        except AssertionError as timeout:
            raise RuntimeError(f"{timeout}:\n{self._log_tail()}") from None

    def restart(self) -> None:
        """Stop cleanly (clients are disconnected) and start again."""
        self.stop()
        self.start()

    def stop(self) -> None:
        """Shut down cleanly (SIGTERM), killing it if that takes more than a minute."""
        if self.process is not None:
            shut_down(self.process, grace_seconds=60)
            self.process = None
        wait_for_port_closed(self.port, self.name)

    def database_url(self, name: str) -> str:
        return f"mysql://root@{HOST}:{self.port}/{name}"

    def create_database(self, name: str) -> None:
        result = self._sql(
            f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_ai_ci"
        )
        if result.returncode != 0:
            raise RuntimeError(f"CREATE DATABASE {name} failed:\n{result.stderr}")

    def _sql(self, statement: str) -> subprocess.CompletedProcess[str]:
        """Run *statement* as root over TCP, as the app connects."""
        client = [_binary("mariadb"), "-h", HOST, "-P", str(self.port), "-u", "root"]
        return run([*client, "--connect-timeout=2", "--batch", "-e", statement], timeout=30)

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def shut_down(process: subprocess.Popen[bytes], *, grace_seconds: float) -> None:
    """SIGTERM *process*'s group and wait; SIGKILL it if it is still up after the grace."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def private_server[Server: PrivateServer](kind: type[Server]) -> Iterator[Server]:
    """A started server of *kind*, this test's own, stopped when the block ends."""
    with tempfile.TemporaryDirectory(prefix=f"private-{kind.name}-") as workdir:
        server = kind(Path(workdir))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@contextmanager
def private_cache(kind: str) -> Iterator[PrivateRedis | PrivateMemcached]:
    """A started Redis or Memcached server of this test's own."""
    server_class: type[PrivateRedis | PrivateMemcached] = {
        "redis": PrivateRedis,
        "memcached": PrivateMemcached,
    }[kind]
    with private_server(server_class) as server:
        yield server


@contextmanager
def private_database[Database: PrivateDatabase](kind: type[Database]) -> Iterator[Database]:
    """A started database server of *kind*, this test's own, in a directory of its own in /tmp.

    /tmp, not the test's temporary directory: the server's own user (postgres,
    mysql) must be able to reach it. Stopped and removed when the block ends.
    """
    workdir = Path(tempfile.mkdtemp(prefix=f"private-{kind.name}-", dir="/tmp"))
    server = kind(workdir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def _binary(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None:
        raise RuntimeError(f"{name} is not installed (.ci/run installs it)")
    return path


def _postgres_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    return Path(found[-1]).parent


def wait_for_port(port: int, name: str, timeout: float = 30) -> None:
    wait_until(
        lambda: accepts_connections(port),
        timeout=timeout,
        message=f"private {name} did not listen on {HOST}:{port}",
    )


def wait_for_port_closed(port: int, name: str, timeout: float = 30) -> None:
    wait_until(
        lambda: not accepts_connections(port),
        timeout=timeout,
        message=f"private {name} still listens on {HOST}:{port}",
    )
