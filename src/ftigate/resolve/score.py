"""Candidates and scores: the trained model applied to requests against the reference.

Splink 5 on DuckDB: both tables are registered first, term frequencies for names come
from the reference (registered as lookups, so a batch of many "Garcia" requests does
not make "Garcia" look rare), and `predict_between` pairs requests (left) with
taxpayers (right). The model's blocking rules are run once for the whole batch
(`blocked_pairs`); Splink gets each chunk's pairs through one rule over a list of
candidate positions (`PAIR_KEY`). The result is fetched whole into Polars (a DuckDB
result left half-read keeps the connection busy).
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb
import polars as pl
from splink import DuckDBAPI, Linker, block_on

from ftigate.resolve.model import FIELDS, ModelArtefact, scaled_settings
from ftigate.resolve.reference import Reference, term_frequencies

ARRAY_COLUMNS = ("addr_keys", "variant_keys", "near_keys", "building_keys", "zips", "surname_tokens")
MODEL_COLUMNS = (
    "unique_id", "first_name", "first_fused", "first_canon", "first_forms", "last_name", "last_fused",
    "surname_tokens",
    "dob", "tin", "prior_itin", "addr_keys", "variant_keys", "near_keys", "building_keys", "zips",
    "name_zip_keys", "house_initial_keys",
)  # fmt: skip
TF_COLUMNS = ("first_name", "last_name")
BLOCKING_ONLY_COLUMNS = ("name_zip_keys", "house_initial_keys")
SCORED_COLUMNS = tuple(c for c in MODEL_COLUMNS if c not in BLOCKING_ONLY_COLUMNS)
"""what the comparisons read: blocking is done before Splink sees the pairs (`blocked_pairs`)"""
PAIR_KEY = "_candidates"
"""A request's candidate rows (positions in its chunk's taxpayers), and a taxpayer's own
position: Splink's one blocking rule joins the two, so it builds exactly the pairs
`blocked_pairs` found instead of running the model's eleven rules again."""
PAIR_RULE = block_on(PAIR_KEY, arrays_to_explode=[PAIR_KEY]).get_blocking_rule("duckdb").as_dict()

Timer = Callable[[str], None]


class InspectionLog(Protocol):
    """Told before the taxpayer file is searched and after each chunk is scored, so that
    an inspection is recorded before it happens and what it read once it is known."""

    def searching(self, request_ids: pl.Series) -> None: ...

    def read(self, request_ids: pl.Series, candidates: pl.DataFrame) -> None: ...

    def inspected(self) -> None:
        """Returns once every chunk told to `read` is recorded (a recorder may record them
        while the next chunk is scored), raising what recording one raised."""


@dataclass(frozen=True)
class ScoringOptions:
    prior_in_file_share: float = 0.5
    """share of requests expected to be for someone in the file; with the reference size it
    sets the model's prior (probability that a random request-taxpayer pair match)"""
    memory_limit: str | None = None
    threads: int | None = None
    work_dir: Path | None = None
    """folder for a file-backed DuckDB database (joins that outgrow memory spill there)"""
    extra_duckdb: dict[str, Any] = field(default_factory=dict)
    request_chunk_rows: int = 150_000
    """requests scored together; each request's candidates are scored independently of the
    others', so chunks change nothing but peak memory (Splink's blocked pairs per chunk)"""


def model_input(frame: pl.DataFrame, columns: tuple[str, ...] = MODEL_COLUMNS) -> pl.DataFrame:
    """The model's columns, with empty lists as NULL so the null levels see them."""
    return frame.select(
        [
            pl.when(pl.col(c).list.len() > 0).then(pl.col(c)).otherwise(None).alias(c)
            if c in ARRAY_COLUMNS
            else pl.col(c)
            for c in columns
        ]
    )


def candidate_keys(pairs: pl.DataFrame, rows: pl.Series, start: int, height: int) -> pl.Series:
    """Per request of the chunk starting at `start`, the positions in `rows` (the chunk's
    taxpayer rows, sorted) of its candidates; NULL when it has none."""
    position = pl.DataFrame({"_row": rows, "_at": pl.int_range(rows.len(), dtype=pl.UInt32, eager=True)})
    listed = (
        pairs.join(position, on="_row")
        .group_by("_req")
        .agg(pl.col("_at").alias(PAIR_KEY))
        .with_columns((pl.col("_req") - start).cast(pl.UInt32))
    )
    slots = pl.DataFrame({"_req": pl.int_range(height, dtype=pl.UInt32, eager=True)})
    return slots.join(listed, on="_req", how="left", maintain_order="left")[PAIR_KEY]


def settings_for(artefact: ModelArtefact, reference_size: int, options: ScoringOptions) -> dict[str, Any]:
    """The saved settings with the prior set for this reference file's size."""
    trained_size = int(artefact.metadata.get("reference_size", reference_size))
    settings = scaled_settings(artefact.settings, trained_size, reference_size)
    share = min(max(options.prior_in_file_share, 1e-6), 1.0)
    settings["probability_two_random_records_match"] = share / max(reference_size, 1)
    return settings


def _connect(options: ScoringOptions) -> tuple[duckdb.DuckDBPyConnection, Path | None]:
    path: Path | None = None
    if options.work_dir is not None:
        path = Path(tempfile.mkdtemp(prefix="ftigate-score-", dir=options.work_dir)) / "score.duckdb"
    con = duckdb.connect(str(path) if path else ":memory:")
    if options.memory_limit:
        con.execute(f"SET memory_limit = '{options.memory_limit}'")
    if options.threads:
        con.execute(f"SET threads = {int(options.threads)}")
    con.execute("SET preserve_insertion_order = false")
    return con, path


def score_candidates(
    requests: pl.DataFrame,
    reference: Reference,
    artefact: ModelArtefact,
    options: ScoringOptions | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    inspections: InspectionLog | None = None,
) -> pl.DataFrame:
    """Every blocked (request, taxpayer) pair with its probability, per-field levels and
    weights, and `request_row` (the request's position in `requests`).

    Requests are scored in chunks of `options.request_chunk_rows`; each chunk is handed
    only the taxpayers some blocking rule pairs with one of its requests (found once for
    the whole batch by `blocked_pairs`). Term frequencies and the prior come from the whole
    reference. `progress` receives the number of requests scored after each chunk.

    `inspections.searching` is told every chunk's request ids before the search: blocking
    (`blocked_pairs`) searches the taxpayer file for the whole batch at once, so every
    chunk's search starts there; `inspections.read` gets each chunk's candidates after it
    is scored, and `inspections.inspected` is waited for before the candidates are returned."""
    options = options or ScoringOptions()
    frequencies = {column: term_frequencies(reference.people, column) for column in TF_COLUMNS}
    size = max(1, options.request_chunk_rows)
    if inspections is not None:
        for start in range(0, requests.height, size):
            inspections.searching(requests["unique_id"].slice(start, size))
    pairs = blocked_pairs(requests, reference.people)
    scored_people = reference.people.select(SCORED_COLUMNS)
    parts = []
    for start in range(0, max(requests.height, 1), size):
        chunk = requests.slice(start, size)
        chunk_pairs = pairs.filter(pl.col("_req").is_between(start, start + size - 1))
        rows = chunk_pairs["_row"].unique().sort()
        people = scored_people[rows].with_columns(
            pl.concat_list(pl.int_range(pl.len(), dtype=pl.UInt32)).alias(PAIR_KEY)
        )
        keyed = chunk.select(SCORED_COLUMNS).with_columns(
            candidate_keys(chunk_pairs, rows, start, chunk.height)
        )
        scored = _score_chunk(keyed, people, reference.size, artefact, options, frequencies)
        positions = chunk.select(
            pl.col("unique_id").alias("request_id"),
            pl.int_range(start, start + chunk.height, dtype=pl.UInt32).alias("request_row"),
        )
        parts.append(scored.join(positions, on="request_id"))
        if inspections is not None and chunk.height:
            inspections.read(chunk["unique_id"], parts[-1])
        if progress:
            progress(chunk.height)
    if inspections is not None:
        inspections.inspected()  # nothing is decided on a search whose reading is unrecorded
    return pl.concat(parts, how="vertical_relaxed") if len(parts) > 1 else parts[0]


def _score_chunk(
    requests: pl.DataFrame,
    people: pl.DataFrame,
    reference_size: int,
    artefact: ModelArtefact,
    options: ScoringOptions,
    frequencies: dict[str, pl.DataFrame],
) -> pl.DataFrame:
    con, path = _connect(options)
    try:
        db_api = DuckDBAPI(connection=con)
        columns = (*SCORED_COLUMNS, PAIR_KEY)
        left = db_api.register(model_input(requests, columns).to_arrow(), table_name="requests")
        right = db_api.register(model_input(people, columns).to_arrow(), table_name="taxpayers")
        settings = settings_for(artefact, reference_size, options)
        # Set in the settings, not passed to predict_between: the Linker checks the settings'
        # rules against the input columns, and the model's rules read columns not handed here.
        settings["blocking_rules_to_generate_predictions"] = [PAIR_RULE]
        linker = Linker([left, right], settings)
        for column in TF_COLUMNS:
            tf = db_api.register(frequencies[column].to_arrow(), table_name=f"tf_lookup_{column}")
            linker.table_management.register_term_frequency_lookup(tf, column)
        predictions = linker.inference.predict_between(left, right, warning_mode="never")
        weights = ", ".join(_weight_sql(f) for f in FIELDS)
        levels = ", ".join(f"mw_{f}" for f in FIELDS)
        relation = con.sql(
            f"SELECT unique_id_l AS request_id, unique_id_r AS tin, match_weight, match_probability, "
            f"{weights}, {levels} FROM {predictions.physical_name}"
        )
        scored = pl.from_arrow(relation.to_arrow_table())
        assert isinstance(scored, pl.DataFrame)
        return with_levels(scored, settings)
    finally:
        con.close()
        if path is not None:
            # the chunk's pairs are taxpayer data: nothing is left behind in --work-dir
            shutil.rmtree(path.parent, ignore_errors=True)


BLOCKING_COLUMNS = (
    "tin", "prior_itin", "first_name", "last_name", "dob", "zips", "name_zip_keys", "addr_keys",
    "variant_keys", "house_initial_keys", "near_keys",
)  # fmt: skip


def blocked_pairs(requests: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    """_req, _row: the (request row, taxpayer row) pairs some blocking rule
    (`model.blocking_rules`) makes, each once (`pairs_by_rule` says which rule)."""
    return pairs_by_rule(requests, people).select("_req", "_row").unique()


def pairs_by_rule(requests: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    """_req, _row, rule: every (request row, taxpayer row) pair each blocking rule makes.

    Splink finds exactly these pairs among the taxpayers it is given; handing each chunk
    only its own taxpayers spares it joining, exploding and holding millions that pair
    with none of its requests. Rules: same TIN; request TIN = taxpayer's prior ITIN; same
    first name and date of birth; given and family names swapped; same surname and date of
    birth; same date of birth and a shared ZIP; a shared surname-Soundex|ZIP key; a shared
    address key; a shared variant key (number|name|unit|ZIP or city); a shared house
    number|ZIP|initial key; a shared near key (number|unit|ZIP|a street-name fragment).
    NULLs and empty lists pair with nothing, as in Splink's blocking. The taxpayer side is
    first cut to rows sharing some value with some request (semi-joins), so the pairs are
    built from small frames."""
    req = requests.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_req"), *BLOCKING_COLUMNS)
    index = people.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"), *BLOCKING_COLUMNS)
    found: list[pl.DataFrame] = []

    def add(rule: str, pairs: pl.DataFrame) -> None:
        found.append(pairs.select("_req", "_row", pl.lit(rule).alias("rule")))

    def equal(rule: str, left: list[str], right: list[str]) -> None:
        wanted = req.select("_req", *[pl.col(c).alias(f"_k{i}") for i, c in enumerate(left)]).drop_nulls()
        keys = [f"_k{i}" for i in range(len(left))]
        held = index.select("_row", *[pl.col(c).alias(f"_k{i}") for i, c in enumerate(right)]).drop_nulls()
        held = held.join(wanted.select(keys).unique(), on=keys, how="semi")
        add(rule, held.join(wanted, on=keys))

    equal("tin", ["tin"], ["tin"])
    equal("former_itin", ["tin"], ["prior_itin"])
    equal("first_name_dob", ["first_name", "dob"], ["first_name", "dob"])
    equal("names_swapped", ["first_name", "last_name"], ["last_name", "first_name"])
    equal("last_name_dob", ["last_name", "dob"], ["last_name", "dob"])
    dob_zip = req.select("_req", "dob", pl.col("zips").alias("_zip")).explode("_zip").drop_nulls()
    held = index.select("_row", "dob", "zips").drop_nulls("dob")
    held = held.join(dob_zip.select("dob").unique(), on="dob", how="semi")
    held = held.explode("zips").drop_nulls("zips").rename({"zips": "_zip"})
    add("dob_zip", held.join(dob_zip, on=["dob", "_zip"]))
    for column in ("name_zip_keys", "addr_keys", "variant_keys", "house_initial_keys", "near_keys"):
        keys = req.select("_req", pl.col(column).alias("_key")).explode("_key").drop_nulls("_key")
        exploded = index.select("_row", pl.col(column).alias("_key")).explode("_key").drop_nulls("_key")
        held = exploded.join(keys.select("_key").unique(), on="_key", how="semi")
        add(column.removesuffix("_keys"), held.join(keys, on="_key"))
    return pl.concat(found)


def _weight_sql(field_name: str) -> str:
    """The field's match weight (bits), with its term-frequency adjustment where it has one."""
    tf = f" + coalesce(mw_tf_adj_{field_name}, 0)" if field_name in TF_COLUMNS else ""
    return f"mw_{field_name}{tf} AS w_{field_name}"


def level_weights(settings: dict[str, Any]) -> dict[str, list[tuple[int, float]]]:
    """Per comparison: (gamma, match weight) of each level (null level: gamma -1, weight 0)."""
    out: dict[str, list[tuple[int, float]]] = {}
    for comparison in settings["comparisons"]:
        levels = comparison["comparison_levels"]
        non_null = [lv for lv in levels if not lv.get("is_null_level")]
        pairs = [(-1, 0.0)] if len(non_null) < len(levels) else []
        for position, level in enumerate(non_null):
            m, u = float(level["m_probability"]), float(level["u_probability"])
            pairs.append((len(non_null) - 1 - position, math.log2(m / u)))
        out[comparison["output_column_name"]] = pairs
    return out


def with_levels(scored: pl.DataFrame, settings: dict[str, Any]) -> pl.DataFrame:
    """Recover each field's comparison level (gamma) from its base match weight.

    Splink 5's predict output carries per-field weights, not levels; the gates need
    levels, and within one comparison every level has its own weight."""
    columns = []
    for name, pairs in level_weights(settings).items():
        expr: pl.Expr = pl.lit(None, dtype=pl.Int32)
        for gamma, weight in sorted(pairs, key=lambda p: p[0]):
            expr = (
                pl.when((pl.col(f"mw_{name}") - weight).abs() < 1e-6)
                .then(pl.lit(gamma, dtype=pl.Int32))
                .otherwise(expr)
            )
        columns.append(expr.alias(f"gamma_{name}"))
    return scored.with_columns(columns).drop([f"mw_{f}" for f in FIELDS])


def empty_candidates() -> pl.DataFrame:
    schema: dict[str, Any] = {
        "request_id": pl.String,
        "request_row": pl.UInt32,
        "tin": pl.String,
        "match_weight": pl.Float64,
        "match_probability": pl.Float64,
    }
    schema |= {f"gamma_{f}": pl.Int32 for f in FIELDS}
    schema |= {f"w_{f}": pl.Float64 for f in FIELDS}
    return pl.DataFrame(schema=schema)


def probability_from_weight(weight: float) -> float:
    return 1.0 / (1.0 + math.pow(2.0, -weight))
