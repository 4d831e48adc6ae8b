"""ZIP codes, the state of each and the city names USPS accepts for it, from the `zipcodes`
package.

`zipcodes.list_all()` builds 42,000 Python dicts on every call in a new process (1-2 s on
the shared 2-core machine, a third of screening 300,000 records). The same rows are kept as
a compressed CSV snapshot named by the package's version, which loads in milliseconds. A
snapshot is used only when its version is the installed one; otherwise the package is
read, so a newer `zipcodes` is never judged by an older table.
`python -m ftigate.facts.zips` writes the snapshot for the installed version, and
`tests/facts/test_zips.py` checks that it holds exactly what the package holds.
"""

from __future__ import annotations

import gzip
import io
from functools import cache
from importlib import resources
from pathlib import Path

import polars as pl
import zipcodes

SNAPSHOT_NAME = "zipcodes-{version}.csv.gz"
_CITY_SEPARATOR = "|"


def _from_package() -> pl.DataFrame:
    rows = zipcodes.list_all()
    return pl.DataFrame(
        {
            "zip_code": [r["zip_code"] for r in rows],
            "state": [r["state"] for r in rows],
            # the USPS city name first, then the other names it accepts for the ZIP
            "cities": [[r["city"], *(r.get("acceptable_cities") or [])] for r in rows],
        },
        schema={"zip_code": pl.String, "state": pl.String, "cities": pl.List(pl.String)},
    )


def snapshot_path(version: str | None = None) -> Path:
    name = SNAPSHOT_NAME.format(version=version or zipcodes.__version__)
    return Path(str(resources.files("ftigate.facts").joinpath("data", name)))


@cache
def zip_table() -> pl.DataFrame:
    """zip_code, state, cities (list): one row per ZIP the installed `zipcodes` knows."""
    path = snapshot_path()
    if not path.is_file():
        return _from_package()
    flat = pl.read_csv(path, schema=dict.fromkeys(("zip_code", "state", "cities"), pl.String))
    return flat.with_columns(pl.col("cities").str.split(_CITY_SEPARATOR))


def write_snapshot() -> Path:
    """Write the snapshot for the installed `zipcodes` (run after upgrading it)."""
    table = _from_package()
    if table["cities"].explode().str.contains(_CITY_SEPARATOR, literal=True).any():
        raise ValueError(f"a city name holds {_CITY_SEPARATOR!r}; the snapshot cannot keep it")
    buffer = io.BytesIO()
    table.with_columns(pl.col("cities").list.join(_CITY_SEPARATOR)).write_csv(buffer)
    path = snapshot_path()
    # mtime=0: the same package version always gives the same bytes.
    path.write_bytes(gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0))
    return path


if __name__ == "__main__":
    print(write_snapshot())
