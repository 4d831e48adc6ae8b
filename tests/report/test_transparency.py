"""The public transparency report: counts, small-cell and complementary suppression
(nothing below the threshold, nothing recoverable by subtraction), files and HTML."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import typer
from report_fixtures import check_html
from scipy.optimize import linprog
from typer.testing import CliRunner

from ftigate.cli.report import transparency
from ftigate.report.suppression import Line, determined_cells, suppress
from ftigate.report.transparency import ALL, build_tables, records_from_decision_files, write_transparency
from ftigate_testkit import BASE_LETTER, merge, write_letter

runner = CliRunner()
THRESHOLD = 10


def _decisions(path: Path, counts: dict[str, int], reasons: dict[str, list[str]], start: int = 0) -> Path:
    rows, n = [], start
    for decision, count in counts.items():
        for _ in range(count):
            n += 1
            rows.append(
                {
                    "request_id": f"R{n:06d}",
                    "decision": decision,
                    "reasons": ";".join(reasons.get(decision, [])),
                }
            )
    pl.DataFrame(rows).write_csv(path)
    return path


@pytest.fixture
def batches(tmp_path: Path) -> list[tuple[Path, Path]]:
    """Four agencies, one of them with two letters under different statutes, some tiny."""
    specs = [
        (
            "U.S. Immigration and Customs Enforcement",
            "8 U.S.C. 1253(a)(1)",
            {"disclose": 480, "refuse": 1300, "review": 45},
            {"refuse": ["ADDRESS_PLACEHOLDER", "ADDRESS_ZIP_ONLY"]},
        ),
        (
            "U.S. Immigration and Customs Enforcement",
            "18 U.S.C. 1546",
            {"disclose": 12, "refuse": 4, "review": 0},
            {"refuse": ["ADDRESS_INCOMPLETE"]},
        ),
        (
            "Drug Enforcement Administration",
            "21 U.S.C. 841",
            {"disclose": 25, "refuse": 3, "review": 1},
            {"refuse": ["REASON_MISSING"]},
        ),
        (
            "Federal Bureau of Investigation",
            "18 U.S.C. 1343",
            {"disclose": 7, "refuse": 31, "review": 2},
            {"refuse": ["ADDRESS_PLACEHOLDER"]},
        ),
        (
            "Department of Labor",
            "18 U.S.C. 1001",
            {"disclose": 40, "refuse": 15, "review": 0},
            {"refuse": ["PERIOD_MISSING"]},
        ),
    ]
    pairs = []
    for i, (agency, statute, counts, reasons) in enumerate(specs):
        letter = write_letter(
            tmp_path / f"letter{i}.yaml",
            merge(
                BASE_LETTER,
                {
                    "requesting_agency": agency,
                    "statute": statute,
                    "purpose": f"Investigation under {statute}",
                },
            ),
        )
        pairs.append((letter, _decisions(tmp_path / f"decisions{i}.csv", counts, reasons, start=i * 10_000)))
    # A letter from another year is left out.
    other = write_letter(tmp_path / "letter-2024.yaml", merge(BASE_LETTER, {"date": "2024-03-01"}))
    pairs.append((other, _decisions(tmp_path / "decisions-2024.csv", {"disclose": 99}, {})))
    return pairs


def _published(rows: pl.DataFrame) -> dict[tuple[str, str, str, str, str], int | None]:
    return {
        (r["table"], r["agency"], r["statute"] or "", r["reason"] or "", r["measure"]): (
            None if r["status"] == "suppressed" else int(r["value"])
        )
        for r in rows.iter_rows(named=True)
    }


def _equations(cells: dict[tuple[str, str, str, str, str], int | None]) -> list[tuple[list[tuple], tuple]]:
    """Every sum a reader can form from the table semantics (written here independently)."""
    eqs: list[tuple[list[tuple], tuple]] = []
    agencies = sorted({k[1] for k in cells if k[0] == "by_agency" and k[1] != ALL})
    for agency in [*agencies, ALL]:
        eqs.append(
            (
                [("by_agency", agency, "", "", m) for m in ("disclosed", "refused", "review")],
                ("by_agency", agency, "", "", "records"),
            )
        )
    for m in ("letters", "records", "disclosed", "refused", "review"):
        eqs.append(([("by_agency", a, "", "", m) for a in agencies], ("by_agency", ALL, "", "", m)))
    statutes = defaultdict(set)
    for k in cells:
        if k[0] == "by_agency_statute":
            statutes[k[1]].add(k[2])
    for agency, names in statutes.items():
        for s in names:
            eqs.append(
                (
                    [("by_agency_statute", agency, s, "", m) for m in ("disclosed", "refused", "review")],
                    ("by_agency_statute", agency, s, "", "records"),
                )
            )
        for m in ("records", "disclosed", "refused", "review"):
            eqs.append(
                ([("by_agency_statute", agency, s, "", m) for s in names], ("by_agency", agency, "", "", m))
            )
    reasons = {k[3] for k in cells if k[0] == "refusals_by_reason"}
    for reason in reasons:
        eqs.append(
            (
                [("refusals_by_reason", a, "", reason, "refused_citing_reason") for a in agencies],
                ("refusals_by_reason", ALL, "", reason, "refused_citing_reason"),
            )
        )
    return eqs


def _recoverable(cells: dict[tuple, int | None]) -> list[tuple]:
    """Hidden cells whose value is fixed by the published cells and the sums (an LP per
    hidden cell: minimise and maximise it subject to the equations and non-negativity)."""
    hidden = sorted(k for k, v in cells.items() if v is None)
    index = {k: i for i, k in enumerate(hidden)}
    a_eq, b_eq = [], []
    for parts, total in _equations(cells):
        row, rhs = np.zeros(len(hidden)), 0.0
        for part in parts:
            if part in index:
                row[index[part]] += 1
            else:
                rhs -= cells[part] or 0
        if total in index:
            row[index[total]] -= 1
        else:
            rhs += cells[total] or 0
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)
    # Inequalities a reader also knows: refused records citing a reason <= records refused;
    # taxpayers <= instances of disclosure.
    a_ub, b_ub = [], []
    pairs = [
        (
            ("refusals_by_reason", k[1], "", k[3], "refused_citing_reason"),
            ("by_agency", k[1], "", "", "refused"),
        )
        for k in cells
        if k[0] == "refusals_by_reason"
    ]
    pairs += [
        (("by_agency", k[1], "", "", "taxpayers"), ("by_agency", k[1], "", "", "disclosed"))
        for k in cells
        if k[0] == "by_agency" and k[4] == "taxpayers"
    ]
    for small, large in pairs:
        row, rhs = np.zeros(len(hidden)), 0.0
        if small in index:
            row[index[small]] += 1
        else:
            rhs -= cells[small] or 0
        if large in index:
            row[index[large]] -= 1
        else:
            rhs += cells[large] or 0
        if row.any():
            a_ub.append(row)
            b_ub.append(rhs)
    ub = {"A_ub": np.array(a_ub), "b_ub": np.array(b_ub)} if a_ub else {}
    found = []
    for cell, i in index.items():
        objective = np.zeros(len(hidden))
        objective[i] = 1
        low = linprog(objective, A_eq=np.array(a_eq), b_eq=np.array(b_eq), bounds=(0, None), **ub)
        high = linprog(-objective, A_eq=np.array(a_eq), b_eq=np.array(b_eq), bounds=(0, None), **ub)
        assert low.success and (high.success or high.status == 3)  # 3: unbounded above, so not pinned
        if high.success and abs(-high.fun - low.fun) < 1e-6:
            found.append(cell)
    return found


def test_counts_and_suppression(batches: list[tuple[Path, Path]], tmp_path: Path) -> None:
    records = records_from_decision_files(batches, 2025)
    assert records.height == 1965  # the 2024 letter is not counted
    out = tmp_path / "public"
    write_transparency(
        records, out, period=2025, as_of=date(2026, 1, 31), threshold=THRESHOLD, source="test", code_info={}
    )
    csv = pl.read_csv(out / "transparency-2025.csv", infer_schema=False)
    cells = _published(csv)
    # Nothing published between 1 and threshold-1.
    # (Letters count agencies' documents, not people, and are always published.)
    people = {k: v for k, v in cells.items() if k[4] != "letters"}
    assert all(v is None or v == 0 or v >= THRESHOLD for v in people.values())
    assert all(v is not None for k, v in cells.items() if k[4] == "letters")
    # The big numbers are published and right.
    assert cells[("by_agency", "U.S. Immigration and Customs Enforcement", "", "", "records")] == 1841
    assert cells[("by_agency", ALL, "", "", "records")] == 1965
    # Small cells are hidden, with complements, and none can be recovered.
    assert cells[("by_agency", "Drug Enforcement Administration", "", "", "refused")] is None
    hidden = [k for k, v in cells.items() if v is None]
    assert len(hidden) >= 6
    for parts, total in _equations(cells):
        assert sum(1 for c in [*parts, total] if cells[c] is None) != 1
    assert _recoverable(cells) == []
    schema = json.loads((out / "transparency-2025.schema.json").read_text())
    assert schema["accurate_as_of"] == "2026-01-31" and schema["suppression_threshold"] == THRESHOLD


def test_the_recoverability_check_can_fail() -> None:
    """The LP check finds a cell pinned by subtraction when complements are missing."""
    cells = {
        ("by_agency", "A", "", "", "records"): 20,
        ("by_agency", "A", "", "", "disclosed"): None,
        ("by_agency", "A", "", "", "refused"): 15,
        ("by_agency", "A", "", "", "review"): 0,
        ("by_agency", ALL, "", "", "records"): 20,
        ("by_agency", ALL, "", "", "disclosed"): 5,
        ("by_agency", ALL, "", "", "refused"): 15,
        ("by_agency", ALL, "", "", "review"): 0,
        **{(t, a, "", "", "letters"): 1 for t, a in (("by_agency", "A"), ("by_agency", ALL))},
    }
    assert _recoverable(cells) == [("by_agency", "A", "", "", "disclosed")]


def test_html_is_valid_and_says_how(batches: list[tuple[Path, Path]], tmp_path: Path) -> None:
    records = records_from_decision_files(batches, 2025)
    out = tmp_path / "public"
    written = write_transparency(
        records,
        out,
        period=2025,
        as_of=date(2026, 1, 31),
        threshold=THRESHOLD,
        source="test",
        code_info={
            "ADDRESS_PLACEHOLDER": {"message": "not an address", "citation": "26 U.S.C. 6103(i)(2)(B)(i)"}
        },
    )
    assert sorted(p.name for p in written) == [
        "transparency-2025.csv",
        "transparency-2025.html",
        "transparency-2025.schema.json",
    ]
    html = (out / "transparency-2025.html").read_text()
    parsed = check_html(html)
    assert parsed.errors == []
    assert "Accurate as of <strong>2026-01-31</strong>" in html
    assert {"methodology", "symbol", "as-of", "corrections", "table-agency"} <= parsed.ids
    assert "threshold 10" in html and "not an address" in html
    # The hidden-cell symbol appears where the CSV says suppressed, and no small number leaks into the HTML tables.
    assert html.count(">*<") >= 6


def test_suppression_rules_on_small_tables() -> None:
    cells = {"a": 3, "b": 40, "c": 50, "T": 93}
    hidden = suppress(cells, [Line(("a", "b", "c"), "T")], threshold=10)
    assert hidden == {"a", "b"}  # the primary cell and the smallest complement
    # Two sums sharing cells: each line has two hidden cells, yet z = T2 - T1.
    cells2 = {"x": 5, "y": 30, "z": 40, "T1": 35, "T2": 75}
    lines = [Line(("x", "y"), "T1"), Line(("x", "y", "z"), "T2")]
    assert determined_cells(cells2, lines, {"x", "y", "z"}) == ["z"]
    hidden2 = suppress(cells2, lines, threshold=10)
    assert determined_cells(cells2, lines, hidden2) == []
    assert {"x", "y"} <= hidden2
    # Linked group: taxpayers hidden with disclosures.
    assert suppress({"tax": 30, "dis": 4}, [Line(("tax", "dis"))], threshold=10) == {"tax", "dis"}
    with pytest.raises(ValueError):
        suppress(cells, [], threshold=0)


def test_build_tables_counts_taxpayers_once() -> None:
    records = pl.DataFrame(
        {
            "agency": ["A"] * 12,
            "statute": ["S"] * 12,
            "purpose": ["p"] * 12,
            "batch_id": ["b1"] * 6 + ["b2"] * 6,
            "request_id": [f"R{i}" for i in range(12)],
            "decision": ["disclose"] * 12,
            "reasons": [[] for _ in range(12)],
            "taxpayer": ["t1", "t1"] + [f"t{i}" for i in range(2, 12)],
        },
        schema_overrides={"reasons": pl.List(pl.String)},
    )
    tables = build_tables(records, threshold=10)
    assert tables.cells[("agency", "A", "taxpayers")] == 11
    assert tables.cells[("agency", "A", "letters")] == 2
    assert ("agency", "A", "letters") not in tables.hidden  # documents, not people
    assert tables.hidden == set()


def test_cli(batches: list[tuple[Path, Path]], tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("transparency")(transparency)
    app.command("noop")(lambda: None)
    args = ["transparency", "--year", "2025", "--out", str(tmp_path / "t"), "--as-of", "2026-01-31"]
    for letter, decisions in batches:
        args += ["--letter", str(letter), "--decisions", str(decisions)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "t" / "transparency-2025.html").exists()
    mismatched = runner.invoke(
        app,
        ["transparency", "--year", "2025", "--out", str(tmp_path / "u"), "--letter", str(batches[0][0])],
    )
    assert mismatched.exit_code == 2 and not (tmp_path / "u").exists()
    bad = tmp_path / "bad.csv"
    bad.write_text("request_id,decision,reasons\nR1,maybe,\n")
    wrong = runner.invoke(
        app,
        [
            "transparency",
            "--year",
            "2025",
            "--out",
            str(tmp_path / "v"),
            "--letter",
            str(batches[0][0]),
            "--decisions",
            str(bad),
        ],
    )
    assert wrong.exit_code == 2 and "decision must be" in wrong.output and not (tmp_path / "v").exists()
    no_db = runner.invoke(
        app,
        ["transparency", "--year", "2025", "--out", str(tmp_path / "w"), "--db", str(tmp_path / "none.db")],
    )
    assert no_db.exit_code == 2 and not (tmp_path / "w").exists()


def test_reads_the_store(tmp_path: Path) -> None:
    from ftigate.ledger.events import (
        BatchAbandoned,
        BatchSuperseded,
        Decision,
        Disclosure,
        Pseudonymizer,
        ResponseReleased,
        ReviewAction,
    )
    from ftigate.store.api import Store

    pseudonyms = Pseudonymizer(b"\x42" * 32)
    url = f"sqlite:///{tmp_path / 'ftigate.db'}"
    store = Store.open(url)
    try:
        letter = {
            "requesting_agency": "ICE",
            "statute": "8 U.S.C. 1253(a)(1)",
            "purpose": "Removal",
            "date": "2025-06-27",
        }
        files = "f" * 64  # the same letter and request file, processed three times
        old = store.create_batch(letter=letter, file_digests={}, requesting_agency="ICE", files_key=files)
        batch = store.create_batch(
            letter=letter, file_digests={}, requesting_agency="ICE", supersedes=old, files_key=files
        )
        never_released = store.create_batch(
            letter=letter, file_digests={}, requesting_agency="ICE", files_key=files
        )
        other_year = store.create_batch(
            letter={**letter, "date": "2024-01-02"}, file_digests={}, requesting_agency="ICE"
        )
        events: list[Any] = []
        for b in (old, batch, never_released, other_year):
            for i in range(30):
                rid, taxpayer = f"R{i:04d}", pseudonyms.taxpayer(f"9{i:08d}")
                kind = "disclose" if i < 12 else ("review" if i < 15 else "refuse")
                events.append(
                    Decision(
                        batch_id=b,
                        request_id=rid,
                        decision=kind,
                        reasons=("ADDRESS_PLACEHOLDER",) if kind == "refuse" else (),
                        taxpayer=taxpayer,
                    )
                )
                if kind == "disclose":
                    events.append(
                        Disclosure(
                            batch_id=b,
                            request_id=rid,
                            taxpayer=taxpayer,
                            date="2025-07-01",
                            recipient_agency="ICE",
                            authority="26 U.S.C. 6103(i)(2)",
                            purpose="Removal",
                        )
                    )
        events.append(
            ReviewAction(
                batch_id=batch,
                request_id="R0012",
                reviewer="u1",
                action="reject",
                decision="refuse",
                reasons=("AMBIGUOUS_IDENTITY",),
            )
        )
        digest = "0" * 64
        events += [ResponseReleased(batch_id=b, response_digest=digest) for b in (old, batch, other_year)]
        events.append(BatchSuperseded(batch_id=old, superseded_by=batch, reason="again", actor="u1"))
        events.append(BatchAbandoned(batch_id=never_released, reason="killed", actor="u1"))
        store.append_events(events)
    finally:
        store.close()
    from ftigate.report.transparency import records_from_store

    records = records_from_store(url, 2025)
    assert records.height == 30 and set(records["batch_id"].to_list()) == {batch}
    counts = dict(records.group_by("decision").len().iter_rows())
    assert counts == {"disclose": 12, "review": 2, "refuse": 16}
    tables = build_tables(records)
    assert tables.cells[("agency", "ICE", "taxpayers")] == 12
    assert tables.cells[("reason", "ICE", "AMBIGUOUS_IDENTITY")] == 1
    assert ("reason", "ICE", "AMBIGUOUS_IDENTITY") in tables.hidden
