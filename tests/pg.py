"""A throwaway PostgreSQL for the tests: Debian's `initdb` and `pg_ctl` in a temporary folder,
as a non-root user, listening on a free port of 127.0.0.1 only; stopped after the session.

No test is skipped when PostgreSQL is missing: `.ci/run` installs it, and `start_postgres`
fails with what to install when it cannot start one.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

#: The password in every test URL: the server trusts 127.0.0.1, so it only proves masking.
PASSWORD = "s3cret-not-shown"


def _bin_dir() -> Path:
    """The folder of Debian's PostgreSQL server programs (the newest version installed)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise RuntimeError(
        "PostgreSQL's server programs (initdb, pg_ctl) are missing: install Debian's "
        "`postgresql` package (apt-get install postgresql; .ci/run does it)."
    )


def _version(path: str) -> int:
    return int(Path(path).parent.parent.name.split(".")[0])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Postgres:
    """A running server and the folder it lives in."""

    folder: Path
    port: int
    run_as: list[str]
    bin_dir: Path
    _names: itertools.count[int] = field(default_factory=itertools.count)

    def url(self, database: str = "postgres") -> str:
        """The URL of `database` (with a password, as a deployment's would have)."""
        return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new, empty database's URL."""
        name = f"store_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def halt(self) -> None:
        """Stop the server (its connections are closed), keeping its data: an outage."""
        subprocess.run(
            [*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"),
             "-m", "fast", "-w", "stop"],
            check=True, capture_output=True,
        )  # fmt: skip

    def resume(self) -> None:
        """Start the halted server again: same port, same data."""
        subprocess.run(
            [*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"),
             "-l", str(self.folder / "log"), "-w", "-o", _options(self.folder, self.port),
             "start"],
            check=True, capture_output=True,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        subprocess.run(
            [*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"),
             "-m", "immediate", "stop"],
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)


def _options(folder: Path, port: int) -> str:
    """The server's options: 127.0.0.1 only, its socket in its folder, no fsync (a test)."""
    return f"-h 127.0.0.1 -p {port} -k {folder} -F -c fsync=off -c max_connections=200"


def start_postgres() -> Postgres:
    """Start a server in a new temporary folder (as user `postgres` when running as root)."""
    bin_dir = _bin_dir()
    folder = Path(tempfile.mkdtemp(prefix="bsab-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        # The server refuses to run as root.
        user = "postgres"
        try:
            owner = pwd.getpwnam(user)
        except KeyError:
            user, owner = "nobody", pwd.getpwnam("nobody")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        run_as = ["runuser", "-u", user, "--"]
    port = _free_port()
    data = folder / "data"

    def run(*args: str) -> None:
        done = subprocess.run([*run_as, *args], capture_output=True, text=True, check=False)
        if done.returncode:
            log = (folder / "log").read_text() if (folder / "log").exists() else ""
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(
                f"Could not start a test PostgreSQL ({args[0]}): {done.stderr or done.stdout}"
                f"\n{log}"
            )

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
        "-E", "UTF8", "--no-sync", "--no-locale")  # fmt: skip
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
        _options(folder, port), "start")  # fmt: skip
    return Postgres(folder, port, run_as, bin_dir)
