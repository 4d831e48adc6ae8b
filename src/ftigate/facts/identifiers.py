"""What a request offers, beyond a name and an address, to tell its person from another of
the same name at the same home: a TIN or a date of birth.

A request with neither names someone by a name and an address alone, and nothing in the
taxpayer files can tell the filer from a non-filer of that name at that home (a son named
for his father). The gates never disclose such a request on the model's probability
(NAME_UNIQUE_AT_ADDRESS, NAME_AND_ADDRESS_ONLY) and the audit does not take a disclosure
made on one as an established identity. Both read it here, from raw request fields or
standardised ones (the readings are the same: a standardised value reads as itself).
"""

from __future__ import annotations

import polars as pl

from ftigate.facts.dates import dob_text
from ftigate.facts.tin import tin_digits


def name_and_address_alone(tin: pl.Expr, date_of_birth: pl.Expr) -> pl.Expr:
    """Whether a request gives no TIN (nine digits) and no date of birth (an ISO date): a
    "Failed to Provide", "NA" or "Unknown" in either field gives nothing."""
    return tin_digits(tin).is_null() & dob_text(date_of_birth).is_null()
