"""Provenance: what an exported figure or table shows, from which data, made when and by what.

Every figure and table export carries these lines (a footer drawn into a PNG, `# ` comment
lines at the end of a CSV, a block in the report), so a file found on a laptop a year later
still says what it is.

>>> from datetime import UTC, datetime
>>> p = Provenance(
...     dataset_name="bundled",
...     fingerprint="ab" * 32,
...     reconstructed=True,
...     filter_text="emd=true",
...     filter_description="Extramedullary disease (EMD) is true",
...     n=22,
...     total=44,
...     app_version="0.1.0",
...     created=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
...     ci_method="log",
... )
>>> for line in p.lines():
...     print(line)
Data: bundled · sha256 abababababababababababababababababababababababababababababababab
Reconstructed from published aggregates, not real patients.
Filter: emd=true (Extramedullary disease (EMD) is true) · N = 22 of 44 patients
95 % CI: log transformation (R survival default)
bsab-explorer 0.1.0 · created 2026-01-02 03:04 UTC
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import overload

from bsab_explorer import __version__
from bsab_explorer.dataset import Dataset
from bsab_explorer.filters import CohortFilter
from bsab_explorer.schema import RECONSTRUCTED_NOTICE

#: A source of the current time (tests pass a fixed one).
Clock = Callable[[], datetime]

#: How each confidence-interval method is named in provenance lines.
CI_METHOD_LABELS = {
    "log": "log transformation (R survival default)",
    "log-log": "log-log transformation",
    "plain": "plain (linear)",
    "clopper-pearson": "Clopper–Pearson exact",
}


def utc_now() -> datetime:
    """The current time in UTC (the default clock)."""
    return datetime.now(UTC)


def ci_method_label(method: str) -> str:
    """Readable name of a confidence-interval method (the code itself when unknown)."""
    return CI_METHOD_LABELS.get(method, method)


class DeferredText:
    """A text field that may be given as a function returning it, called on first read, once.

    The data fingerprint is a sha256 over every table (a third of a second at a million
    patients) and only the files that carry provenance lines show it: a command printing a
    table's rows never reads it. A dataclass field typed by this descriptor keeps the
    constructor, `dataclasses.replace` and equality as for a plain text field.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type) -> DeferredText: ...
    @overload
    def __get__(self, instance: object, owner: type) -> str: ...
    def __get__(self, instance: object | None, owner: type) -> DeferredText | str:
        if instance is None:
            raise AttributeError(self._name)  # no default: the field is required
        value = instance.__dict__[self._name]
        if callable(value):
            value = value()
            instance.__dict__[self._name] = value
        return str(value)

    def __set__(self, instance: object, value: str | Callable[[], str]) -> None:
        instance.__dict__[self._name] = value


@dataclass(frozen=True)
class Provenance:
    """Where an export comes from: data, fingerprint, filter, N, CI method, version and date."""

    dataset_name: str
    reconstructed: bool
    filter_text: str
    filter_description: str
    n: int
    total: int
    app_version: str
    created: datetime
    #: The data's sha256, or a function giving it, called when a line first shows it (a
    #: required field: the descriptor gives no default).
    fingerprint: DeferredText = DeferredText()
    ci_method: str | None = None
    #: What N counts ("patients" for the cohort study, "cases" for the case series).
    unit: str = "patients"
    #: Further labelled facts shown after the filter line, e.g. ("Endpoint", "PFS").
    details: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def of(
        cls,
        dataset: Dataset,
        cohort_filter: CohortFilter,
        n: int,
        total: int,
        *,
        ci_method: str | None = None,
        unit: str = "patients",
        details: tuple[tuple[str, str], ...] = (),
        clock: Clock = utc_now,
    ) -> Provenance:
        """Provenance of an export of `dataset` under `cohort_filter` (N of total kept)."""
        return cls(
            dataset_name=dataset.name,
            fingerprint=lambda: dataset.fingerprint,
            reconstructed=dataset.reconstructed,
            filter_text=cohort_filter.to_text(),
            filter_description=cohort_filter.describe(),
            n=n,
            total=total,
            app_version=__version__,
            created=clock(),
            ci_method=ci_method,
            unit=unit,
            details=details,
        )

    def with_ci(self, ci_method: str | None) -> Provenance:
        """The same provenance with another CI method."""
        return replace(self, ci_method=ci_method)

    def with_details(self, *details: tuple[str, str]) -> Provenance:
        """The same provenance with further labelled facts appended."""
        return replace(self, details=self.details + tuple(details))

    @property
    def created_text(self) -> str:
        """The creation time as `YYYY-MM-DD HH:MM UTC`."""
        return self.created.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

    @property
    def filter_line(self) -> str:
        """The filter, in grammar and in words, with N."""
        if self.filter_text:
            shown = f"{self.filter_text} ({self.filter_description})"
        else:
            shown = f"none (all {self.unit})"
        return f"Filter: {shown} · N = {self.n} of {self.total} {self.unit}"

    def lines(self, *, with_date: bool = True) -> tuple[str, ...]:
        """The provenance as short lines of text (the date line last)."""
        out = [f"Data: {self.dataset_name} · sha256 {self.fingerprint}"]
        if self.reconstructed:
            out.append(RECONSTRUCTED_NOTICE)
        out.append(self.filter_line)
        out.extend(f"{label}: {value}" for label, value in self.details)
        if self.ci_method:
            out.append(f"95 % CI: {ci_method_label(self.ci_method)}")
        version = f"bsab-explorer {self.app_version}"
        out.append(f"{version} · created {self.created_text}" if with_date else version)
        return tuple(out)


def provenance_lines(provenance: Provenance, *, with_date: bool = True) -> tuple[str, ...]:
    """The provenance footer lines of an export."""
    return provenance.lines(with_date=with_date)
