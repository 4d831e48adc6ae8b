"""Screening a whole batch: stream the request file, judge each chunk, then apply the
batch-level findings (letter codes, boilerplate reasons, officer caseloads) and write
the result atomically.

Memory is bounded by the chunk size: chunks are judged and spilled to Parquet
in a private temporary folder; whole-batch questions (duplicate request ids,
repeated reasons, cases per officer) are answered by Polars' streaming engine over
those files, and the output is written beside its destination and renamed into
place only when complete. On any error nothing is left behind.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from ftigate.intake.errors import IntakeError
from ftigate.intake.letter import Letter
from ftigate.intake.prefetch import read_ahead
from ftigate.intake.requests import ReadOptions, read_request_chunks
from ftigate.law.loader import Law
from ftigate.law.model import Effect
from ftigate.law.outcome import outcomes
from ftigate.outputs import OutputFile
from ftigate.outputs.safecsv import write_csv as write_safe_csv
from ftigate.screen.address import parser_pool
from ftigate.screen.letter import BatchFacts, letter_codes, letter_warnings, normalise_officer
from ftigate.screen.record import ScreenContext, screen_chunk

OUTPUT_COLUMNS = ("request_id", "sufficient", "outcome", "reasons", "warnings")

Progress = Callable[[int], None]


@dataclass
class ScreenSummary:
    """What a batch's screening found, in the terms a disclosure officer reports."""

    records: int = 0
    sufficient: int = 0
    refused: int = 0
    review: int = 0
    letter_codes: list[str] = field(default_factory=list)
    letter_warnings: list[str] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "records": self.records,
            "sufficient": self.sufficient,
            "refused": self.refused,
            "review": self.review,
            "letter_codes": self.letter_codes,
            "letter_warnings": self.letter_warnings,
            "reasons": dict(sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
            "warnings": dict(sorted(self.warnings.items(), key=lambda kv: (-kv[1], kv[0]))),
        }


def screen_files(
    letter: Letter,
    requests: Path,
    out: Path,
    law: Law,
    *,
    read: ReadOptions | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    force: bool = True,
) -> ScreenSummary:
    """Screen `requests` under `letter` and write one row per request to `out` (CSV or Parquet).

    `out` is written as every single-file output is (`ftigate.outputs.OutputFile`): staged
    beside it, 0600, renamed into place; an existing file is replaced only with `force`
    (the default for callers that screen into a private folder of their own)."""
    return screen_chunks(
        letter, read_request_chunks(requests, read), requests, out, law,
        workers=workers, progress=progress, force=force,
    )  # fmt: skip


def screen_chunks(
    letter: Letter,
    chunks: Iterable[pl.DataFrame],
    requests: Path,
    out: Path,
    law: Law,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    force: bool = True,
) -> ScreenSummary:
    """`screen_files` over chunks already read from `requests` (named in errors), for a
    caller that reads the file once for more than screening (`ftigate.pipeline.intake`)."""
    out_format = "parquet" if out.suffix.lower() in {".parquet", ".pq"} else "csv"
    # The letter is judged under the law as it stood on its date, not as it stands today.
    law = law.at(letter.date)
    ctx = ScreenContext(
        params=law.parameters,
        letter_year=letter.date.year,
        letter_date=letter.date,
        letter_officers=frozenset(normalise_officer(o) for o in letter.officers if o.strip()),
        pool=parser_pool(workers),
    )
    work = Path(tempfile.mkdtemp(prefix="ftigate-screen-"))
    try:
        with OutputFile(out, force=force) as target:
            parts: list[Path] = []
            # The next chunk is read (and parsed, off the GIL) while this one is judged.
            for number, chunk in enumerate(read_ahead(chunks)):
                judged = screen_chunk(chunk, ctx)
                part = work / f"part-{number:06d}.parquet"
                judged.write_parquet(part, compression="lz4", statistics=False)
                parts.append(part)
                if progress:
                    progress(chunk.height)
            summary = _finish(letter, law, requests, parts, target.staging, out_format)
            target.commit()
        return summary
    finally:
        if ctx.pool is not None:
            ctx.pool.shutdown(cancel_futures=True)
        # `work` is this call's own mkdtemp folder (spilled chunks), never a user path.
        shutil.rmtree(work, ignore_errors=True)


def _finish(
    letter: Letter,
    law: Law,
    requests: Path,
    parts: list[Path],
    partial: Path,
    out_format: str,
) -> ScreenSummary:
    params = law.parameters
    summary = ScreenSummary()
    boilerplate: set[int] = set()
    max_cases = 0
    if parts:
        # One lazy scan of the spilled chunks answers the whole-batch questions, in
        # Polars' streaming engine: memory stays bounded however large the batch.
        judged = pl.scan_parquet(parts)
        duplicate = _collect(
            judged.group_by("request_id")
            .agg(
                pl.len().alias("n"), pl.col("_line").min().alias("first"), pl.col("_line").max().alias("last")
            )
            .filter(pl.col("n") > 1)
            .sort("first")
            .head(1)
        )
        if duplicate.height:
            first, last = duplicate.row(0)[2:]
            raise IntakeError(
                requests, f"duplicate request_id (first at row {first})", row=int(last), column="request_id"
            )
        boilerplate = set(
            _collect(
                judged.filter(pl.col("reason_key").is_not_null())
                .group_by("reason_key")
                .len()
                .filter(pl.col("len") >= params.boilerplate_min_records)
                .select("reason_key")
            )["reason_key"].to_list()
        )
        # count(DISTINCT case_number) per officer, as SQL counts it: nulls are not cases.
        cases = _collect(
            judged.filter(pl.col("officer_key") != "")
            .group_by("officer_key")
            .agg(pl.col("case_number").drop_nulls().n_unique().alias("n"))
            .select(pl.col("n").max())
        )["n"][0]
        max_cases = int(cases) if cases is not None else 0
        records = int(_collect(judged.select(pl.len()))[0, 0])
    else:
        records = 0

    facts = BatchFacts(records=records, max_cases_one_officer=max_cases)
    batch_codes = letter_codes(letter, params, facts)
    summary.letter_codes = batch_codes
    summary.letter_warnings = letter_warnings(letter, facts)
    effects = law.effects()
    boilerplate_refuses = params.boilerplate_effect == Effect.REFUSE

    writer = _Writer(partial, out_format)
    try:
        for part in parts:
            frame = pl.read_parquet(part)
            # Lists are joined only to what is there: an empty letter-level list or no
            # boilerplate adds nothing to a record's codes, and joining lists is not free.
            reasons = pl.col("codes")
            if batch_codes:
                reasons = pl.concat_list(pl.lit(batch_codes, dtype=pl.List(pl.String)), reasons)
            warnings = pl.col("warnings")
            if boilerplate:
                flag = (
                    pl.when(pl.col("reason_key").is_in(sorted(boilerplate)))
                    .then(pl.lit(["REASON_BOILERPLATE"]))
                    .otherwise(pl.lit([], dtype=pl.List(pl.String)))
                )
                if boilerplate_refuses:
                    reasons = pl.concat_list(reasons, flag)
                else:
                    warnings = pl.concat_list(warnings, flag)
            if summary.letter_warnings:
                warnings = pl.concat_list(pl.lit(summary.letter_warnings, dtype=pl.List(pl.String)), warnings)
            frame = frame.select("request_id", reasons.alias("reasons"), warnings.alias("warnings"))
            frame = frame.with_columns(outcome=outcomes(frame["reasons"], effects)).with_columns(
                (pl.col("outcome") == "pass").alias("sufficient")
            )
            _tally(summary, frame)
            writer.write(frame.select(OUTPUT_COLUMNS))
    finally:
        writer.close()
    return summary


def _collect(query: pl.LazyFrame) -> pl.DataFrame:
    return query.collect(engine="streaming")


def _tally(summary: ScreenSummary, frame: pl.DataFrame) -> None:
    outcomes = dict(frame["outcome"].value_counts().iter_rows())
    summary.records += frame.height
    summary.sufficient += int(outcomes.get("pass", 0))
    summary.refused += int(outcomes.get("refuse", 0))
    summary.review += int(outcomes.get("review", 0))
    for column, counter in (("reasons", summary.reasons), ("warnings", summary.warnings)):
        exploded = frame[column].explode().drop_nulls()
        for code, count in exploded.value_counts().iter_rows():
            counter[str(code)] += int(count)


class _Writer:
    """Appends chunks to one CSV (codes joined with ';') or one Parquet file."""

    def __init__(self, path: Path, out_format: str) -> None:
        self.path = path
        self.format = out_format
        self._parquet: pq.ParquetWriter | None = None
        self._csv = path.open("w", encoding="utf-8", newline="") if out_format == "csv" else None
        self._header = True

    def write(self, frame: pl.DataFrame) -> None:
        if self._csv is not None:
            flat = frame.with_columns(
                pl.col("reasons").list.join(";"),
                pl.col("warnings").list.join(";"),
                pl.col("sufficient").cast(pl.String).str.to_lowercase(),
            )
            write_safe_csv(flat, self._csv, include_header=self._header)
            self._header = False
            return
        table = frame.to_arrow()
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(str(self.path), table.schema)
        self._parquet.write_table(table)

    def close(self) -> None:
        if self._csv is not None:
            if self._header:
                self._csv.write(",".join(OUTPUT_COLUMNS) + "\n")
            self._csv.close()
        if self.format == "parquet":
            if self._parquet is None:
                empty = pl.DataFrame(
                    schema={
                        "request_id": pl.String,
                        "sufficient": pl.Boolean,
                        "outcome": pl.String,
                        "reasons": pl.List(pl.String),
                        "warnings": pl.List(pl.String),
                    }
                )
                empty.write_parquet(self.path)
            else:
                self._parquet.close()
