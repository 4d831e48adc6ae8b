"""Request batches: contract, deficiency rates and forms, hard cases, truth, determinism."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import cast

import polars as pl
import pytest
import yaml

from ftigate.synth import io
from ftigate.synth import reference as ref
from ftigate.synth.population import Population
from ftigate.synth.profiles import (
    ADDRESS_DEFICIENCIES,
    ADDRESS_FORMS,
    DEFICIENCY_CODES,
    HARD_CASE_LABELS,
    PROFILES,
)
from ftigate.synth.requests import (
    CIVIL_STATUTES,
    CRIMINAL_STATUTE,
    REQUEST_COLUMNS,
    RequestBatch,
    generate_requests,
)
from ftigate.synth.textops import name_control, strip_accents

STATE_CODES = {**{v.upper(): k for k, v in ref.STATE_NAMES.items()}, **{k: k for k in ref.STATE_NAMES}}

def mean(series: pl.Series) -> float:
    """Mean of a numeric or boolean series as a float (typed for mypy)."""
    return float(cast(float, series.cast(pl.Float64).mean()))



def _joined(batch: RequestBatch) -> pl.DataFrame:
    return batch.requests.join(batch.truth, on="request_id", how="inner", maintain_order="left")


def test_request_columns_ids_and_letter(all_batches: dict[str, RequestBatch]) -> None:
    for name, batch in all_batches.items():
        assert tuple(batch.requests.columns) == REQUEST_COLUMNS
        assert batch.requests["request_id"].is_unique().all()
        assert batch.requests["request_id"].str.contains(r"^R\d{7}$").all()
        assert len(batch.truth) == len(batch.requests)
        letter = batch.letter
        assert list(letter) == [
            "requesting_agency", "department", "signer", "date", "statute", "purpose",
            "officers", "record_count",
        ]  # fmt: skip
        assert letter["record_count"] == len(batch.requests)
        assert letter["statute"] == CRIMINAL_STATUTE
        assert set(batch.requests["officer"].unique()) == set(letter["officers"]), name
    assert len(all_batches["court-2025"].letter["officers"]) == 1
    clean = all_batches["clean"]
    assert len(clean.letter["officers"]) == math.ceil(len(clean.requests) / 25)


@pytest.mark.parametrize("profile", ["court-2025", "adversarial", "clean"])
def test_deficiency_shares_follow_the_profile(
    all_batches: dict[str, RequestBatch], profile: str
) -> None:
    truth = all_batches[profile].truth
    n = len(truth)
    counts = dict(truth["deficiency"].value_counts().iter_rows())
    for code, rate in PROFILES[profile].deficiency_rates().items():
        observed = counts.get(code, 0) / n
        tolerance = 4 * math.sqrt(max(rate * (1 - rate), 1e-12) / n) + 0.001
        assert abs(observed - rate) <= tolerance, (code, observed, rate)


def _zip5(column: str) -> pl.Expr:
    return pl.col(column).str.slice(0, 5)


def test_each_deficiency_has_its_form(adversarial_batch: RequestBatch) -> None:
    rows = _joined(adversarial_batch)
    zips = ref.zip_table()

    def of(code: str) -> pl.DataFrame:
        part = rows.filter(pl.col("deficiency") == code)
        assert len(part) > 20, code
        return part

    names = of("NAME_MISSING")
    first, last = pl.col("first_name"), pl.col("last_name")
    empty_names = (first == "") & (last == "")
    unknown = (first == last) & first.str.to_uppercase().is_in(["UNKNOWN", "N/A"])
    initials = (first.str.len_chars() == 1) & last.str.contains(r"^\p{L}\.$")
    assert names.select(empty_names | unknown | initials).to_series().all()
    empty = of("ADDRESS_MISSING").select(pl.concat_str(["street", "unit", "city", "state", "zip"]))
    assert (empty.to_series() == "").all()
    assert of("ADDRESS_PLACEHOLDER")["street"].is_in(list(ref.PLACEHOLDER_STREETS)).all()
    zip_only = of("ADDRESS_ZIP_ONLY")
    assert ((zip_only["street"] == "") | (zip_only["street"] == zip_only["zip"])).all()
    assert zip_only["zip"].str.contains(r"^\d{5}").all()
    incomplete = of("ADDRESS_INCOMPLETE")
    number_only = incomplete["street"].str.contains(r"^\d+$")
    name_only = ~incomplete["street"].str.contains(r"^\d+\s")
    assert (number_only | name_only).all()
    assert number_only.any() and name_only.any()
    assert (incomplete["city"] != "").all()
    facility_names = [f[0] for f in ref.FACILITIES]
    assert of("ADDRESS_FACILITY_NO_LOCATION")["street"].is_in(facility_names).all()
    invalid = of("ADDRESS_ZIP_INVALID").with_columns(
        real_state=_zip5("zip").replace_strict(zips.zip_state, default=None)
    )
    assert invalid["street"].str.contains(r"^(\d+ |PO Box|RR )").all()
    assert (invalid["real_state"].is_null() | (invalid["real_state"] != invalid["state"])).all()
    assert (of("PERIOD_MISSING")["taxable_periods"] == "").all()
    bad_periods = of("PERIOD_INVALID")["taxable_periods"].str.split(";").list.eval(
        pl.element().cast(pl.Int32, strict=False).is_between(1970, 2025).not_().fill_null(True)
    )
    assert bad_periods.list.any().all()
    assert (of("STATUTE_MISSING")["statute"] == "").all()
    assert of("STATUTE_NOT_CRIMINAL")["statute"].is_in(list(CIVIL_STATUTES)).all()
    assert of("STATUTE_TAX")["statute"].str.starts_with("26 U.S.C.").all()
    assert (of("REASON_MISSING")["reason"] == "").all()


def test_sufficient_records_are_complete_and_valid(all_batches: dict[str, RequestBatch]) -> None:
    zips = ref.zip_table()
    for name, batch in all_batches.items():
        ok = _joined(batch).filter(pl.col("deficiency").is_null())
        assert (ok["statute"] == CRIMINAL_STATUTE).all(), name
        assert (ok["reason"].str.len_chars() > 20).all()
        years = ok["taxable_periods"].str.split(";").list.eval(pl.element().cast(pl.Int32))
        assert years.list.min().ge(2019).all() and years.list.max().le(2024).all()
        assert (ok["last_name"].str.len_chars() > 0).all()
        assert ok["street"].str.contains(r"^(\d+ \S|PO Box \d|RR \d)").all()
        assert ok["zip"].str.contains(r"^\d{5}(-\d{4})?$").all()
        states = ok.select(
            pl.col("state").str.to_uppercase().replace_strict(STATE_CODES, default=None),
            _zip5("zip").replace_strict(zips.zip_state, default=None).alias("zip_state"),
        )
        assert (states["state"] == states["zip_state"]).all(), name


def test_valid_address_forms_appear_in_sufficient_records(adversarial_batch: RequestBatch) -> None:
    ok = _joined(adversarial_batch).filter(pl.col("deficiency").is_null())
    checks = {
        "po box": ok["street"].str.starts_with("PO Box "),
        "rural route": ok["street"].str.contains(r"^RR \d+ Box \d+$"),
        "unit": ok["unit"] != "",
        "zip+4": ok["zip"].str.contains(r"-\d{4}$"),
        "full state": ok["state"].str.len_chars() > 2,
        "accent": ok["street"].str.contains(r"[ñéíóáú]"),
        "spanish": ok["street"].str.contains(r"Calle|Camino|Avenida"),
        "dashed tin": ok["tin"].str.contains(r"^\d{3}-\d{2}-\d{4}$"),
        "accented name": ok["last_name"].str.contains(r"[^\x00-\x7F]"),
    }
    for label, present in checks.items():
        assert present.any(), label


def test_every_hard_case_label_is_present(
    all_batches: dict[str, RequestBatch], population: Population
) -> None:
    adversarial = all_batches["adversarial"].truth
    counts = dict(adversarial["hard_cases"].explode().drop_nulls().value_counts().iter_rows())
    for label in HARD_CASE_LABELS:
        assert counts.get(label, 0) >= 50, (label, counts.get(label))
    n = len(adversarial)
    for label in ("not_in_file", "namesake_household", "shared_address"):
        assert counts[label] / n >= PROFILES["adversarial"].identity_rates()[label] * 0.9
    # Borrowed-SSN and ITIN-to-SSN requests are capped by how many such people a small
    # population holds.
    pools = {
        "borrowed_ssn": len(population.borrowers),
        "itin_to_ssn": int(population.taxpayers["prior_itin"].is_not_null().sum()),
    }
    for label, pool in pools.items():
        wanted = PROFILES["adversarial"].identity_rates()[label] * n
        assert counts[label] >= 0.9 * min(wanted, pool), label
    court = all_batches["court-2025"].truth
    court_counts = dict(court["hard_cases"].explode().drop_nulls().value_counts().iter_rows())
    assert court_counts["not_in_file"] / len(court) == pytest.approx(0.92, abs=0.01)
    assert court_counts["borrowed_ssn"] > 0


def test_truth_refers_to_real_people_and_their_newest_address(
    all_batches: dict[str, RequestBatch], population: Population, addresses: pl.DataFrame
) -> None:
    own = addresses.filter(pl.col("name_on_return").is_null())
    newest = own.sort("tax_year").group_by("tin").last()
    known = set(population.taxpayers["tin"].to_list())
    for name, batch in all_batches.items():
        truth = batch.truth
        in_file = truth.filter("in_file")
        assert in_file["true_tin"].is_not_null().all()
        assert set(in_file["true_tin"].to_list()) <= known
        assert truth.filter(~pl.col("in_file"))["true_tin"].is_null().all()
        lawful = truth.filter("lawful_disclosure").join(
            newest, left_on="true_tin", right_on="tin", how="left"
        )
        for column in ("street", "unit", "city", "state", "zip"):
            assert (lawful[f"expected_{column}"] == lawful[column]).all(), (name, column)
        unlawful = truth.filter(~pl.col("lawful_disclosure"))
        assert unlawful["expected_street"].is_null().all()
        recomputed = truth.select(
            pl.col("record_sufficient") & pl.col("in_file") & pl.col("address_on_file")
        ).to_series()
        assert (recomputed == truth["lawful_disclosure"]).all()
        assert (truth["record_sufficient"] == truth["deficiency"].is_null()).all()


def _street_key(column: str) -> pl.Expr:
    return strip_accents(pl.col(column)).str.to_uppercase().str.replace_all(r"\s+", " ")


def test_address_on_file_is_correct(
    all_batches: dict[str, RequestBatch], addresses: pl.DataFrame
) -> None:
    held = addresses.filter(pl.col("name_on_return").is_null()).select(
        pl.col("tin").alias("true_tin"),
        _street_key("street").alias("street_key"),
        pl.col("unit").alias("unit_key"),
        pl.col("zip").alias("zip_key"),
        pl.lit(True).alias("held"),
    ).unique()
    for name, batch in all_batches.items():
        rows = _joined(batch).filter(pl.col("in_file")).with_columns(
            _street_key("street").alias("street_key"),
            pl.col("unit").alias("unit_key"),
            _zip5("zip").alias("zip_key"),
            # a typo or another way of writing the same home is not the line held
            pl.col("hard_cases")
            .list.set_intersection(["typo_address", *ADDRESS_FORMS])
            .list.len()
            .gt(0)
            .alias("typo_address"),
        )
        checked = rows.join(
            held, on=["true_tin", "street_key", "unit_key", "zip_key"], how="left"
        ).with_columns(pl.col("held").fill_null(False))
        exact = checked.filter(~pl.col("typo_address"))
        assert (exact["held"] == exact["address_on_file"]).all(), name
        typos = checked.filter(pl.col("typo_address"))
        assert (~typos["held"]).all(), name
        elsewhere = typos["hard_cases"].list.contains("address_not_on_file")
        assert (typos["address_on_file"] | elsewhere).all()
    clean = all_batches["clean"].truth
    assert clean["in_file"].all() and clean["address_on_file"].all()
    assert clean["record_sufficient"].all() and clean["lawful_disclosure"].all()


def test_tin_name_match_matches_the_reference(
    court_batch: RequestBatch, population: Population
) -> None:
    rows = _joined(court_batch).with_columns(
        pl.col("tin").str.replace_all("-", "").alias("tin_digits")
    )
    checked = rows.join(
        population.taxpayers.select(pl.col("tin").alias("tin_digits"), pl.col("last_name").alias("ref_last")),
        on="tin_digits",
        how="left",
    ).with_columns(
        expected=(
            pl.col("ref_last").is_not_null()
            & (name_control(pl.col("last_name")) == name_control(pl.col("ref_last")))
            & (name_control(pl.col("last_name")) != "")
        ).fill_null(False)
    )
    assert (checked["expected"] == checked["tin_name_match"]).all()
    borrowed = checked.filter(pl.col("hard_cases").list.contains("borrowed_ssn"))
    assert mean(borrowed["tin_name_match"]) < 0.2


def test_court_2025_tin_route_discloses_about_nine_unlawful_per_lawful(
    court_batch: RequestBatch,
) -> None:
    """42,695 of 47,289 disclosures were unlawful: about 9.3 unlawful per lawful."""
    truth = court_batch.truth
    route = truth.filter(pl.col("tin_name_match") & pl.col("address_zip_shaped"))
    lawful = int(route["lawful_disclosure"].sum())
    unlawful = len(route) - lawful
    assert lawful > 50
    assert 7.0 <= unlawful / lawful <= 12.5, (unlawful, lawful)
    # The file is mostly people who cannot be found, as in the court record.
    assert mean(truth["in_file"]) < 0.15
    assert 0.02 <= len(route) / len(truth) <= 0.06


def test_surname_bands(all_batches: dict[str, RequestBatch]) -> None:
    court = all_batches["court-2025"].truth
    bands = set(court["surname_band"].unique())
    assert bands <= {"hispanic_high", "hispanic_mid", "other", "unknown"}
    not_in_file = court.filter(~pl.col("in_file"))
    share = mean(not_in_file["surname_band"] == "hispanic_high")
    assert share is not None and share > 0.5
    clean = all_batches["clean"].truth
    assert mean(clean["surname_band"] == "other") > 0.6


def test_boilerplate_reason_share(court_batch: RequestBatch) -> None:
    ok = _joined(court_batch).filter(pl.col("deficiency").is_null())
    top = ok["reason"].value_counts(sort=True).row(0)
    assert top[1] / len(ok) == pytest.approx(PROFILES["court-2025"].boilerplate_reason, abs=0.03)
    specific = ok.filter(pl.col("reason") != top[0])
    assert specific["reason"].is_unique().all()
    assert specific["reason"].str.contains("ordered removed on \\d{4}-\\d{2}-\\d{2}").all()


def _digest(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())
    }


def test_request_files_are_deterministic(population_dir: Path, tmp_path: Path) -> None:
    loaded = io.read_population(population_dir)
    profile = PROFILES["adversarial"]
    for name, seed in (("a", 9), ("b", 9), ("c", 10)):
        batch = generate_requests(loaded, 3_000, profile, seed, "adversarial")
        io.write_request_batch(batch, tmp_path / name, profile)
    first, second, third = (_digest(tmp_path / n) for n in "abc")
    assert first == second
    assert first["requests.csv"] != third["requests.csv"]
    assert first["truth.parquet"] != third["truth.parquet"]
    letter = yaml.safe_load((tmp_path / "a" / "letter.yaml").read_text())
    assert letter["record_count"] == 3_000
    assert str(letter["date"]) == "2025-06-27"
    written = pl.read_csv(tmp_path / "a" / "requests.csv", infer_schema=False)
    assert tuple(written.columns) == REQUEST_COLUMNS
    truth = pl.read_parquet(tmp_path / "a" / "truth.parquet")
    assert truth.schema["hard_cases"] == pl.List(pl.String)


def test_requests_never_reference_unknown_deficiency_codes(
    all_batches: dict[str, RequestBatch],
) -> None:
    for batch in all_batches.values():
        codes = set(batch.truth["deficiency"].drop_nulls().unique())
        assert codes <= set(DEFICIENCY_CODES)
        address_rows = batch.truth.filter(pl.col("deficiency").is_in(list(ADDRESS_DEFICIENCIES)))
        assert (~address_rows["address_on_file"]).all()
