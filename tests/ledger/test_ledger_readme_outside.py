"""The README's "From outside" section works as written: its shell blocks run, in
order, with the real `ftigate` executable, and the last ones with nothing of the
agency's (no database, no key files in the environment)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ledger_cli_env import Env
from test_ledger_accounting import TIN_A, seed_disclosures

from ftigate.ledger.keys import load_signer

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"<!-- readme-run: (\w+) -->\n```sh\n(.*?)```", re.S)


def _blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(README)]


def test_the_section_has_the_three_parties() -> None:
    assert [who for who, _ in _blocks()] == ["agency", "witness", "agency", "outside"]


@pytest.mark.slow
def test_the_readme_commands_work_as_written(env: Env) -> None:
    seed_disclosures(env)
    work = env.tmp / "work"
    work.mkdir()
    bin_dir = str(Path(sys.executable).parent)
    agency_env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    agency_env.pop("FTIGATE_DEBUG", None)
    shared = {"LOG_VKEY": load_signer().verifier.vkey(), "TIN": TIN_A}
    # Neither the witness nor the outsider has the database or the key files.
    outside_env = {k: v for k, v in agency_env.items() if not k.startswith("FTIGATE_")} | {
        "FTIGATE_DB": str(env.tmp / "no-such.db"),
        "HOME": str(env.tmp / "outside-home"),
    }
    script = "set -euo pipefail\n"
    for who, block in _blocks():
        env_vars = agency_env if who == "agency" else outside_env
        exports = " ".join(f"{k}={_quote(v)}" for k, v in env_vars.items() if k != "PATH")
        script += (
            f"( export {exports}\n{block}\n"
            + ('echo "WITNESS_VKEY=$WITNESS_VKEY" > witness.env\n' if who == "witness" else "")
            + ")\n"
        )
        if who == "witness":
            script += "source witness.env\n"
    script = f"export LOG_VKEY={_quote(shared['LOG_VKEY'])} TIN={_quote(shared['TIN'])}\n" + script
    done = subprocess.run(
        ["bash", "-c", script], cwd=work, env={"PATH": agency_env["PATH"]},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    oks = [line for line in done.stdout.splitlines() if "OK: disclosure" in line]
    assert len(oks) == 3 and all("cosigned by oversight.example/w1" in ok for ok in oks)
    assert "Traceback" not in done.stderr
    # The outsider's check fails on a changed bundle, still with nothing of the agency's.
    bundle = sorted((work / "bundles").glob("*.tlog-proof"))[0]
    bundle.write_text(bundle.read_text().replace("index ", "index 9", 1))
    last = _blocks()[-1][1]
    done = subprocess.run(
        ["bash", "-c", f"set -euo pipefail\nsource witness.env\n{last}"], cwd=work,
        env={**outside_env, **shared}, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1 and bundle.name in done.stderr


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"
