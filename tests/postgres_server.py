"""A PostgreSQL + PostGIS server for the tests: a throw-away cluster, or one named by ``YIZHAN_TEST_POSTGRES_URL``.

The throw-away cluster is made by Debian's server binaries (``initdb``, ``pg_ctl`` from postgresql-15, with
postgresql-15-postgis-3 for the extension) in a temporary directory, listens only on 127.0.0.1 on a free port,
trusts local connections and runs with fsync off: it holds nothing worth keeping. PostgreSQL refuses to run as
root, so under root the binaries run as the ``postgres`` user. ``CREATE EXTENSION postgis`` is run once, in a
template database; every test then gets a fresh database copied from that template (a file copy, far faster
than installing PostGIS again) and dropped after.

``YIZHAN_TEST_POSTGRES_URL`` (a SQLAlchemy URL of a role that may create databases, on a server with PostGIS
available) skips the cluster: the template and the test databases are then made, and dropped, on that server.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from served import free_port
from sqlalchemy.engine import URL, make_url

URL_VARIABLE = "YIZHAN_TEST_POSTGRES_URL"
SERVER_USER = "postgres"
"""The system user that runs the cluster when the tests run as root."""
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}
"""Appended to the cluster's postgresql.conf: loopback only, no sockets in shared directories, no durability."""


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL + PostGIS server can be had here; the message says what is missing."""


def find_bin_dir() -> Path | None:
    """The newest directory holding PostgreSQL's ``initdb`` and ``pg_ctl``: on PATH, or Debian's versioned ones."""
    on_path = shutil.which("initdb")
    candidates = [Path(on_path).parent] if on_path else []
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = [d for d in debian.iterdir() if d.name.isdigit()]
        candidates += [d / "bin" for d in sorted(versions, key=lambda d: int(d.name), reverse=True)]
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    return None


def _admin_connect(url: URL, database: str | None = None) -> psycopg.Connection:
    """An autocommit psycopg connection (CREATE/DROP DATABASE cannot run in a transaction)."""
    if database is not None:
        url = url.set(database=database)
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(conninfo, autocommit=True, connect_timeout=10)


class TemporaryCluster:
    """A PostgreSQL cluster in a temporary directory, on 127.0.0.1 and a free port, removed by ``stop``."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self._as_server_user: list[str] = []
        if os.geteuid() == 0:
            try:
                server_user = pwd.getpwnam(SERVER_USER)
            except KeyError as missing:
                raise PostgresUnavailable(f"running as root and there is no {SERVER_USER!r} user") from missing
            self._as_server_user = ["runuser", "-u", SERVER_USER, "--"]
        self.directory = Path(tempfile.mkdtemp(prefix="yizhan-pg-"))
        if self._as_server_user:
            os.chown(self.directory, server_user.pw_uid, server_user.pw_gid)
        self.data_dir = self.directory / "data"
        self.log_path = self.directory / "server.log"
        self.port = 0

    def _run(self, program: str, *args: str) -> None:
        command = [*self._as_server_user, str(self.bin_dir / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            raise PostgresUnavailable(f"{program} failed ({done.returncode}): {done.stderr.strip()}\n{log}")

    def start(self, attempts: int = 3) -> None:
        """Create the cluster and start it; a port taken between choosing and binding it is retried."""
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "--auth=trust",
            f"--username={SERVER_USER}",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        base_conf = (self.data_dir / "postgresql.conf").read_text()
        for attempt in range(attempts):
            self.port = free_port()
            settings = {**SETTINGS, "port": str(self.port)}
            lines = "".join(f"{name} = {value}\n" for name, value in settings.items())
            (self.data_dir / "postgresql.conf").write_text(f"{base_conf}\n# yizhan tests\n{lines}")
            try:
                self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path), "-w", "-t", "60", "start")
                return
            except PostgresUnavailable:
                if attempt == attempts - 1:
                    raise

    def stop(self) -> None:
        """Stop the server (no checkpoint: nothing is kept) and remove its directory."""
        with contextlib.suppress(PostgresUnavailable):
            if (self.data_dir / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def url(self) -> URL:
        """SQLAlchemy URL of the cluster's ``postgres`` database, as its superuser."""
        return URL.create(
            "postgresql+psycopg", username=SERVER_USER, host="127.0.0.1", port=self.port, database="postgres"
        )


class PostgresServer:
    """Fresh databases with PostGIS, copied from a template made once on a server reached at ``admin_url``."""

    def __init__(self, admin_url: URL, cluster: TemporaryCluster | None = None) -> None:
        self.admin_url = admin_url
        self.cluster = cluster
        self.template = f"yizhan_template_{uuid.uuid4().hex[:12]}"
        try:
            with _admin_connect(admin_url) as admin:
                self.server_version = admin.info.server_version
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.template)))
        except psycopg.Error as error:
            raise PostgresUnavailable(f"cannot create a database on {admin_url!r}: {error}") from error
        try:
            with _admin_connect(admin_url, self.template) as template:
                template.execute("CREATE EXTENSION postgis")
        except psycopg.Error as error:
            self._drop(self.template)
            raise PostgresUnavailable(f"PostGIS is not available on {admin_url!r}: {error}") from error

    def create_database(self, template: str | None = None) -> str:
        """A new database copied from ``template`` (a database of this server, unused at the time), by default
        an empty one with PostGIS installed; returns its SQLAlchemy (psycopg 3) URL."""
        name = f"yizhan_test_{uuid.uuid4().hex[:12]}"
        template = template or self.template
        create = "CREATE DATABASE {} TEMPLATE {}"
        if self.server_version >= 150000:
            create += " STRATEGY FILE_COPY"  # copies the files: faster than WAL_LOG (15's default) for a small template
        with _admin_connect(self.admin_url) as admin:
            admin.execute(sql.SQL(create).format(*map(sql.Identifier, (name, template))))
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        """Drop a database made by ``create_database``, closing whatever connections are still open to it."""
        self._drop(make_url(url).database or "")

    def _drop(self, name: str) -> None:
        with _admin_connect(self.admin_url) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def close(self) -> None:
        """Drop the template; stop and remove the throw-away cluster, if this server is one."""
        try:
            if self.cluster is None:
                self._drop(self.template)
        finally:
            if self.cluster is not None:
                self.cluster.stop()


def open_server() -> PostgresServer:
    """The server named by ``YIZHAN_TEST_POSTGRES_URL``, else a throw-away cluster.

    Raises ``PostgresUnavailable``, saying why, when neither can be had.
    """
    if os.environ.get(URL_VARIABLE):
        return PostgresServer(make_url(os.environ[URL_VARIABLE]))
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PostgresUnavailable(
            f"no PostgreSQL server binaries (initdb, pg_ctl) found and {URL_VARIABLE} is not set; "
            "install postgresql-15 and postgresql-15-postgis-3 (.ci/run does)"
        )
    cluster = TemporaryCluster(bin_dir)
    try:
        cluster.start()
        return PostgresServer(cluster.url, cluster)
    except BaseException:
        cluster.stop()
        raise
