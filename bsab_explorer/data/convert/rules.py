"""Short codes naming what conversion can find wrong, beside the contract's own `Rule` codes."""

from __future__ import annotations


class ConvertRule:
    """Rule codes of conversion problems (a report filters and tests match on them)."""

    NOT_A_DATE = "not_a_date"
    AMBIGUOUS_DATE_ORDER = "ambiguous_date_order"
    MIXED_DATE_ORDER = "mixed_date_order"
    MISSING_ORIGIN = "missing_origin"
    MISSING_FOLLOW_UP = "missing_follow_up"
    DATE_SEQUENCE = "impossible_date_sequence"
    MAPPING_INVALID = "mapping_invalid"
    SOURCE_COLUMN_MISSING = "source_column_missing"
    DERIVED_TWICE = "derived_twice"
    UNKNOWN_VALUE = "unknown_value"
    DICTIONARY_INVALID = "dictionary_invalid"
    ADAM_INVALID = "adam_invalid"
    UNKNOWN_SOURCE = "unknown_source"
