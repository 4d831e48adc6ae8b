"""Write a world and a batch to disk, run ftigate on them as a user would (its CLI, in
subprocesses), and score every answer against the tester's truth.

Nothing here imports ftigate: the only contact is the command line and the files it
writes (`decisions.csv`, `findings.csv`, the baseline's disclosure file), read as an
outside tester reads them.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from independent.addresses import usps_key
from independent.batch import TRUTH_COLUMNS, build_batch
from independent.population import World, build_population

IDENTITY_WRONG = "WRONG_PERSON_DISCLOSED"


# --- files ---------------------------------------------------------------------------------------


def write_reference(world: World, folder: Path, fmt: str) -> None:
    """`taxpayers` and `addresses` in `fmt` ("csv" or "parquet"); address rows in a seeded
    random order (a reader must not depend on the order of the file)."""
    folder.mkdir(parents=True)
    taxpayers = pl.DataFrame(world.taxpayers, schema={c: pl.String for c in world.taxpayers})
    addresses = pl.DataFrame(
        world.addresses,
        schema={c: (pl.Int32 if c == "tax_year" else pl.String) for c in world.addresses},
    )
    order = list(range(addresses.height))
    random.Random(world.seed).shuffle(order)
    addresses = addresses[order]
    if fmt == "csv":
        taxpayers.write_csv(folder / "taxpayers.csv")
        addresses.write_csv(folder / "addresses.csv")
    elif fmt == "parquet":
        taxpayers.write_parquet(folder / "taxpayers.parquet")
        addresses.write_parquet(folder / "addresses.parquet")
    else:
        raise ValueError(f"reference format must be csv or parquet, not {fmt!r}")


def write_batch(requests: list[dict[str, str]], truths: list[dict[str, object]], letter: dict[str, object],
                folder: Path) -> None:  # fmt: skip
    folder.mkdir(parents=True)
    (folder / "letter.yaml").write_text(yaml.safe_dump(letter, sort_keys=False), "utf-8")
    pl.DataFrame(requests, schema={c: pl.String for c in requests[0]}).write_csv(folder / "requests.csv")
    pl.DataFrame(truths).select(TRUTH_COLUMNS).write_csv(folder / "truth.csv")


# --- running ftigate -------------------------------------------------------------------------------


@dataclass
class Command:
    args: list[str]
    returncode: int
    seconds: float
    stderr_tail: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> dict[str, Any]:
        return {"command": " ".join(self.args), "exit": self.returncode, "seconds": round(self.seconds, 1),
                "stderr": self.stderr_tail}  # fmt: skip


def ftigate_executable() -> str:
    """The `ftigate` entry point installed beside this Python (the worktree's .venv)."""
    beside = Path(sys.executable).with_name("ftigate")
    if beside.is_file():
        return str(beside)
    found = shutil.which("ftigate")
    if not found:
        raise FileNotFoundError("no ftigate executable beside this Python or on PATH")
    return found


def run_ftigate(*args: str | Path) -> Command:
    """One ftigate command in a subprocess, never recording in a store (no FTIGATE_DB)."""
    env = {k: v for k, v in os.environ.items() if k != "FTIGATE_DB"}
    argv = [ftigate_executable(), *map(str, args)]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    tail = " | ".join(line.strip() for line in done.stderr.strip().splitlines()[-3:])
    return Command([Path(argv[0]).name, *argv[1:]], done.returncode, time.perf_counter() - started, tail[-500:])


def process_options() -> list[str]:
    """`--no-ledger` when this ftigate has it (the recording rule: say so explicitly);
    without it, no `--db` and no FTIGATE_DB, so nothing is recorded either way."""
    return ["--no-ledger"] if "--no-ledger" in _stdout("process", "--help") else []


def _stdout(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "FTIGATE_DB"}
    return subprocess.run([ftigate_executable(), *args], capture_output=True, text=True, env=env, check=False).stdout


def reason_scopes() -> dict[str, str]:
    """code -> scope (letter, record, identity, warning), from `ftigate codes --json`."""
    return {row["code"]: row["scope"] for row in json.loads(_stdout("codes", "--json"))}


# --- reading ftigate's files -----------------------------------------------------------------------


def read_csv_strings(path: Path) -> pl.DataFrame:
    frame = pl.read_csv(path, infer_schema=False)
    return frame.with_columns(pl.all().fill_null(""))


def codes(text: str | None) -> list[str]:
    return [c for c in (text or "").split(";") if c]


# --- scoring --------------------------------------------------------------------------------------


@dataclass
class Tally:
    requests: int = 0
    lawful: int = 0
    disclosed: int = 0
    correct: int = 0
    wrong_person: int = 0
    unlawful: int = 0
    review: int = 0

    def as_dict(self) -> dict[str, Any]:
        recall = self.correct_lawful / self.lawful if self.lawful else None
        return {
            "requests": self.requests, "lawful_answers": self.lawful, "disclosed": self.disclosed,
            "correct_lawful": self.correct_lawful, "wrong_person": self.wrong_person,
            "disclosed_without_lawful_answer": self.unlawful, "review": self.review,
            "recall": round(recall, 4) if recall is not None else None,
            "review_rate": round(self.review / self.requests, 4) if self.requests else None,
        }  # fmt: skip

    correct_lawful: int = 0


@dataclass
class Scored:
    """One system's answers (ftigate or the 2025 replica) scored against the truth."""

    overall: Tally
    by_label: dict[str, Tally]
    by_kind: dict[str, Tally]
    wrong_person_ids: list[str]
    wrong_person_kinds: dict[str, int]  # no_true_person | another_persons_address | person_not_last_known
    unlawful_ids: list[str]
    missed_reasons: dict[str, Counter[str]] = field(default_factory=dict)  # label -> reason codes of misses
    screening: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            **self.overall.as_dict(),
            "wrong_person_breakdown": self.wrong_person_kinds,
            "by_kind": {k: t.as_dict() for k, t in sorted(self.by_kind.items())},
            "by_label": {k: t.as_dict() for k, t in sorted(self.by_label.items())},
            "lawful_not_disclosed_reasons": {k: dict(c.most_common(4)) for k, c in sorted(self.missed_reasons.items())},
            "screening_vs_truth": self.screening,
        }  # fmt: skip


def score(world: World, truths: list[dict[str, Any]], answers: pl.DataFrame,
          scopes: dict[str, str] | None = None) -> Scored:  # fmt: skip
    """`answers`: request_id, decision (disclose/refuse/review), reasons, street, unit, zip.

    Wrong person (the brief's definition): a disclosure whose address is not the true
    person's last known address, or that has no true person. Compared as homes: the
    released text parsed back with `usps_key` (ftigate releases the file's own text)."""
    by_id = {str(r["request_id"]): r for r in answers.iter_rows(named=True)}
    overall = Tally()
    by_label: dict[str, Tally] = defaultdict(Tally)
    by_kind: dict[str, Tally] = defaultdict(Tally)
    wrong_ids: list[str] = []
    wrong_kinds: Counter[str] = Counter()
    unlawful_ids: list[str] = []
    missed: dict[str, Counter[str]] = defaultdict(Counter)
    screening: Counter[str] = Counter()
    for t in truths:
        rid = str(t["request_id"])
        answer = by_id.get(rid, {})
        decision = answer.get("decision", "refuse")
        reasons = codes(answer.get("reasons"))
        disclosed = decision == "disclose"
        pid = int(t["true_pid"])
        lawful = bool(t["lawful_answer"])
        correct = False
        if disclosed:
            released = usps_key(answer.get("street", ""), answer.get("unit", ""), answer.get("zip", ""))
            home = world.by_key.get(released, -2)  # usps_key's order is Home.key's
            correct = pid >= 0 and home == int(t["expected_home"])
            if not correct:
                wrong_ids.append(rid)
                if pid < 0:
                    wrong_kinds["no_true_person"] += 1
                elif home in world.own_homes(pid):
                    wrong_kinds["person_not_last_known"] += 1
                else:
                    wrong_kinds["another_persons_address"] += 1
            if not lawful:
                unlawful_ids.append(rid)
        labels = str(t["labels"]).split(";")
        for tally in (overall, *(by_label[label] for label in labels), by_kind[str(t["kind"])]):
            tally.requests += 1
            tally.lawful += lawful
            tally.disclosed += disclosed
            tally.correct += correct
            tally.correct_lawful += correct and lawful
            tally.wrong_person += disclosed and not correct
            tally.unlawful += disclosed and not lawful
            tally.review += decision == "review"
        if lawful and not (disclosed and correct):
            for label in labels:
                missed[label].update(reasons or [decision])
        if scopes is not None:
            screened = [c for c in reasons if scopes.get(c) in ("record", "letter")]
            if bool(t["sufficient"]) and screened:
                screening["sufficient_but_screened_out"] += 1
                for c in screened:
                    screening[f"sufficient_but_screened_out:{c}"] += 1
            if not bool(t["sufficient"]) and not screened:
                screening["deficient_but_passed_screening"] += 1
    return Scored(overall, dict(by_label), dict(by_kind), wrong_ids, dict(wrong_kinds), unlawful_ids,
                  dict(missed), dict(screening))  # fmt: skip


def audit_agreement(findings: pl.DataFrame, truths: list[dict[str, Any]], scored: Scored) -> dict[str, Any]:
    """The audit's WRONG_PERSON_DISCLOSED against the true wrong-person disclosures, and its
    unlawful verdicts against the disclosures with no lawful answer."""
    truth_by_id = {str(t["request_id"]): t for t in truths}
    charged = {str(r["request_id"]) for r in findings.iter_rows(named=True) if IDENTITY_WRONG in codes(r["reasons"])}
    unlawful = {str(r["request_id"]) for r in findings.iter_rows(named=True) if r["lawful"] == "false"}
    true_wrong = set(scored.wrong_person_ids)
    true_unlawful = set(scored.unlawful_ids)
    false_charges = sorted(charged - true_wrong)
    by_label: Counter[str] = Counter()
    for rid in false_charges:
        by_label.update(str(truth_by_id[rid]["labels"]).split(";"))
    reasons: Counter[str] = Counter(c for r in findings.iter_rows(named=True) for c in codes(r["reasons"]))
    return {
        "disclosures_audited": findings.height,
        "audit_wrong_person": len(charged),
        "true_wrong_person": len(true_wrong),
        "wrong_person_caught": len(charged & true_wrong),
        "wrong_person_missed": len(true_wrong - charged),
        "false_wrong_person_charges": len(false_charges),
        "false_charges_by_label": dict(by_label.most_common()),
        "audit_unlawful": len(unlawful),
        "true_unlawful": len(true_unlawful),
        "unlawful_agree": len(unlawful & true_unlawful),
        "audit_reasons": dict(reasons.most_common()),
        "false_charge_ids": false_charges,
    }


def describe_wrong(world: World, truths: list[dict[str, Any]], requests: list[dict[str, str]],
                   answers: pl.DataFrame, ids: list[str], limit: int = 8) -> list[dict[str, Any]]:  # fmt: skip
    """Wrong-person disclosures described by their shape, not their data: the kind and
    labels, what the request supplied, and who lives at the supplied address."""
    from independent.names import given_names_compatible, plain, surname_words

    truth_by_id = {str(t["request_id"]): t for t in truths}
    request_by_id = {r["request_id"]: r for r in requests}
    probability = {str(r["request_id"]): r.get("match_probability", "") for r in answers.iter_rows(named=True)}
    out = []
    for rid in ids[:limit]:
        t, r = truth_by_id[rid], request_by_id[rid]
        home = int(t["supplied_home"])
        at_home = [world.people[q] for q in world.filers_at.get(home, ())]
        words = set(surname_words(r["last_name"]))
        same_surname = [q for q in at_home if words & set(surname_words(q.last))]
        first = plain(r["first_name"]).split()[:1]
        out.append({
            "request": rid,
            "labels": t["labels"],
            "supplied": {"dob": bool(r["date_of_birth"]), "tin": bool(r["tin"])},
            "filers_at_supplied_address": len(at_home),
            "same_surname_filers_there": len(same_surname),
            "first_name_compatible_with_one_of_them": any(
                first and given_names_compatible(first[0], q.first, corroborated=False) for q in same_surname
            ),
            "match_probability": probability.get(rid, ""),
        })  # fmt: skip
    return out


# --- the whole run -----------------------------------------------------------------------------------


@dataclass
class Run:
    """Everything one pipeline run produced (paths, commands, scores)."""

    work: Path
    seed: int
    world: World
    requests: list[dict[str, str]]
    truths: list[dict[str, Any]]
    commands: dict[str, Command] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)


def run_pipeline(work: Path, *, people: int, count: int, seed: int, reference_format: str = "csv",
                 mix: dict[str, float] | None = None, log: Callable[[str], None] = lambda _: None,
                 compare_formats: bool = True, audit_baseline: bool = True) -> Run:  # fmt: skip
    """Generate, write, run process / audit / baseline / audit, score. `work` must not exist
    (or be empty): the run writes only there and removes nothing."""
    if work.exists() and any(work.iterdir()):
        raise FileExistsError(f"{work} is not empty; give a new folder")
    # the files hold (synthetic) taxpayer data: keep them to this user, as a real reference is kept
    work.mkdir(parents=True, exist_ok=True, mode=0o700)
    started = time.perf_counter()
    world = build_population(people, seed)
    requests, truths, letter = build_batch(world, count, seed, mix)
    generated = time.perf_counter() - started
    log(f"generated {len(world.people):,} people ({len(world.taxpayers['tin']):,} filers, "
        f"{len(world.addresses['tin']):,} returns) and {count:,} requests in {generated:.1f} s")  # fmt: skip
    reference = work / "reference"
    write_reference(world, reference, reference_format)
    parquet_reference = reference
    if reference_format != "parquet":
        parquet_reference = work / "reference-parquet"
        write_reference(world, parquet_reference, "parquet")
    batch = work / "batch"
    write_batch(requests, truths, letter, batch)
    letter_path, requests_path = batch / "letter.yaml", batch / "requests.csv"
    run = Run(work, seed, world, requests, truths)
    truth_rows: list[dict[str, Any]] = truths

    def step(name: str, *args: str | Path) -> Command:
        command = run_ftigate(*args)
        run.commands[name] = command
        log(f"{name}: exit {command.returncode} in {command.seconds:.1f} s" + ("" if command.ok else f" ({command.stderr_tail})"))
        return command

    extra = process_options()
    process = step("process", "process", "--letter", letter_path, "--requests", requests_path,
                   "--reference", reference, "--out", work / "process", *extra)  # fmt: skip
    if not process.ok:
        raise RuntimeError(f"ftigate process failed: {process.stderr_tail}")
    decisions = read_csv_strings(work / "process" / "decisions.csv")
    scopes = reason_scopes()
    ftigate_scored = score(world, truth_rows, decisions, scopes)

    def audit(name: str, disclosed: Path, reference_folder: Path, suffix: str = "") -> pl.DataFrame | None:
        command = step(f"audit_{name}{suffix}", "audit", "--letter", letter_path, "--requests", requests_path,
                       "--disclosed", disclosed, "--reference", reference_folder,
                       "--out", work / f"audit-{name}{suffix}")  # fmt: skip
        return read_csv_strings(work / f"audit-{name}{suffix}" / "findings.csv") if command.ok else None

    # the audit of ftigate's response, on the reference as given; if it refuses it, on the
    # same data in Parquet, so that the figures exist (and the refusal is reported)
    response = work / "process" / "response.csv"
    audit_as_given = audit("ftigate", response, reference)
    ftigate_findings = audit_as_given
    audit_parquet = None
    if reference_format != "parquet":
        audit_parquet = audit("ftigate", response, parquet_reference, "-parquet")
        ftigate_findings = audit_as_given if audit_as_given is not None else audit_parquet

    base = step("baseline", "baseline", "irs-2025", "--letter", letter_path, "--requests", requests_path,
                "--reference", reference, "--out", work / "baseline" / "disclosed.csv")  # fmt: skip
    baseline_file = work / "baseline" / "disclosed.csv"
    if not base.ok and reference_format != "parquet":
        base = step("baseline_parquet", "baseline", "irs-2025", "--letter", letter_path, "--requests",
                    requests_path, "--reference", parquet_reference, "--out",
                    work / "baseline-parquet" / "disclosed.csv")  # fmt: skip
        baseline_file = work / "baseline-parquet" / "disclosed.csv"
    baseline_scored = baseline_findings = None
    if base.ok:
        disclosed = read_csv_strings(baseline_file).with_columns(decision=pl.lit("disclose"), reasons=pl.lit(""))
        baseline_scored = score(world, truth_rows, disclosed)
        if audit_baseline:
            readable = reference if audit_as_given is not None else parquet_reference
            baseline_findings = audit("baseline", baseline_file, readable)

    report: dict[str, Any] = {
        "seed": seed,
        "people": len(world.people),
        "filers": len(world.taxpayers["tin"]),
        "returns": len(world.addresses["tin"]),
        "requests": count,
        "reference_format": reference_format,
        "generation_seconds": round(generated, 1),
        "commands": {k: c.describe() for k, c in run.commands.items()},
        "truth": {
            "lawful_answers": sum(bool(t["lawful_answer"]) for t in truths),
            "in_file": sum(bool(t["in_file"]) for t in truths),
            "deficient": sum(not bool(t["sufficient"]) for t in truths),
            "kinds": dict(Counter(str(t["kind"]) for t in truths).most_common()),
        },
        "ftigate": ftigate_scored.summary(),
        "ftigate_wrong_person_examples": describe_wrong(world, truth_rows, requests, decisions, ftigate_scored.wrong_person_ids),
        "ftigate_wrong_person_ids": ftigate_scored.wrong_person_ids,
    }  # fmt: skip
    report["audit_of_ftigate"] = _audit_report(ftigate_findings, truth_rows, ftigate_scored)
    report["process_last_known_disagreements"] = last_known_disagreements(world, truth_rows, response)
    if baseline_scored is not None:
        report["baseline"] = baseline_scored.summary()
        report["baseline_reference_read"] = baseline_file.parent.name
        report["baseline_last_known_disagreements"] = last_known_disagreements(world, truth_rows, baseline_file)
        report["audit_of_baseline"] = _audit_report(baseline_findings, truth_rows, baseline_scored)
    # one file, two readers: does every command read the reference as given, and the same way?
    readings: dict[str, Any] = {
        "reference_format": reference_format,
        "audit_accepts_it": audit_as_given is not None,
        "baseline_accepts_it": run.commands["baseline"].ok,
        "audit_refusal": "" if audit_as_given is not None else run.commands["audit_ftigate"].stderr_tail,
    }
    if audit_as_given is not None and audit_parquet is not None:
        readings["audit_same_findings_csv_and_parquet"] = _same_findings(audit_as_given, audit_parquet)
    if compare_formats:
        other_format = "parquet" if reference_format == "csv" else "csv"
        other = parquet_reference if other_format == "parquet" else work / "reference-csv"
        if not other.exists():
            write_reference(world, other, other_format)
        again = step("process_other_format", "process", "--letter", letter_path, "--requests", requests_path,
                     "--reference", other, "--out", work / "process-other-format", *extra)  # fmt: skip
        if again.ok:
            other_decisions = read_csv_strings(work / "process-other-format" / "decisions.csv")
            readings["process_same_decisions_csv_and_parquet"] = _same_decisions(decisions, other_decisions)
    readings["process_last_known_disagreements"] = report["process_last_known_disagreements"]["count"]
    if baseline_scored is not None:
        readings["baseline_last_known_disagreements"] = report["baseline_last_known_disagreements"]["count"]
    report["readings"] = readings
    report["seconds_total"] = round(time.perf_counter() - started, 1)
    run.report = report
    return run


def _audit_report(findings: pl.DataFrame | None, truths: list[dict[str, Any]], scored: Scored) -> dict[str, Any]:
    if findings is None:
        return {"error": "the audit did not run (see commands)"}
    return audit_agreement(findings, truths, scored)


def _same_findings(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    columns = ["request_id", "lawful", "reasons"]
    return a.select(columns).sort("request_id").equals(b.select(columns).sort("request_id"))


def _same_decisions(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    columns = ["request_id", "decision", "reasons", "street", "unit", "city", "state", "zip"]
    return a.select(columns).sort("request_id").equals(b.select(columns).sort("request_id"))


def last_known_disagreements(world: World, truths: list[dict[str, Any]], disclosed_file: Path) -> dict[str, Any]:
    """Disclosures about the right taxpayer record whose address is not that taxpayer's last
    known address (newest 1040): how the reader picked the last known address.

    The record is known to be the true person's, without the discloser's TIN, when the
    released address is another of that person's homes on file (`previous_home`), or is
    the home of a worker filing W-2s under the person's SSN (`w2_filed_in_another_name`:
    only a reader that takes another person's return for the taxpayer's releases it)."""
    frame = read_csv_strings(disclosed_file)
    truth_by_id = {str(t["request_id"]): t for t in truths}
    kinds: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    for r in frame.iter_rows(named=True):
        t = truth_by_id[str(r["request_id"])]
        pid = int(t["true_pid"])
        if pid < 0:
            continue
        home = world.by_key.get(usps_key(r["street"], r.get("unit", ""), r["zip"]), -2)
        if home == int(t["expected_home"]):
            continue
        workers = world.people[pid].lends_ssn_to
        if home in world.own_homes(pid):
            kinds["previous_home"] += 1
        elif any(home in world.people[w].history.values() for w in workers):
            kinds["w2_filed_in_another_name"] += 1
        else:
            continue
        labels.update(str(t["labels"]).split(";"))
    return {"count": sum(kinds.values()), **kinds, "by_label": dict(labels.most_common(8))}
