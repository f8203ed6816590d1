"""Investigators' data as they keep it (spreadsheets with dates, REDCap, ADaM) to the contract.

`convert` is the entry; `dates` turns dates into days, `mapping` reads, proposes and writes the
mapping file, and `plain_tables`, `redcap` and `adam` read the three shapes. No calendar date
leaves this package.
"""

from bsab_explorer.data.convert.conversion import ConversionResult, convert

__all__ = ["ConversionResult", "convert"]
