"""File names of exports: what is shown and for which subgroup, in safe characters only.

>>> from bsab_explorer.filters import CohortFilter
>>> export_name("km", "pfs", by="emd", cohort_filter=CohortFilter.parse("bsab=teclistamab"))
'km-pfs_by-emd_filter-bsab=teclistamab.png'
>>> export_name("table1", ext="csv")
'table1.csv'
"""

from __future__ import annotations

import hashlib
import re

from bsab_explorer.filters import CohortFilter

#: Characters kept in a file name; every run of anything else becomes one `-`.
_UNSAFE = re.compile(r"[^A-Za-z0-9=.+_-]+")
#: Longest file-name stem; longer ones are cut and end with a hash of the whole stem.
MAX_STEM = 120


def safe_part(text: str) -> str:
    """`text` reduced to file-name-safe characters (no leading or trailing dots or dashes)."""
    return _UNSAFE.sub("-", text.strip()).strip("-.")


def export_name(
    kind: str,
    name: str = "",
    *,
    by: str | None = None,
    cohort_filter: CohortFilter | None = None,
    extra: tuple[str, ...] = (),
    ext: str = "png",
) -> str:
    """Deterministic file name `kind-name[_extra][_by-col][_filter-slug].ext` of an export."""
    head = "-".join(p for p in (safe_part(kind), safe_part(name)) if p) or "export"
    parts = [head, *(p for p in (safe_part(e) for e in extra) if p)]
    if by:
        parts.append(f"by-{safe_part(by)}")
    if cohort_filter is not None and not cohort_filter.is_empty:
        parts.append(f"filter-{cohort_filter.slug()}")
    stem = "_".join(parts)
    if len(stem) > MAX_STEM:
        # Cut long filters but keep names distinct: the hash covers the whole stem.
        digest = hashlib.sha256(stem.encode()).hexdigest()[:10]
        stem = f"{stem[: MAX_STEM - 11].rstrip('-_.+=')}-{digest}"
    return f"{stem}.{safe_part(ext) or 'bin'}"
