"""A real PostgreSQL server for the shared-study tests, in a temporary data folder.

The server is Debian's ``postgresql`` (``.ci/run`` installs it): ``initdb`` makes a cluster in
a fresh folder, ``pg_ctl`` starts it on a free port of 127.0.0.1 only (and a Unix socket in
that folder), with a random password, and the folder is removed afterwards. PostgreSQL
refuses to run as root, so as root the server runs as the ``postgres`` user the package
creates (or a system user made for it). Where the binaries are missing the tests skip,
saying so, except in CI (``CI`` set), where they must run.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_SERVICE_USER = "tunelab-pg"


def _binaries() -> Path | None:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").exists() and Path(folder, "pg_ctl").exists():
            return Path(folder)
    return None


def _missing(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{why}, and CI must run the PostgreSQL tests (.ci/run installs postgresql)")
    pytest.skip(f"{why}: apt-get install postgresql (and pip install -e '.[dev]')")


def _service_user() -> str | None:
    """The user the server runs as: None (this one) unless this is root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", _SERVICE_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    _SERVICE_USER], check=True, capture_output=True)
    return _SERVICE_USER


def _as(user: str | None, command: list[str]) -> list[str]:
    if user is None:
        return command
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", user, "--", *command]
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", *command]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Postgres:
    """A running server: :meth:`new_database` gives a fresh database's URL."""

    def __init__(self, port: int, password: str) -> None:
        self.port, self.password = port, password

    def url(self, database: str) -> str:
        return f"postgresql://tunelab:{self.password}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        name = f"study_{secrets.token_hex(4)}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user="tunelab",
                             password=self.password, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _missing("psycopg (PostgreSQL's driver) is not installed")
    bin_dir = _binaries()
    if bin_dir is None:
        _missing("PostgreSQL's initdb and pg_ctl are not installed")
    assert bin_dir is not None
    user = _service_user()
    root = Path(tempfile.mkdtemp(prefix="tunelab-pg-"))
    data, password = root / "data", secrets.token_urlsafe(16)
    (root / "pw").write_text(password)
    if user is not None:
        info = pwd.getpwnam(user)
        for path in (root, root / "pw"):
            os.chown(path, info.pw_uid, info.pw_gid)
    port = _free_port()
    started = False
    try:
        subprocess.run(_as(user, [str(bin_dir / "initdb"), "-D", str(data), "-U", "tunelab",
                                  "--auth=scram-sha-256", f"--pwfile={root / 'pw'}",
                                  "--no-sync", "-E", "UTF8"]),
                       check=True, capture_output=True, timeout=120)
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
                   " -c max_connections=100")
        subprocess.run(_as(user, [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options,
                                  "-l", str(root / "server.log"), "-w", "-t", "60", "start"]),
                       check=True, capture_output=True, timeout=120)
        started = True
        yield Postgres(port, password)
    except subprocess.CalledProcessError as exc:
        log = root / "server.log"
        detail = log.read_text()[-2000:] if log.exists() else ""
        pytest.fail(f"PostgreSQL did not start: {exc.stderr.decode(errors='replace')}{detail}")
    finally:
        if started:
            subprocess.run(_as(user, [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast",
                                      "-w", "stop"]), capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)
