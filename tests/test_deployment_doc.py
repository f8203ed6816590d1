"""The deployment document: linked from the README, and its secrets example is one the app
accepts (Streamlit's `[auth]` keys, access rules that parse and grant what the text says)."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

from bsab_explorer.data.access import AccessRules, Role

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "deployment.md"


def _secrets_example() -> dict[str, object]:
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1
    return tomllib.loads(blocks[0])


def test_the_readme_links_the_deployment_document() -> None:
    deployment = ROOT.joinpath("README.md").read_text(encoding="utf-8").split("## Deployment")[1]
    assert "[`docs/deployment.md`](docs/deployment.md)" in deployment.split("\n## ")[0]


def test_the_secrets_example_is_one_the_app_accepts() -> None:
    secrets = _secrets_example()
    auth = secrets["auth"]
    assert isinstance(auth, dict)
    assert set(auth) == {
        "redirect_uri",
        "cookie_secret",
        "client_id",
        "client_secret",
        "server_metadata_url",
        "client_kwargs",
    }
    assert str(auth["redirect_uri"]).endswith("/oauth2callback")
    access = secrets["bsab_explorer"]["access"]  # type: ignore[index]
    rules = AccessRules.from_config(access)
    assert rules.roles_of("a.clinician@hospital.example", {}) == {Role.VIEWER}
    assert rules.roles_of("data.manager@hospital.example", {}) == {Role.VIEWER, Role.UPLOADER}
    assert rules.roles_of("x@hospital.example", {"groups": ["bsab-uploaders"]}) == set(Role)
    assert rules.roles_of("x@hospital.example", {"groups": ["bsab-viewers"]}) == {Role.VIEWER}
    assert rules.roles_of("x@hospital.example", {"groups": ["other"]}) == set()


def test_the_secrets_file_is_never_committed() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", ".streamlit/secrets.toml"],
        cwd=ROOT,
        check=False,
    )
    assert ignored.returncode == 0
