"""Who may do what, and the record of what they did.

A deployment with sign-in (Streamlit's OIDC login, configured in `[auth]`) names its users in
`[bsab_explorer.access]`: e-mail addresses and/or groups of an identity-provider claim, each
granting a role. A viewer sees the pages, downloads and the report; an uploader may also store
and retract batches. Anyone else is admitted to nothing. Without sign-in the app is open, as it
always was, and everyone holds both roles.

The functions that store and retract take the visitor and refuse one without the uploader role
(`AccessRefused`) before the store is touched: hiding a button is not the check. What they did
is appended to the store's access log (user, time, action, batch or export, fingerprint): never
a patient value. An upload's or a retraction's entry is written in the batch's own transaction,
so there is no batch without its entry. The command line (`ingest`, `retract`) records its user
too: ``--user``, else $BSAB_EXPLORER_USER, else the operating-system user (`command_line_user`).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bsab_explorer.data.store import Action, Batch, IngestResult, Store

#: The user recorded for what happens in an app without sign-in.
OPEN_USER = "(open access)"
#: Environment variable naming the user the command line records (else the system's user).
USER_ENV = "BSAB_EXPLORER_USER"


class Role(StrEnum):
    """What a user may do: a viewer looks and downloads, an uploader also stores and retracts."""

    VIEWER = "viewer"
    UPLOADER = "uploader"


class AccessRefused(Exception):
    """The visitor lacks the role an operation needs: nothing was done."""


@dataclass(frozen=True)
class Visitor:
    """Who is using the app: the signed-in user's e-mail (or `OPEN_USER`) and their roles."""

    user: str
    roles: frozenset[Role] = frozenset()
    signed_in: bool = False

    @property
    def admitted(self) -> bool:
        """Whether the visitor may see anything at all."""
        return bool(self.roles)

    def may(self, role: Role) -> bool:
        """Whether the visitor holds `role`."""
        return role in self.roles


#: Everyone, in an app without sign-in.
OPEN = Visitor(OPEN_USER, frozenset(Role), signed_in=False)


def _names(value: Any) -> frozenset[str]:
    """A configured list (or one string) as a set of lower-case names."""
    if value is None:
        return frozenset()
    items: Iterable[Any] = [value] if isinstance(value, str) else value
    return frozenset(str(item).strip().lower() for item in items if str(item).strip())


@dataclass(frozen=True)
class AccessRules:
    """Who holds which role: e-mail allowlists and groups named in an identity-provider claim.

    >>> rules = AccessRules.from_config({"viewers": ["a@x.org"], "uploader_groups": "lab"})
    >>> sorted(map(str, rules.roles_of("A@x.org", {})))
    ['viewer']
    >>> sorted(map(str, rules.roles_of("b@x.org", {"groups": ["lab"]})))
    ['uploader', 'viewer']
    >>> rules.roles_of("c@x.org", {"groups": ["other"]})
    frozenset()
    """

    viewers: frozenset[str] = frozenset()
    uploaders: frozenset[str] = frozenset()
    claim: str = "groups"
    viewer_groups: frozenset[str] = frozenset()
    uploader_groups: frozenset[str] = frozenset()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AccessRules:
        """The rules of a `[bsab_explorer.access]` section (unknown keys are refused)."""
        known = {"viewers", "uploaders", "claim", "viewer_groups", "uploader_groups"}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(
                f"Unknown setting(s) in [bsab_explorer.access]: {', '.join(unknown)}. "
                f"Known: {', '.join(sorted(known))}."
            )
        return cls(
            viewers=_names(config.get("viewers")),
            uploaders=_names(config.get("uploaders")),
            claim=str(config.get("claim", "groups")),
            viewer_groups=_names(config.get("viewer_groups")),
            uploader_groups=_names(config.get("uploader_groups")),
        )

    @property
    def empty(self) -> bool:
        """Whether the rules admit nobody."""
        return not (self.viewers or self.uploaders or self.viewer_groups or self.uploader_groups)

    def roles_of(self, email: str, claims: Mapping[str, Any]) -> frozenset[Role]:
        """The roles of a signed-in user (an uploader is a viewer too); empty: not admitted."""
        address = email.strip().lower()
        groups = _names(claims.get(self.claim))
        if (address and address in self.uploaders) or groups & self.uploader_groups:
            return frozenset(Role)
        if (address and address in self.viewers) or groups & self.viewer_groups:
            return frozenset({Role.VIEWER})
        return frozenset()


def require(visitor: Visitor, role: Role) -> None:
    """Raise `AccessRefused` unless the visitor holds `role`."""
    if not visitor.may(role):
        raise AccessRefused(
            f"{visitor.user} is not allowed to do this: it needs the {role} role. Ask the "
            "deployment's administrator."
        )


def record_sign_in(store: Store, visitor: Visitor) -> None:
    """Log that a signed-in visitor started a session."""
    store.record_access(visitor.user, Action.SIGN_IN, ", ".join(sorted(visitor.roles)))


def record_download(store: Store, visitor: Visitor, export: str, fingerprint: str) -> None:
    """Log that a visitor downloaded the export named `export` from the dataset `fingerprint`."""
    store.record_access(visitor.user, Action.DOWNLOAD, export, fingerprint)


def upload(
    store: Store,
    visitor: Visitor,
    data: bytes,
    file_name: str,
    table: str,
    center: str,
    *,
    cap_ages: bool = False,
) -> IngestResult:
    """Store a file as one batch for an uploader (`Store.ingest_bytes`), logged in the batch's
    own transaction."""
    require(visitor, Role.UPLOADER)
    return store.ingest_bytes(data, file_name, table, center, cap_ages=cap_ages, user=visitor.user)


def set_retracted(
    store: Store, visitor: Visitor, batch_id: int, retracted: bool, reason: str = ""
) -> Batch | None:
    """Retract (or restore) a batch for an uploader (`Store.set_retracted`), logged in the
    retraction's own transaction."""
    require(visitor, Role.UPLOADER)
    return store.set_retracted(batch_id, retracted, reason, user=visitor.user)


def command_line_user(explicit: str | None = None) -> str:
    """Who the command line records: `explicit` (``--user``), else $BSAB_EXPLORER_USER, else the
    operating-system user running it."""
    name = (explicit or os.environ.get(USER_ENV) or "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (e.g. a bare container)
        return f"uid {os.getuid()}"
