"""A generated compose.yaml run for real: Docker Compose v2 against podman, on this machine.

No Docker engine exists here and no registry image can be pulled, so:

- The engine is ``podman system service`` on a private socket, which speaks the
  Docker API; ``DOCKER_HOST`` points the real Docker Compose v2 at it (Debian
  trixie's ``docker-compose`` package, extracted by ``.ci/run``). podman-compose
  is not used: it ignores ``condition: service_healthy``.
- Where a plain ``podman run`` fails because the sandbox refuses setrlimit
  (crun and runc both apply the container's rlimits), podman runs containers
  through :func:`oci_runtime`'s wrapper, which drops ``rlimits`` from the OCI
  bundle's ``config.json`` (and from the ``--process`` file of an exec) and then
  runs runc. A machine where ``podman run`` works keeps its own runtime.
- podman 4.3 schedules health checks with systemd timers; systemd is not PID 1
  here, so :class:`HealthChecks` runs ``podman healthcheck run`` for every
  running container of the project, at its own interval (capped at a few
  seconds, so a test waits seconds, not minutes).
- The images compose.yaml pulls are stand-ins built from Debian trixie's
  packages (:data:`STAND_INS`), tagged with the official names, and honouring
  the official images' contract as far as the generated files use it. Each
  entry says what it honours.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import images
from tests.support.combinations import default
from tests.support.processes import exclusive

# Where .ci/run extracts Debian trixie's docker-compose package.
COMPOSE_CANDIDATES = (
    "/usr/libexec/docker/cli-plugins/docker-compose",
    "/opt/docker-compose/usr/libexec/docker/cli-plugins/docker-compose",
)
# crun says "setrlimit `RLIMIT_NOFILE`", runc "error setting rlimits".
RLIMIT_ERROR = re.compile(r"setrlimit|setting rlimit", re.IGNORECASE)
HEALTH_CHECK_CAP_SECONDS = 3.0

# The OCI runtime wrapper: runc, minus the rlimits this sandbox refuses to set.
RUNTIME_WRAPPER = """#!/bin/sh
# OCI runtime for a sandbox that refuses setrlimit: drop process.rlimits from
# the bundle's config.json (create) or from the --process file (exec), then runc.
bundle= process= previous=
for arg in "$@"; do
  case "$previous" in --bundle|-b) bundle=$arg ;; --process|-p) process=$arg ;; esac
  case "$arg" in
    --bundle=*) bundle=${arg#--bundle=} ;;
    --process=*) process=${arg#--process=} ;;
  esac
  previous=$arg
done
drop() {
  python3 -c 'import json, sys
path, where = sys.argv[1], sys.argv[2]
spec = json.load(open(path))
(spec.get("process", {}) if where == "bundle" else spec).pop("rlimits", None)
json.dump(spec, open(path, "w"))' "$1" "$2"
}
if [ -n "$bundle" ] && [ -f "$bundle/config.json" ]; then drop "$bundle/config.json" bundle; fi
if [ -n "$process" ] && [ -f "$process" ]; then drop "$process" process; fi
exec RUNC "$@"
"""

# --- stand-ins for the official images ----------------------------------------------

# One Debian trixie root file system holds every service's packages; each
# stand-in is a thin image on it with the official image's entry point,
# command, user, environment and data directory.
PACKAGES = (
    "postgresql",
    "mariadb-server",
    "tzdata",
    "redis-server",
    "rabbitmq-server",
    "memcached",
    "caddy",
    "wget",
)

POSTGRES_ENTRYPOINT = r"""#!/bin/bash
# postgres:17's contract: POSTGRES_PASSWORD (required), POSTGRES_USER and
# POSTGRES_DB create the superuser and database on the first start into an
# empty PGDATA, password authentication over TCP, the server as user postgres.
set -euo pipefail
if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres /var/lib/postgresql "$(dirname "$PGDATA")" "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set, as the official image requires}"
  user=${POSTGRES_USER:-postgres}
  database=${POSTGRES_DB:-$user}
  initdb --username="$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host=scram-sha-256 -D "$PGDATA"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
  if [ "$database" != postgres ]; then
    psql -v ON_ERROR_STOP=1 --username "$user" --dbname postgres -c "CREATE DATABASE \"$database\""
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop
fi
exec "$@"
"""

MARIADB_ENTRYPOINT = r"""#!/bin/bash
# Stand-in for mariadb:11.4's entry point. Its contract: on the first start into
# an empty /var/lib/mysql, one of MARIADB_ROOT_PASSWORD, MARIADB_RANDOM_ROOT_PASSWORD
# or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD is required; root gets it (locally and
# from '%'), the time zone tables are loaded, MARIADB_DATABASE is created and
# MARIADB_USER, with MARIADB_PASSWORD, gets all privileges on it from any host;
# a healthcheck user's credentials go to .my-healthcheck.cnf for healthcheck.sh.
# The server then listens on TCP 3306 as user mysql.
set -euo pipefail
datadir=/var/lib/mysql
socket=/run/mysqld/mysqld.sock
if [ "$1" = mariadbd ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$datadir" /run/mysqld
  chown mysql:mysql "$datadir" /run/mysqld
  exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
fi
literal() { local s=${1//\\/\\\\}; printf '%s' "${s//\'/\\\'}"; }
random_password() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
if [ "$1" = mariadbd ] && [ ! -d "$datadir/mysql" ]; then
  root_options=${MARIADB_ROOT_PASSWORD:-}${MARIADB_RANDOM_ROOT_PASSWORD:-}
  root_options+=${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-}
  if [ -z "$root_options" ]; then
    echo "Database is uninitialized and password option is not specified: set one of" \
      "MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and" \
      "MARIADB_RANDOM_ROOT_PASSWORD" >&2
    exit 1
  fi
  if [ -n "${MARIADB_RANDOM_ROOT_PASSWORD:-}" ]; then
    MARIADB_ROOT_PASSWORD=$(random_password)
    echo "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
  fi
  mariadb-install-db --datadir="$datadir" --rpm --auth-root-authentication-method=normal \
    --skip-test-db --skip-log-bin >/dev/null
  "$@" --skip-networking --socket="$socket" &
  pid=$!
  client=(mariadb --protocol=socket --socket="$socket" -uroot)
  for _ in $(seq 60); do "${client[@]}" -e 'select 1' >/dev/null 2>&1 && break; sleep 1; done
  mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null \
    | "${client[@]}" --database=mysql
  root=$(literal "${MARIADB_ROOT_PASSWORD:-}")
  health=$(random_password)
  {
    echo "CREATE USER 'root'@'%' IDENTIFIED BY '$root';"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    for host in 127.0.0.1 ::1 localhost; do
      echo "CREATE USER 'healthcheck'@'$host' IDENTIFIED BY '$health';"
    done
    if [ -n "${MARIADB_DATABASE:-}" ]; then
      echo "CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"
    fi
    if [ -n "${MARIADB_USER:-}" ]; then
      echo "CREATE USER '$MARIADB_USER'@'%' IDENTIFIED BY '$(literal "${MARIADB_PASSWORD:-}")';"
      if [ -n "${MARIADB_DATABASE:-}" ]; then
        echo "GRANT ALL ON \`${MARIADB_DATABASE//_/\\_}\`.* TO '$MARIADB_USER'@'%';"
      fi
    fi
    # Last: every statement after it would need the password.
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$root';"
  } | "${client[@]}"
  (
    umask 077
    printf '[mariadb-client]\nport=3306\nsocket=%s\nuser=healthcheck\npassword=%s\n' \
      "$socket" "$health" > "$datadir/.my-healthcheck.cnf"
    echo "protocol=tcp" >> "$datadir/.my-healthcheck.cnf"
  )
  kill "$pid"
  wait "$pid"
fi
exec "$@"
"""

MARIADB_HEALTHCHECK = r"""#!/bin/bash
# Stand-in for mariadb:11.4's healthcheck.sh, the two tests compose.yaml runs:
# --connect (the server answers over TCP; refusing this user is an answer too)
# and --innodb_initialized (InnoDB is ready), as the healthcheck user whose
# credentials the entry point wrote to /var/lib/mysql/.my-healthcheck.cnf.
set -eo pipefail
[ $# -gt 0 ] || { echo "At least one argument required" >&2; exit 1; }
defaults=()
if [ -f /var/lib/mysql/.my-healthcheck.cnf ]; then
  defaults=(--defaults-extra-file=/var/lib/mysql/.my-healthcheck.cnf)
fi
sql() { mariadb "${defaults[@]}" --skip-ssl --skip-column-names --batch "$@"; }
for test in "$@"; do
  case "$test" in
    --connect)
      answer=$(sql -h 127.0.0.1 --protocol tcp -e 'select @@skip_networking' 2>&1) || true
      case "$answer" in
        0|ERROR\ 1[0-9][0-9][0-9]\ \(28000\)*) ;;
        *) echo "healthcheck connect failed: $answer" >&2; exit 1 ;;
      esac
      ;;
    --innodb_initialized)
      engines="select 1 from information_schema.ENGINES where engine = 'innodb'"
      engines+=" and support in ('YES', 'DEFAULT', 'ENABLED')"
      if [ "$(sql -e "$engines")" != 1 ]; then
        echo "healthcheck innodb_initialized failed" >&2
        exit 1
      fi
      ;;
    *) echo "healthcheck unknown option or test '${test#--}'" >&2; exit 1 ;;
  esac
done
"""

REDIS_ENTRYPOINT = r"""#!/bin/sh
# redis:8's contract: options alone run redis-server, the server runs as user
# redis in /data (its append-only file and dump land there), protected mode off.
set -e
case "$1" in -*|*.conf) set -- redis-server "$@" ;; esac
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  chown -R redis:redis /data
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
if [ "$1" = redis-server ]; then set -- "$@" --protected-mode no; fi
exec "$@"
"""

RABBITMQ_ENTRYPOINT = r"""#!/bin/sh
# rabbitmq:4's contract: RABBITMQ_DEFAULT_USER, _PASS and _VHOST define the
# account and virtual host made on the first start, data under
# /var/lib/rabbitmq (node name from the host name), logs on stdout.
set -e
if [ "$1" = rabbitmq-server ] && [ "$(id -u)" = 0 ]; then
  mkdir -p /etc/rabbitmq/conf.d
  {
    [ -n "${RABBITMQ_DEFAULT_USER:-}" ] && echo "default_user = $RABBITMQ_DEFAULT_USER"
    [ -n "${RABBITMQ_DEFAULT_PASS:-}" ] && echo "default_pass = $RABBITMQ_DEFAULT_PASS"
    [ -n "${RABBITMQ_DEFAULT_VHOST:-}" ] && echo "default_vhost = $RABBITMQ_DEFAULT_VHOST"
    echo "log.console = true"
    echo "log.file = false"
  } > /etc/rabbitmq/conf.d/10-stand-in.conf
  chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$0" "$@"
fi
if [ "$1" = rabbitmq-server ]; then shift; set -- /usr/lib/rabbitmq/bin/rabbitmq-server "$@"; fi
exec "$@"
"""

MEMCACHED_ENTRYPOINT = r"""#!/bin/sh
# memcached:1.6's contract: options alone run memcached, as user memcache.
set -e
case "$1" in -*) set -- memcached "$@" ;; esac
exec "$@"
"""


@dataclass(frozen=True)
class StandIn:
    """A stand-in for an official image: what it honours, and how it is built."""

    name: str
    honours: str
    containerfile: str
    entrypoint: str = ""
    # Other scripts of the official image, by name, installed beside the entry point.
    scripts: tuple[tuple[str, str], ...] = ()


STAND_INS = {
    stand_in.name: stand_in
    for stand_in in (
        StandIn(
            "postgres:17",
            "Debian trixie's PostgreSQL 17. POSTGRES_PASSWORD, POSTGRES_USER and "
            "POSTGRES_DB on the first start into an empty data directory on the "
            "volume (PGDATA /var/lib/postgresql/data, as 17's image sets it), "
            "scram-sha-256 over TCP, pg_isready on PATH, SIGINT to stop.",
            "ENV PATH=/usr/lib/postgresql/17/bin:/usr/local/sbin:/usr/local/bin:"
            "/usr/sbin:/usr/bin:/sbin:/bin PGDATA=/var/lib/postgresql/data LANG=C.UTF-8\n"
            "STOPSIGNAL SIGINT\nEXPOSE 5432\n"
            'ENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["postgres"]\n',
            POSTGRES_ENTRYPOINT,
        ),
        StandIn(
            "mariadb:11.4",
            "A stand-in built from Debian trixie's MariaDB 11.8 (no 11.4 there). "
            "MARIADB_ROOT_PASSWORD (or _RANDOM_/_ALLOW_EMPTY_ROOT_PASSWORD), "
            "MARIADB_DATABASE, MARIADB_USER and MARIADB_PASSWORD on the first start into "
            "an empty /var/lib/mysql (the volume), time zone tables loaded, the server "
            "as user mysql on TCP 3306 from any address, no reverse DNS, and "
            "healthcheck.sh --connect --innodb_initialized on PATH.",
            # The package's own data directory goes: a new volume must start empty.
            "RUN rm -rf /var/lib/mysql && mkdir -p /var/lib/mysql /run/mysqld"
            " && chown mysql:mysql /var/lib/mysql /run/mysqld"
            " && sed -Ei 's/^(bind-address|user\\s)/#&/' /etc/mysql/mariadb.conf.d/*.cnf"
            " && printf '[mariadb]\\nhost-cache-size=0\\nskip-name-resolve\\n'"
            " > /etc/mysql/mariadb.conf.d/05-skipcache.cnf\n"
            "ENV LANG=C.UTF-8\nEXPOSE 3306\n"
            'ENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["mariadbd"]\n',
            MARIADB_ENTRYPOINT,
            (("healthcheck.sh", MARIADB_HEALTHCHECK),),
        ),
        StandIn(
            "redis:8",
            "Debian trixie's Redis 8.0. redis-server as user redis in /data (the "
            "volume; the append-only file lands there), protected mode off, "
            "redis-cli for the health check.",
            "WORKDIR /data\nEXPOSE 6379\n"
            'ENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["redis-server"]\n',
            REDIS_ENTRYPOINT,
        ),
        StandIn(
            "rabbitmq:4",
            "Debian trixie's RabbitMQ 4.0. RABBITMQ_DEFAULT_USER/_PASS/_VHOST on the "
            "first start, data in /var/lib/rabbitmq (the volume) under a node named "
            "after the host name, rabbitmq-diagnostics for the health check.",
            "ENV HOME=/var/lib/rabbitmq\nEXPOSE 5672\n"
            'ENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["rabbitmq-server"]\n',
            RABBITMQ_ENTRYPOINT,
        ),
        StandIn(
            "memcached:1.6",
            "Debian trixie's Memcached 1.6 as user memcache on port 11211, bash for "
            "the health check's /dev/tcp probe.",
            'USER memcache\nEXPOSE 11211\nENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["memcached"]\n',
            MEMCACHED_ENTRYPOINT,
        ),
        StandIn(
            "caddy:2",
            "Debian trixie's Caddy 2.6. /etc/caddy/Caddyfile run with the caddyfile "
            "adapter, certificates and its CA in /data, autosaved config in /config, "
            "the admin API on 127.0.0.1:2019, wget for the health check.",
            "ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data\nWORKDIR /srv\n"
            "EXPOSE 80 443\n"
            'CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]\n',
        ),
    )
}


def _content_key() -> str:
    """A digest of everything a stand-in is built from: a change rebuilds them."""
    described = json.dumps(
        [images.DEBIAN_MIRROR, PACKAGES, [vars(s) for s in STAND_INS.values()]], sort_keys=True
    )
    return hashlib.sha256(described.encode()).hexdigest()[:16]


def official_name(name: str) -> str:
    return f"docker.io/library/{name}"


def service_stand_ins(names: Sequence[str]) -> float:
    """Build the stand-ins for *names* (official image names) when missing; return the seconds.

    Built once per machine and cached by content (a label holds the digest of
    their definition): 0 when every one was there already.
    """
    images.require_tools()
    unknown = sorted(set(names) - set(STAND_INS))
    if unknown:
        raise AssertionError(f"compose.yaml names images with no stand-in here: {unknown}")
    key = _content_key()
    started = time.monotonic()
    with exclusive(images.LOCK_DIR / "service-stand-ins.lock"):
        missing = [
            n for n in names if images.label(official_name(n), "django-prod.stand-in") != key
        ]
        if not missing:
            return 0.0
        base = f"localhost/django-prod-services-base:{key}"
        if not images.image_exists(base):
            _build_base(base)
        for name in missing:
            _build_stand_in(STAND_INS[name], base, key)
    return time.monotonic() - started


def _build_base(tag: str) -> None:
    """Every service's Debian trixie packages on the default Python's stand-in (trixie).

    Building on that image costs no second ``debootstrap``; apt retries a
    download the mirror fails to serve (its index can name a file a moment
    before every mirror behind deb.debian.org has it).
    """
    python_image, _ = images.python_stand_in(default("python_version"))
    with tempfile.TemporaryDirectory(prefix="services-base-") as context:
        # Packages install without starting anything, and PostgreSQL without a
        # cluster: each container initialises its own data directory.
        (Path(context) / "Dockerfile").write_text(
            f"FROM {python_image}\n"
            "RUN printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d"
            " && chmod 755 /usr/sbin/policy-rc.d"
            " && mkdir -p /etc/postgresql-common/createcluster.d"
            " && echo 'create_main_cluster = false'"
            " > /etc/postgresql-common/createcluster.d/stand-in.conf"
            " && apt-get -o Acquire::Retries=5 update -qq"
            " && DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=5 install -y -qq"
            f" --no-install-recommends {' '.join(PACKAGES)}"
            " && rm -rf /var/cache/apt/archives /var/lib/apt/lists /usr/share/doc /usr/share/man\n"
        )
        images.build(Path(context), tag)


def _build_stand_in(stand_in: StandIn, base: str, key: str) -> None:
    with tempfile.TemporaryDirectory(prefix="stand-in-") as context:
        lines = [f"FROM {base}"]
        scripts = stand_in.scripts
        if stand_in.entrypoint:
            scripts = (("docker-entrypoint.sh", stand_in.entrypoint), *scripts)
        for name, text in scripts:
            script = Path(context) / name
            script.write_text(text)
            script.chmod(0o755)
            lines.append(f"COPY {name} /usr/local/bin/")
        lines.append(f"LABEL django-prod.stand-in={key}")
        (Path(context) / "Containerfile").write_text(
            "\n".join(lines) + "\n" + stand_in.containerfile
        )
        images.run(
            [
                "podman",
                "build",
                "--isolation=chroot",
                "--format=docker",
                "-t",
                official_name(stand_in.name),
                "-f",
                str(Path(context) / "Containerfile"),
                context,
            ],
            timeout=600,
        )


# --- the engine -------------------------------------------------------------------------


def compose_binary() -> str:
    """Docker Compose v2: on PATH, as a Docker CLI plugin, or where .ci/run extracts it."""
    found = shutil.which("docker-compose") or next(
        (path for path in COMPOSE_CANDIDATES if os.access(path, os.X_OK)), None
    )
    if not found:
        raise AssertionError(
            "Docker Compose v2 not found: .ci/run extracts Debian trixie's docker-compose "
            f"package to /opt/docker-compose (looked on PATH and in {COMPOSE_CANDIDATES})"
        )
    return found


def oci_runtime(probe_image: str) -> str | None:
    """The runtime wrapper's path when a plain ``podman run`` fails on setrlimit, else None."""
    with exclusive(images.LOCK_DIR / "oci-runtime.lock"):
        plain = subprocess.run(
            ["podman", "run", "--rm", "--network=none", "--entrypoint=true", probe_image],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if plain.returncode == 0:
            return None
        if not RLIMIT_ERROR.search(plain.stderr):
            raise AssertionError(f"podman run fails here, and not on setrlimit:\n{plain.stderr}")
        runc = shutil.which("runc")
        if not runc:
            raise AssertionError(
                "podman run fails on setrlimit and runc is missing for the wrapper that "
                "avoids it: apt-get install runc"
            )
        wrapper = images.LOCK_DIR / "oci" / "runc-without-rlimits"
        wrapper.parent.mkdir(parents=True, exist_ok=True)
        text = RUNTIME_WRAPPER.replace("RUNC", runc)
        if not wrapper.exists() or wrapper.read_text() != text:
            scratch = wrapper.with_suffix(".new")
            scratch.write_text(text)
            scratch.chmod(0o755)
            scratch.replace(wrapper)
        return str(wrapper)


@dataclass
class Engine:
    """A podman API service that Docker Compose talks to, and how to reach podman itself."""

    socket: Path
    runtime: str | None

    @property
    def podman(self) -> list[str]:
        return ["podman", *(["--runtime", self.runtime] if self.runtime else [])]

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": f"unix://{self.socket}"}


@contextmanager
def engine(workdir: Path, probe_image: str) -> Iterator[Engine]:
    """``podman system service`` on a socket in *workdir*, with the runtime this machine needs."""
    runtime = oci_runtime(probe_image)
    socket = workdir / "podman.sock"
    started = Engine(socket, runtime)
    log = (workdir / "podman-service.log").open("wb")
    service = subprocess.Popen(
        [*started.podman, "system", "service", "--time=0", f"unix://{socket}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not socket.exists():
            if service.poll() is not None or time.monotonic() > deadline:
                output = (workdir / "podman-service.log").read_text()
                raise AssertionError(f"podman system service did not start:\n{output}")
            time.sleep(0.1)
        yield started
    finally:
        service.terminate()
        try:
            service.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.kill()
        log.close()


class HealthChecks:
    """Runs every health check of a compose project's running containers, as podman's timers would.

    Each container's check runs at its own interval, capped at
    HEALTH_CHECK_CAP_SECONDS; ``podman healthcheck run`` records the result
    (and the failing streak) in the container's state, which compose reads.
    """

    def __init__(self, engine: Engine, project: str) -> None:
        self.engine = engine
        self.project = project
        self.stopped = threading.Event()
        self.last_run: dict[str, float] = {}
        self.intervals: dict[str, float | None] = {}
        # Each container's first passing check, as podman logged its end (podman
        # keeps only the last few results, so they are recorded as they come).
        self.first_healthy: dict[str, datetime.datetime] = {}
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> HealthChecks:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=60)

    def _containers(self) -> dict[str, float]:
        """The project's running containers that have a health check, and their intervals."""
        listed = subprocess.run(
            [
                *self.engine.podman,
                "ps",
                "--filter",
                f"label=com.docker.compose.project={self.project}",
                "--format",
                "{{.ID}}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        checked = {}
        for container in listed.stdout.split():
            if container not in self.intervals:
                self.intervals[container] = self._interval(container)
            interval = self.intervals[container]
            if interval is not None:
                checked[container] = interval
        return checked

    def _interval(self, container: str) -> float | None:
        inspected = subprocess.run(
            [*self.engine.podman, "inspect", "--format", "{{json .Config.Healthcheck}}", container],
            capture_output=True,
            text=True,
            check=False,
        )
        check = json.loads(inspected.stdout or "null") if inspected.returncode == 0 else None
        if not check or not check.get("Test") or check["Test"][0] == "NONE":
            return None
        return min((check.get("Interval") or 30e9) / 1e9, HEALTH_CHECK_CAP_SECONDS)

    def _loop(self) -> None:
        while not self.stopped.wait(1.0):
            now = time.monotonic()
            for container, interval in self._containers().items():
                if now - self.last_run.get(container, 0) >= interval:
                    self.last_run[container] = now
                    result = subprocess.run(
                        [*self.engine.podman, "healthcheck", "run", container],
                        capture_output=True,
                        timeout=120,
                        check=False,
                    )
                    if result.returncode == 0 and container not in self.first_healthy:
                        self.first_healthy[container] = self._last_pass(container)

    def _last_pass(self, container: str) -> datetime.datetime:
        inspected = images.run(
            [*self.engine.podman, "inspect", "--format", "{{json .State.Health.Log}}", container]
        )
        return max(timestamp(e["End"]) for e in json.loads(inspected) if e["ExitCode"] == 0)


def timestamp(text: str) -> datetime.datetime:
    """podman's RFC 3339 time (nanoseconds, Z or an offset) as an aware datetime."""
    match = re.fullmatch(r"(.*?T?[\d:-]+[ T][\d:]+)(?:\.(\d+))?\s*(Z|[+-][\d:]+)?(?: \w+)?", text)
    assert match, f"not a podman time: {text!r}"
    base, fraction, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z") else zone
    if len(zone) == 5:  # +0000
        zone = f"{zone[:3]}:{zone[3:]}"
    micro = (fraction or "0")[:6].ljust(6, "0")
    return datetime.datetime.fromisoformat(f"{base.replace(' ', 'T')}.{micro}{zone}")


@dataclass
class ComposeProject:
    """``docker compose`` for one project directory, under its own project name."""

    engine: Engine
    path: Path
    name: str
    files: Sequence[str]
    env: Mapping[str, str]

    def command(self, *args: str) -> list[str]:
        files = [arg for name in self.files for arg in ("-f", name)]
        return [compose_binary(), "-p", self.name, *files, *args]

    def run(self, *args: str, timeout: float = 600, check: bool = True) -> str:
        result = subprocess.run(
            self.command(*args),
            cwd=self.path,
            env={**self.engine.env, **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"$ docker compose {' '.join(args)}\n(exit {result.returncode})\n"
                f"{result.stdout[-5000:]}\n{result.stderr[-8000:]}"
            )
        return result.stdout + result.stderr

    def containers(self) -> list[dict[str, object]]:
        """``docker compose ps --all`` as Compose reports it, one dict per container."""
        output = self.run("ps", "--all", "--format", "json")
        text = output.strip()
        if text.startswith("["):
            return list(json.loads(text))
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    def inspect(self, container: str) -> dict[str, object]:
        result = images.run([*self.engine.podman, "inspect", container])
        return dict(json.loads(result)[0])

    def container_of(self, service: str) -> str:
        ids = images.run(
            [
                *self.engine.podman,
                "ps",
                "--all",
                "--filter",
                f"label=com.docker.compose.project={self.name}",
                "--filter",
                f"label=com.docker.compose.service={service}",
                "--format",
                "{{.ID}}",
            ]
        ).split()
        assert len(ids) == 1, f"{service}: {len(ids)} containers"
        return ids[0]

    def address(self, service: str) -> str:
        """The service container's address in the project's network."""
        networks = self.inspect(self.container_of(service))["NetworkSettings"]
        assert isinstance(networks, dict)
        return str(next(iter(networks["Networks"].values()))["IPAddress"])
