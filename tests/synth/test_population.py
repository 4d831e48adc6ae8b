"""The synthetic taxpayer file: structure, realism and determinism."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import cast

import polars as pl
import pytest

from ftigate.synth import io
from ftigate.synth import reference as ref
from ftigate.synth.population import Population, generate_population
from ftigate.synth.textops import strip_accents
from ftigate.synth.tins import is_valid_itin, is_valid_ssn


def mean(series: pl.Series) -> float:
    """Mean of a numeric or boolean series as a float (typed for mypy)."""
    return float(cast(float, series.cast(pl.Float64).mean()))



def test_tins_are_unique_and_structurally_valid(population: Population) -> None:
    taxpayers = population.taxpayers
    assert taxpayers["tin"].is_unique().all()
    assert taxpayers["tin"].str.contains(r"^\d{9}$").all()
    checks = taxpayers.select(
        ssn_ok=pl.when(pl.col("tin_type") == "SSN").then(is_valid_ssn(pl.col("tin"))),
        itin_ok=pl.when(pl.col("tin_type") == "ITIN").then(is_valid_itin(pl.col("tin"))),
        prior_ok=pl.when(pl.col("prior_itin").is_not_null()).then(
            is_valid_itin(pl.col("prior_itin"))
        ),
    )
    for column in checks.columns:
        assert checks[column].drop_nulls().all(), column
    priors = set(taxpayers["prior_itin"].drop_nulls().to_list())
    assert priors, "some SSN holders must have held an ITIN"
    assert not priors & set(taxpayers["tin"].to_list())
    assert (taxpayers.filter(pl.col("prior_itin").is_not_null())["tin_type"] == "SSN").all()
    assert taxpayers["tin"].is_sorted()


def test_itin_subpopulation_is_a_few_percent_and_mostly_hispanic_named(
    population: Population,
) -> None:
    taxpayers = population.taxpayers
    itin_share = mean(taxpayers["tin_type"] == "ITIN")
    assert itin_share is not None and 0.015 <= itin_share <= 0.05
    lookup = ref.surname_hispanic_lookup()
    first_surname = taxpayers.select(
        pl.col("tin_type"),
        strip_accents(pl.col("last_name"))
        .str.replace_all("-", " ")
        .str.split(" ")
        .list.first()
        .alias("surname_key"),
    ).join(lookup, on="surname_key", how="left")
    itin_hispanic = mean(first_surname.filter(pl.col("tin_type") == "ITIN")["p_hispanic"])
    ssn_hispanic = mean(first_surname.filter(pl.col("tin_type") == "SSN")["p_hispanic"])
    assert itin_hispanic is not None and itin_hispanic > 0.6
    assert ssn_hispanic is not None and ssn_hispanic < 0.3


@pytest.mark.parametrize("surname", ["SMITH", "JOHNSON", "WILLIAMS", "JONES", "BROWN", "DAVIS"])
def test_top_surname_shares_follow_the_census(population: Population, surname: str) -> None:
    """Shares match per_100k renormalised over the listed names (which cover 79.6% of
    people), within 15% relative; the ITIN subpopulation is Hispanic-weighted on top."""
    table = ref.surname_table()
    total = table.weight_all.sum()
    expected = float(table.weight_all[table.names.to_list().index(surname)] / total)
    first_tokens = population.taxpayers.select(
        strip_accents(pl.col("last_name")).str.replace_all("-", " ").str.split(" ").list.first()
    ).to_series()
    observed = (mean(first_tokens == surname))
    assert observed == pytest.approx(expected, rel=0.15)


def test_common_hispanic_surnames_collide_often(population: Population) -> None:
    first_tokens = population.taxpayers.select(
        strip_accents(pl.col("last_name")).str.replace_all("-", " ").str.split(" ").list.first()
    ).to_series()
    garcia = (mean(first_tokens == "GARCIA"))
    census = 254.0 / ref.surname_table().weight_all.sum()
    assert census * 0.85 <= garcia <= census * 2.0


def test_addresses_use_real_zip_codes_agreeing_with_city_and_state(
    addresses: pl.DataFrame,
) -> None:
    zips = ref.zip_table()
    standard = pl.DataFrame({"zip": zips.zip, "city": zips.city, "state": zips.state})
    distinct = addresses.select("zip", "city", "state").unique()
    joined = distinct.join(standard, on=["zip", "city", "state"], how="left", coalesce=True)
    matched = distinct.join(standard, on=["zip", "city", "state"], how="semi")
    assert len(matched) == len(distinct) == len(joined)
    assert distinct["state"].n_unique() >= 45


def test_address_history_newest_year_is_unique_and_movers_exist(
    population: Population, addresses: pl.DataFrame
) -> None:
    own = addresses.filter(pl.col("name_on_return").is_null())
    assert own["tin"].n_unique() == len(population.taxpayers)
    per_year = own.group_by("tin", "tax_year").len()
    assert (per_year["len"] == 1).all()
    years = own.group_by("tin").agg(pl.len().alias("rows"), pl.col("street").n_unique())
    assert mean(years["rows"]) >= 2.5
    mover_share = mean(years["street"] > 1)
    assert mover_share is not None and 0.15 <= mover_share <= 0.5
    assert set(addresses["source"].unique()) == {"1040", "W-2", "1099-NEC"}


def test_borrowed_ssn_w2_rows_name_other_people(
    population: Population, addresses: pl.DataFrame
) -> None:
    borrowed = addresses.filter(pl.col("name_on_return").is_not_null())
    assert len(borrowed) >= 100
    assert (borrowed["source"] == "W-2").all()
    owners = borrowed.join(population.taxpayers, on="tin")
    assert (owners["tin_type"] == "SSN").all()
    owner_names = owners["first_name"] + " " + owners["last_name"]
    assert mean(owner_names != owners["name_on_return"]) > 0.95
    newest = addresses.filter(pl.col("name_on_return").is_null()).group_by("tin").agg(
        pl.col("tax_year").max().alias("newest")
    )
    years = borrowed.join(newest, on="tin")
    assert (years["tax_year"] < years["newest"]).all()
    assert population.borrowers["own_tin"].is_not_null().sum() > 0


def test_street_forms_look_like_us_addresses(addresses: pl.DataFrame) -> None:
    streets = addresses["street"].unique()
    assert mean(streets.str.contains(r"^\d+ ")) > 0.95
    for pattern in (r"^PO Box \d+$", r"^RR \d+ Box \d+$", r"^\d+ (N|S|E|W) ", r"Calle", r"ñ|é|í"):
        assert streets.str.contains(pattern).any(), pattern
    units = addresses["unit"].unique()
    assert units.str.contains(r"^Apt \d+[A-H]?$").any()
    assert units.str.contains(r"^(Unit|#) \d+$").any()


def test_households_hold_namesakes_shared_houses_and_common_names(
    population: Population,
) -> None:
    people = population.people
    assert people["namesake"].sum() >= 200
    assert people["shared_house"].sum() >= 1000
    assert people["common_name_same_building"].sum() >= 100
    pairs = population.taxpayers.with_columns(people["location_id"]).filter(people["namesake"])
    by_home = pairs.group_by("location_id").agg(
        pl.col("first_name").n_unique(), pl.col("suffix").sort().str.join(",")
    )
    assert (by_home["first_name"] == 1).all()
    assert by_home["suffix"].is_in(["JR,SR", ","]).all()
    assert (people["adults_at_address"] >= 4).sum() > 0


def _digest(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())
    }


def test_same_seed_same_bytes_different_seed_different_data(tmp_path: Path) -> None:
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        io.write_population(generate_population(20_000, seed), tmp_path / name)
    first, second, third = (_digest(tmp_path / n) for n in "abc")
    assert first == second
    assert first["taxpayers.parquet"] != third["taxpayers.parquet"]
    assert first["addresses.parquet"] != third["addresses.parquet"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_written_population_reads_back(population_dir: Path, population: Population) -> None:
    loaded = io.read_population(population_dir)
    assert loaded.taxpayers.equals(population.taxpayers)
    assert loaded.people.equals(population.people)
    written = pl.read_parquet(population_dir / "addresses.parquet")
    assert written.columns[:8] == [
        "tin", "street", "unit", "city", "state", "zip", "tax_year", "source",
    ]  # fmt: skip
    assert pl.read_parquet(population_dir / "taxpayers.parquet").schema["date_of_birth"] == pl.Date


def test_failed_write_leaves_nothing(tmp_path: Path, population: Population) -> None:
    class Boom(RuntimeError):
        pass

    def explode(step: str) -> None:
        if step == "write addresses":
            raise Boom

    with pytest.raises(Boom):
        io.write_population(population, tmp_path / "pop", on_step=explode)
    assert list(tmp_path.iterdir()) == []
