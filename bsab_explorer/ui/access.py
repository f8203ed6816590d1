"""Sign-in at the page frame: who the visitor is, what they may open, and what is logged.

With an `[auth]` section in Streamlit's secrets (`.streamlit/secrets.toml`, or the files named
by STREAMLIT_SECRETS_FILES) every page needs a signed-in user, through Streamlit's own OIDC
login, and `[bsab_explorer.access]` decides their roles (`bsab_explorer.data.access`). Without
`[auth]` the app is open, as it always was, and says so in its sidebar footer and the server
log. The page frame calls `admit` before anything reads data; a visitor who is signed out or
not allowed sees a page with no data on it. User names from the identity provider are shown as
plain text only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import streamlit as st

from bsab_explorer.data import access
from bsab_explorer.data.access import OPEN, AccessRules, Role, Visitor
from bsab_explorer.data.store import StoreDamaged, StoreUnavailable
from bsab_explorer.ui import cache

LOG = logging.getLogger("bsab_explorer")
#: Session-state flag: this session's sign-in is in the access log.
SIGNED_IN_KEY = "_access_signed_in_logged"
#: Pages only an uploader may open (their url paths).
UPLOADER_PAGES = frozenset({"upload"})
SIGNED_OUT = Visitor("(signed out)")
_OPEN_LOGGED: list[bool] = []


def sign_in_configured() -> bool:
    """Whether Streamlit's secrets have an `[auth]` section (then every page needs sign-in)."""
    return bool(st.secrets.load_if_toml_exists() and "auth" in st.secrets)


def rules() -> AccessRules:
    """The `[bsab_explorer.access]` rules from Streamlit's secrets (none: nobody is admitted)."""
    section: Mapping[str, Any] = {}
    if st.secrets.load_if_toml_exists():
        section = st.secrets.get("bsab_explorer", {}).get("access", {})
    try:
        return AccessRules.from_config(section)
    except ValueError as error:
        # A typo must neither grant nor withhold a role silently: no page runs until it is fixed.
        LOG.error("%s", error)
        st.error("The access rules of this deployment are misconfigured:")
        st.code(str(error), language=None, wrap_lines=True)
        st.stop()


def current() -> Visitor:
    """The visitor of this session: `OPEN` without sign-in, else the user and their roles."""
    if not sign_in_configured():
        return OPEN
    the_rules = rules()
    claims = st.user.to_dict()
    # Absent, not False, where no sign-in ever happened (e.g. under AppTest): signed out.
    if claims.get("is_logged_in") is not True:
        return SIGNED_OUT
    email = str(claims.get("email") or "")
    name = email or str(claims.get("sub") or "(no e-mail)")
    return Visitor(name, the_rules.roles_of(email, claims), signed_in=True)


def may_open(visitor: Visitor, url_path: str) -> bool:
    """Whether the visitor may open the page at `url_path`."""
    return url_path not in UPLOADER_PAGES or visitor.may(Role.UPLOADER)


def admit() -> Visitor:
    """The admitted visitor; otherwise draw the sign-in or refusal page and stop the run."""
    visitor = current()
    if visitor is OPEN:
        if not _OPEN_LOGGED:
            _OPEN_LOGGED.append(True)
            LOG.warning(
                "Sign-in is not configured ([auth] in the secrets): the app is open to "
                "everyone who reaches it (docs/deployment.md)."
            )
        return visitor
    if not visitor.signed_in:
        _stop_at(_sign_in_page)
    if not visitor.admitted:

        def refusal_page() -> None:
            _refusal_page(visitor)

        _stop_at(refusal_page)
    if not st.session_state.get(SIGNED_IN_KEY):
        st.session_state[SIGNED_IN_KEY] = True
        _record(lambda: access.record_sign_in(cache.store(), visitor))
    return visitor


def _stop_at(draw: Callable[[], None]) -> NoReturn:
    """Show only this page (no navigation to any other) and end the run."""
    st.navigation([st.Page(draw, title="Sign in", url_path="sign-in")], position="hidden").run()
    st.stop()


def _sign_in_page() -> None:
    st.title("bsab-explorer")
    st.info("Sign in to see the studies' data.")
    st.button("Sign in", type="primary", on_click=st.login, key="access_sign_in")


def _refusal_page(visitor: Visitor) -> None:
    st.title("bsab-explorer")
    st.error("This account is not allowed to see the data. Ask the administrator for access.")
    st.text(f"Signed in as {visitor.user}")
    st.button("Sign out", on_click=st.logout, key="access_sign_out_refused")


def footer(visitor: Visitor) -> None:
    """Who is signed in, with a sign-out button; or that the app is open to everyone."""
    if visitor is OPEN:
        st.sidebar.caption("Open access: sign-in is not configured.")
        return
    st.sidebar.text(f"Signed in: {visitor.user} ({', '.join(sorted(visitor.roles))})")
    st.sidebar.button("Sign out", on_click=st.logout, key="access_sign_out")


def logged(make: Callable[[], bytes], export: str, fingerprint: str) -> Callable[[], bytes]:
    """`make` for a download button, logging who downloaded `export` when users sign in."""
    visitor = current()
    if visitor is OPEN:
        return make

    def make_logged() -> bytes:
        _record(lambda: access.record_download(cache.store(), visitor, export, fingerprint))
        return make()

    return make_logged


def _record(write: Callable[[], None]) -> None:
    """Append to the access log; a store that cannot be written is reported in the server log."""
    try:
        write()
    except (StoreDamaged, StoreUnavailable) as error:
        LOG.error("The access log could not be written: %s", error)
