"""Intake: the request file is read once, for screening and for resolution.

Screening streams the file chunk by chunk (`ftigate.intake.requests.read_request_chunks`,
any encoding, CSV or Parquet). `RequestSpill.tee` hands each chunk on unchanged and keeps
beside it, in a private work folder, the fields resolution compares (lz4 Parquet, one part
per chunk), so memory stays bounded by the chunk size and resolution reads back exactly
the rows screening judged, never a second reading of a file that might have changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import polars as pl

REQUEST_FIELDS = ("request_id", "first_name", "middle_name", "last_name", "date_of_birth", "tin",
                  "street", "unit", "city", "state", "zip")  # fmt: skip
"""what resolution compares of a request"""


def resolution_fields(chunk: pl.DataFrame) -> pl.DataFrame:
    """A chunk's REQUEST_FIELDS, as text, a missing optional column as empty text."""
    return chunk.select(
        [
            pl.col(c).cast(pl.String) if c in chunk.columns else pl.lit("", dtype=pl.String).alias(c)
            for c in REQUEST_FIELDS
        ]
    )


class RequestSpill:
    """The resolution fields of every chunk screening read, spilled to `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._parts: list[Path] = []

    def tee(self, chunks: Iterable[pl.DataFrame]) -> Iterator[pl.DataFrame]:
        """Each chunk, unchanged, once its resolution fields are kept."""
        for chunk in chunks:
            part = self.folder / f"requests-{len(self._parts):06d}.parquet"
            resolution_fields(chunk).write_parquet(part, compression="lz4", statistics=False)
            self._parts.append(part)
            yield chunk

    def rows_of(self, request_ids: pl.DataFrame) -> pl.DataFrame:
        """The kept rows whose request_id is in `request_ids`, in file order."""
        if not self._parts:
            return pl.DataFrame(schema=dict.fromkeys(REQUEST_FIELDS, pl.String))
        kept = pl.scan_parquet(self._parts).join(
            request_ids.lazy(), on="request_id", how="semi", maintain_order="left"
        )
        return kept.collect().select(REQUEST_FIELDS)
