"""One consistent tool: a walk over the Typer app's command tree checks the conventions the
README states ("Conventions", under "What a command does") on every command.

A command added later fails `test_every_command_is_classified` until it is put in one of
the tables below: that is the point (README: every command follows the conventions).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from typer.main import get_command
from typer.testing import CliRunner, Result

from ftigate.cli.main import app

runner = CliRunner()


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    subcommands = getattr(command, "commands", None)
    if path:
        yield " ".join(path), command
    for name, sub in (subcommands or {}).items():
        yield from _walk(sub, (*path, name))


TREE = dict(_walk(get_command(app)))
GROUPS = {path for path, command in TREE.items() if getattr(command, "commands", None)}
COMMANDS = sorted(set(TREE) - GROUPS)


def _options(path: str) -> dict[str, Any]:
    """Every option name of a command, visible or hidden, with its parameter."""
    return {
        name: param
        for param in TREE[path].params
        if param.param_type_name == "option"
        for name in (*param.opts, *param.secondary_opts)
    }


def _visible(path: str) -> set[str]:
    return {name for name, param in _options(path).items() if not param.hidden}


# --- which command prints what ------------------------------------------------------------

# Commands whose stdout is the output document itself, in its own format (a proof, a
# tlog-witness body, a cosigned note, an accounting): there is nothing to wrap in JSON.
PRINTS_ITS_DOCUMENT = {
    "ledger prove": "an inclusion proof (JSON)",
    "ledger prove-record": "a record proof: its item under the batch root, and that leaf's inclusion proof (JSON)",
    "ledger witness-request": "a C2SP tlog-witness add-checkpoint body",
    "witness cosign": "a cosigned checkpoint note (C2SP signed-note)",
    "witness add-checkpoint": "the cosignature line (C2SP tlog-witness)",
    "accounting": "the accounting of disclosures (JSON)",
    "token issue": "the agency's new token, shown once (--json: with its id and agency)",
}
PRINTS_NO_RESULT = {
    "witness serve": "a server: it prints where it listens, then serves",
    "serve": "a server: it prints where it listens, then serves",
    "users add": "a note on stderr that the user was added",
    "users revoke-sessions": "a note on stderr of the sessions ended",
    "token revoke": "a note on stderr that the token was revoked",
}
# Owned by the law helper of issue 13 (`explain` moves to the law registry there): exempt
# here so that two branches do not edit one command; its --json comes with that change.
EXEMPT: dict[str, str] = {}

# Commands that show progress on stderr (a bar, stage lines or step headings).
SHOWS_PROGRESS = {
    "screen", "process", "audit", "baseline irs-2025", "synth population", "synth requests",
    "demo", "reference prepare",
}  # fmt: skip


@dataclass
class World:
    """A tiny synthetic world with keys, a store holding one processed batch, and a proof."""

    root: Path
    env: dict[str, str]
    pop: Path
    batch: Path
    year: int
    batch_id: str
    incomplete_batch_id: str
    event_id: str
    vkey: str

    def run(self, args: list[str], **env: str) -> Result:
        return runner.invoke(app, args, env={**self.env, **env})

    @property
    def letter(self) -> Path:
        return self.batch / "letter.yaml"

    @property
    def requests(self) -> Path:
        return self.batch / "requests.csv"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("conventions")
    env = {
        "FTIGATE_PSEUDONYM_KEY_FILE": str(root / "keys" / "pseudonym.key"),
        "FTIGATE_SIGNING_KEY_FILE": str(root / "keys" / "signing.key"),
        "FTIGATE_DB": f"sqlite:///{root / 'ftigate.db'}",
        "FTIGATE_LOG_VKEY": "",
    }

    def ok(args: list[str]) -> Result:
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 0, (args, result.output)
        return result

    keys = json.loads(ok(["ledger", "keygen", "--origin", "ftigate.test/conventions", "--json"]).stdout)
    pop, batch = root / "pop", root / "batch"
    ok(["synth", "population", "--people", "300", "--seed", "2", "--out", str(pop), "-q"])
    ok(["synth", "requests", "--population", str(pop), "--count", "30", "--profile", "clean",
        "--seed", "2", "--out", str(batch), "-q"])  # fmt: skip
    ok(["process", "--letter", str(batch / "letter.yaml"), "--requests", str(batch / "requests.csv"),
        "--reference", str(pop), "--out", str(root / "processed"), "-q"])  # fmt: skip
    batches = json.loads(ok(["batch", "list", "--json"]).stdout)
    shown = json.loads(ok(["batch", "show", batches[0]["batch_id"], "--json"]).stdout)
    incomplete = _incomplete_batch(env)
    letter = yaml.safe_load((batch / "letter.yaml").read_text())
    return World(
        root=root, env=env, pop=pop, batch=batch, year=int(str(letter["date"])[:4]),
        batch_id=batches[0]["batch_id"], incomplete_batch_id=incomplete,
        event_id=shown["events"][0]["event_id"], vkey=keys["verification_key"],
    )  # fmt: skip


def _incomplete_batch(env: dict[str, str]) -> str:
    """A batch that was received and never finished (a run that stopped), for `batch abandon`."""
    import os

    from ftigate.ledger.keys import load_pseudonymizer, load_signer
    from ftigate.store.api import Store

    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        with Store.open(env["FTIGATE_DB"], signer=load_signer(), pseudonyms=load_pseudonymizer()) as store:
            batch_id = store.create_batch(letter={}, file_digests={}, requesting_agency="ICE")
            store.sign_checkpoint(load_signer())
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return batch_id


# The arguments each result-printing command is run with (before --json) on the world;
# in this order, since some need what an earlier one wrote (the proof, the checkpoint).
JSON_RUNS: dict[str, Callable[[World], list[str]]] = {
    "codes": lambda w: [],
    "explain": lambda w: ["ADDRESS_PLACEHOLDER"],
    "law show": lambda w: ["--at", "2025-04-07"],
    "law diff": lambda w: ["2025-04-06", "2025-04-07"],
    "synth rates": lambda w: [],
    "synth population": lambda w: ["--people", "40", "--out", str(w.root / "j-pop")],
    "synth requests": lambda w: ["--population", str(w.pop), "--count", "10", "--out", str(w.root / "j-batch")],
    "screen": lambda w: ["--letter", str(w.letter), "--requests", str(w.requests), "--out", str(w.root / "j.csv")],
    "process": lambda w: [
        "--letter", str(w.letter), "--requests", str(w.requests), "--reference", str(w.pop),
        "--out", str(w.root / "j-process"), "--no-ledger",
    ],
    "audit": lambda w: [
        "--letter", str(w.letter), "--requests", str(w.requests),
        "--disclosed", str(w.root / "processed" / "response.csv"), "--reference", str(w.pop),
        "--out", str(w.root / "j-audit"),
    ],
    "baseline irs-2025": lambda w: [
        "--letter", str(w.letter), "--requests", str(w.requests), "--reference", str(w.pop),
        "--out", str(w.root / "j-baseline.csv"),
    ],
    "reference prepare": lambda w: ["--reference", str(w.pop), "--reference-cache", str(w.root / "j-cache")],
    "model show": lambda w: [],
    "model train": lambda w: [
        "--people", "1000", "--requests", "100", "--allow-unobserved", "--out", str(w.root / "j-model.json"),
    ],
    "demo": lambda w: ["--people", "200", "--requests", "10", "--out", str(w.root / "j-demo")],
    "batch list": lambda w: [],
    "batch show": lambda w: [w.batch_id],
    "ledger checkpoint": lambda w: ["--out", str(w.root / "j.checkpoint")],
    "ledger verify": lambda w: [],
    "ledger check-proof": lambda w: [str(_proof(w)), "--log-key", w.vkey],
    "ledger keygen": lambda w: [],
    "witness init": lambda w: [
        "--state", str(w.root / "j-witness"), "--name", "witness.test/w1", "--log-key", w.vkey,
    ],
    "report jct": lambda w: ["--year", str(w.year), "--out", str(w.root / "j-jct")],
    "report transparency": lambda w: ["--year", str(w.year), "--out", str(w.root / "j-transparency")],
    "batch abandon": lambda w: [w.incomplete_batch_id, "--reason", "the run stopped", "--by", "tester"],
    "batch void": lambda w: [w.batch_id, "--reason", "sent under a wrong letter", "--by", "tester"],
}  # fmt: skip
# `ledger keygen` makes new keys: it runs with key files of its own.
OWN_KEYS = {"ledger keygen"}


def _proof(world: World) -> Path:
    path = world.root / "j-proof.json"
    if not path.exists():
        result = world.run(["ledger", "prove", world.event_id, "--out", str(path)])
        assert result.exit_code == 0, result.output
    return path


def test_every_command_is_classified() -> None:
    classes = [set(JSON_RUNS), set(PRINTS_ITS_DOCUMENT), set(PRINTS_NO_RESULT), set(EXEMPT)]
    for index, first in enumerate(classes):
        for second in classes[index + 1 :]:
            assert not first & second
    unclassified = sorted(set(COMMANDS) - set().union(*classes))
    assert unclassified == [], (
        f"{unclassified}: add each to JSON_RUNS (it prints a result: give it --json), "
        "PRINTS_ITS_DOCUMENT or PRINTS_NO_RESULT"
    )
    assert set().union(*classes) <= set(COMMANDS), "a table names a command that no longer exists"


@pytest.mark.parametrize("path", sorted(JSON_RUNS))
def test_every_result_printing_command_takes_json(path: str) -> None:
    assert "--json" in _visible(path), path


def test_every_result_printing_command_prints_valid_json(world: World) -> None:
    failures = []
    for path, arguments in JSON_RUNS.items():
        env = {}
        if path in OWN_KEYS:
            env = {
                "FTIGATE_PSEUDONYM_KEY_FILE": str(world.root / "j-keys" / "p.key"),
                "FTIGATE_SIGNING_KEY_FILE": str(world.root / "j-keys" / "s.key"),
            }
        result = world.run([*path.split(), *arguments(world), "--json"], **env)
        if result.exit_code != 0:
            failures.append(f"{path}: exit {result.exit_code}: {result.output[-400:]}")
            continue
        try:
            json.loads(result.stdout)
        except json.JSONDecodeError:
            failures.append(f"{path}: stdout is not one JSON document: {result.stdout[:200]!r}")
    assert failures == []


def test_ledger_verify_prints_json_and_exits_1_when_the_log_does_not_verify(world: World) -> None:
    import sqlite3

    db = world.root / "j-tampered.db"
    db.write_bytes((world.root / "ftigate.db").read_bytes())
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE ledger_leaves SET entry = X'00' WHERE leaf_index = 1")
    result = world.run(["ledger", "verify", "--db", str(db), "--json"])
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["verified"] is False and document["findings"]


# --- help -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(TREE))
def test_every_command_and_group_has_help(path: str) -> None:
    assert (TREE[path].help or "").strip(), path


@pytest.mark.parametrize("path", COMMANDS)
def test_every_parameter_has_help(path: str) -> None:
    missing = [
        param.opts[0] for param in TREE[path].params if not (getattr(param, "help", None) or "").strip()
    ]
    assert missing == [], path


@pytest.mark.parametrize("path", COMMANDS)
def test_help_shows_every_option_name_whole(path: str) -> None:
    result = runner.invoke(app, [*path.split(), "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.output, f"{path} --help cuts something short"
    for name in _visible(path) - {"--help"}:
        assert re.search(rf"{re.escape(name)}(?![\w-])", result.output), f"{path} --help: {name}"


# --- option names ---------------------------------------------------------------------

# Spellings replaced by the one the conventions chose: kept working, hidden from help.
DEPRECATED = {
    ("report jct", "--out-dir"): "--out",
    ("report transparency", "--period"): "--year",
    ("reference prepare", "--cache"): "--reference-cache",
}
NOT_AN_OUTPUT_NAME = {
    "--out-dir",
    "--output",
    "--output-dir",
    "--outdir",
    "--out-file",
    "--cache",
    "--period",
}


@pytest.mark.parametrize("path", COMMANDS)
def test_outputs_are_out_and_old_spellings_are_hidden(path: str) -> None:
    assert not _visible(path) & NOT_AN_OUTPUT_NAME, path
    if "--force" in _visible(path):
        # a command that writes names what it writes --out (accounting's --bundle is a
        # second output beside its --out, named after what it holds)
        assert "--out" in _visible(path), path
    for (command, old), new in DEPRECATED.items():
        if command == path:
            assert old in _options(path) and old not in _visible(path) and new in _visible(path)


def test_the_old_spellings_still_work_and_say_so(world: World) -> None:
    period = world.run(
        ["report", "transparency", "--period", str(world.year), "--out", str(world.root / "d-transparency")]
    )
    assert period.exit_code == 0, period.output
    assert "--period is deprecated; use --year" in period.stderr
    cache = world.run(
        ["reference", "prepare", "--reference", str(world.pop), "--cache", str(world.root / "d-cache")]
    )
    assert cache.exit_code == 0, cache.output
    assert "--cache is deprecated; use --reference-cache" in cache.stderr
    both = world.run(["report", "transparency", "--year", "2024", "--period", "2025"])
    assert both.exit_code == 2 and "--period" in both.stderr and "Traceback" not in both.output
    neither = world.run(["report", "transparency"])
    assert neither.exit_code == 2 and "--year: is required" in neither.stderr


# --- progress and quiet ---------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(SHOWS_PROGRESS))
def test_every_progress_command_takes_quiet(path: str) -> None:
    assert {"-q", "--quiet"} <= _visible(path), path


def test_quiet_leaves_the_result_and_silences_progress(world: World) -> None:
    loud = world.run(["synth", "population", "--people", "30", "--out", str(world.root / "q1")])
    quiet = world.run(["synth", "population", "--people", "30", "--out", str(world.root / "q2"), "-q"])
    assert loud.exit_code == quiet.exit_code == 0
    assert "synth population: 30 people" in loud.stderr and quiet.stderr == ""
    assert "30 taxpayers" in quiet.stdout


# --- --encoding on every command that reads a request file ------------------------------

# `--requests` names a request file (a path) here; on `demo` and `model train` it is a count.
READS_REQUESTS = sorted(
    path
    for path in COMMANDS
    if "--requests" in _visible(path) and _options(path)["--requests"].type_descriptor.annotation is Path
)


def test_the_commands_that_read_a_request_file_are_the_expected_ones() -> None:
    assert READS_REQUESTS == ["audit", "baseline irs-2025", "process", "screen"]


@pytest.mark.parametrize("path", READS_REQUESTS)
def test_every_command_reading_a_request_file_takes_encoding(path: str) -> None:
    assert "--encoding" in _visible(path), path


@pytest.fixture(scope="module")
def cp1252_requests(world: World) -> Path:
    requests = pl.read_csv(world.requests, infer_schema=False)
    requests = requests.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("Peña"))
        .otherwise(pl.col("last_name"))
        .alias("last_name")
    )
    path = world.root / "requests-cp1252.csv"
    path.write_bytes(requests.write_csv().encode("cp1252"))
    return path


@pytest.mark.parametrize(
    ("path", "arguments"),
    [
        ("audit", lambda w, r: ["--letter", str(w.letter), "--requests", str(r), "--reference", str(w.pop),
                                "--disclosed", str(w.root / "processed" / "response.csv")]),
        ("baseline irs-2025", lambda w, r: ["--letter", str(w.letter), "--requests", str(r),
                                            "--reference", str(w.pop)]),
        ("process", lambda w, r: ["--letter", str(w.letter), "--requests", str(r), "--reference", str(w.pop),
                                  "--no-ledger"]),
    ],
)  # fmt: skip
def test_encoding_reads_a_windows_1252_request_file(
    world: World, cp1252_requests: Path, path: str, arguments: Callable[[World, Path], list[str]]
) -> None:
    name = path.replace(" ", "-")
    out = world.root / f"enc-{name}" / ("out.csv" if path == "baseline irs-2025" else "out")
    refused = world.run([*path.split(), *arguments(world, cp1252_requests), "--out", str(out), "-q"])
    assert refused.exit_code == 2, refused.output
    assert "row 1, column 'last_name'" in refused.stderr and "--encoding cp1252" in refused.stderr
    read = world.run([*path.split(), *arguments(world, cp1252_requests), "--out", str(out), "-q",
                      "--encoding", "cp1252"])  # fmt: skip
    assert read.exit_code == 0, read.output


# --- bad input: exit 2, one line, no traceback -----------------------------------------

BAD_INPUT: dict[str, Callable[[World], list[str]]] = {
    "screen": lambda w: ["screen", "--letter", str(w.letter), "--requests", str(w.root / "none.csv"),
                         "--out", str(w.root / "b.csv")],
    "process": lambda w: ["process", "--letter", str(w.letter), "--requests", str(w.requests),
                          "--reference", str(w.root / "none"), "--out", str(w.root / "b-p"), "--no-ledger"],
    "process thresholds": lambda w: ["process", "--letter", str(w.letter), "--requests", str(w.requests),
                                     "--reference", str(w.pop), "--out", str(w.root / "b-t"), "--no-ledger",
                                     "--review-floor", "0.9", "--disclose-probability", "0.5"],
    "audit": lambda w: ["audit", "--letter", str(w.letter), "--requests", str(w.requests),
                        "--disclosed", str(w.root / "none.csv"), "--out", str(w.root / "b-a")],
    "baseline": lambda w: ["baseline", "irs-2025", "--letter", str(w.root / "none.yaml"),
                           "--requests", str(w.requests), "--reference", str(w.pop),
                           "--out", str(w.root / "b.csv")],
    "synth requests": lambda w: ["synth", "requests", "--population", str(w.root / "none"),
                                 "--out", str(w.root / "b-s")],
    "synth population": lambda w: ["synth", "population", "--people", "0", "--out", str(w.root / "b-sp")],
    "synth rates --set": lambda w: ["synth", "population", "--set", "nonsense=1", "--out", str(w.root / "b-r")],
    "reference prepare": lambda w: ["reference", "prepare", "--reference", str(w.root / "none"),
                                    "--reference-cache", str(w.root / "b-c")],
    "model show": lambda w: ["model", "show", "--model", str(w.letter)],
    "batch show": lambda w: ["batch", "show", "nobatch", "--json"],
    "ledger verify": lambda w: ["ledger", "verify", "--db", str(w.root / "none.db")],
    "ledger check-proof": lambda w: ["ledger", "check-proof", str(w.letter), "--log-key", w.vkey],
    "report transparency": lambda w: ["report", "transparency", "--year", "2025", "--letter", str(w.letter),
                                      "--decisions", str(w.root / "none.csv"), "--out", str(w.root / "b-t2")],
    "report jct": lambda w: ["report", "jct", "--year", "2025", "--db", "mysql://x/y", "--out", str(w.root / "b-j")],
    "demo": lambda w: ["demo", "--profile", "nope", "--out", str(w.root / "b-d")],
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_exits_2_with_one_line_and_no_traceback(world: World, case: str) -> None:
    result = world.run(BAD_INPUT[case](world))
    assert result.exit_code == 2, (case, result.output)
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert result.stdout.strip() == "", result.stdout


# --- the README states the conventions -------------------------------------------------


def _conventions_section() -> str:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("### Conventions")
    return " ".join(readme[start : readme.index("\n### ", start + 1)].split())


@pytest.mark.parametrize("path", sorted(set(JSON_RUNS) | SHOWS_PROGRESS | set(READS_REQUESTS)))
def test_the_readme_conventions_name_every_command_they_cover(path: str) -> None:
    section = _conventions_section()
    # "batch list, show, abandon" names the group once, its subcommands after it
    assert f"`{path}`" in section or f"`{path.split()[-1]}`" in section, path


@pytest.mark.parametrize(("command", "old"), sorted(DEPRECATED))
def test_the_readme_names_every_deprecated_spelling(command: str, old: str) -> None:
    assert f"`{command} {old}`" in _conventions_section()
