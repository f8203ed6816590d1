"""Deployment defaults: the server answers this machine only and trusts no other site.

The settings live in `.streamlit/config.toml`; a reverse proxy adds what Streamlit cannot
(README, "Deployment"). The launcher test starts the server as `make run` does, with no
Streamlit option or environment variable, from a folder outside the repository.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import tomllib
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streamlit import config as streamlit_config

from bench.browser import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".streamlit" / "config.toml"


def _settings() -> dict[str, dict[str, object]]:
    return tomllib.loads(CONFIG.read_text(encoding="utf-8"))


def test_the_server_answers_this_machine_only_and_protects_its_forms() -> None:
    server = _settings()["server"]
    assert server["address"] == "127.0.0.1"
    assert server["allowedHosts"] == ["localhost", "127.0.0.1"]
    assert server["enableXsrfProtection"] is True
    assert server["enableCORS"] is True
    assert server["enableStaticServing"] is False
    assert server["enableAgentApi"] is False
    assert server["maxUploadSize"] == 25


def test_nothing_leaves_the_server_and_no_frame_controls_the_app() -> None:
    settings = _settings()
    assert settings["browser"]["gatherUsageStats"] is False
    assert settings["global"]["developmentMode"] is False
    assert settings["client"]["showErrorDetails"] == "none"
    assert settings["client"]["showErrorLinks"] is False
    assert settings["client"]["allowedOrigins"] == []


def test_every_setting_is_one_streamlit_knows() -> None:
    known = set(streamlit_config.get_config_options())
    ours = {f"{section}.{key}" for section, values in _settings().items() for key in values}
    assert len(ours) == 26
    assert ours - known == set()


def _listening(port: int) -> set[str]:
    """The local addresses with a TCP socket listening on `port` (Linux's /proc/net)."""
    found = set()
    for table in ("tcp", "tcp6"):
        path = Path("/proc/net") / table
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                raw = bytes.fromhex(address)
                # /proc/net prints each 32-bit word of the address in host (little-endian) order.
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                family = socket.AF_INET if len(words) == 4 else socket.AF_INET6
                found.add(socket.inet_ntop(family, words))
    return found


def _refused(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        code = probe.connect_ex((host, port))
    return code in (errno.ECONNREFUSED, errno.EADDRNOTAVAIL, errno.ENETUNREACH)


def _websocket_status(port: int, host: str) -> int:
    """The HTTP status of a WebSocket opening handshake to the app, sent with Host `host`."""
    request = (
        "GET /_stcore/stream HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: streamlit\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request.encode("ascii"))
        status_line = connection.recv(4096).split(b"\r\n")[0]
    return int(status_line.split()[1])


@contextmanager
def _launched(folder: Path, **streamlit_env: str) -> Iterator[int]:
    """`python -m bsab_explorer.ui.serve` on a free port, started in `folder`: its port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    env |= streamlit_env
    env["BSAB_EXPLORER_STORE"] = str(folder / "store.duckdb")
    with (folder / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bsab_explorer.ui.serve", "--server.port", str(port)],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}", process, seconds=120)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_the_launcher_with_defaults_listens_on_127_0_0_1_only(tmp_path: Path) -> None:
    with _launched(tmp_path) as port:
        assert _listening(port) == {"127.0.0.1"}
        # Every 127.x address reaches this machine: a server on all interfaces would answer.
        assert _refused("127.0.0.2", port)
        url = f"http://127.0.0.1:{port}/_stcore/host-config"
        with urllib.request.urlopen(url, timeout=10) as reply:
            assert json.load(reply)["allowedOrigins"] == []
        # A page whose own domain name was made to point at 127.0.0.1 cannot open the app's
        # WebSocket: its Host is not one of the allowed names.
        assert _websocket_status(port, "127.0.0.1") == 101
        assert _websocket_status(port, "localhost") == 101
        assert _websocket_status(port, "rebound.example") == 403


def test_the_documented_switches_open_the_server_for_a_proxy(tmp_path: Path) -> None:
    proxy = {
        "STREAMLIT_SERVER_ADDRESS": "0.0.0.0",
        "STREAMLIT_SERVER_ALLOWED_HOSTS": "localhost 127.0.0.1 explorer.example.org",
    }
    with _launched(tmp_path, **proxy) as port:
        assert _listening(port) == {"0.0.0.0"}
        assert not _refused("127.0.0.2", port)
        assert _websocket_status(port, "explorer.example.org") == 101
        assert _websocket_status(port, "rebound.example") == 403
