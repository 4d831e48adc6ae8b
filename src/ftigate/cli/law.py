"""`ftigate law`: the law as it stood on a date, and what changed between two dates."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from ftigate.cli.common import guarded, new_app, out
from ftigate.law.loader import load_law
from ftigate.law.timeline import decided_rules, law_as_of, law_diff, law_digest

app = new_app(
    help="The law as it stood: every parameter's value on a date, its reference, and what changed.",
    no_args_is_help=True,
)

DATE_FORMATS = ["%Y-%m-%d"]
PolicyOption = Annotated[
    Path | None,
    typer.Option("--policy", help="YAML file overriding law parameters (see README: Policy settings)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print as JSON.")]


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _print_reference(reference: dict[str, Any] | None) -> None:
    if reference:
        out.print(f"  reference: {reference['citation']} <{reference['href']}>", soft_wrap=True, markup=False)
        if reference.get("document"):
            out.print(f"  document: {reference['document']}", soft_wrap=True, markup=False)


@app.command("show")
def show(
    at: Annotated[
        datetime | None,
        typer.Option("--at", formats=DATE_FORMATS, help="The date (YYYY-MM-DD; default: today)."),
    ] = None,
    policy: PolicyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print every law parameter in force on a date: value, since when, reference, file."""
    law = guarded(lambda: load_law(policy))
    when = at.date() if at else date.today()
    shown = guarded(lambda: law_as_of(law, when))
    # What a batch's ledger entry names: the digest, and the document it is the SHA-256 of
    # (RFC 8785), so that it can be recomputed without ftigate.
    resolved = guarded(lambda: law.at(when))
    shown["law_sha256"] = law_digest(resolved)
    shown["rules"] = decided_rules(resolved)
    shown["policy_sha256"] = law.policy_sha256
    if as_json:
        out.print_json(json.dumps(shown))
        return
    out.print(f"The law on {shown['as_of']}" + (f" (policy {shown['policy']})" if shown["policy"] else ""))
    out.print(f"law_sha256: {shown['law_sha256']}", markup=False)
    for name, entry in shown["parameters"].items():
        since = f"since {entry['since']}" if entry["since"] else "policy setting, undated"
        out.print(f"\n[bold]{name}[/]  ({since}; {entry['origin']})", soft_wrap=True)
        out.print(f"  value: {_compact(entry['value'])}", soft_wrap=True, markup=False)
        _print_reference(entry["reference"])


@app.command("diff")
def diff(
    first: Annotated[datetime, typer.Argument(formats=DATE_FORMATS, help="The earlier date (YYYY-MM-DD).")],
    second: Annotated[datetime, typer.Argument(formats=DATE_FORMATS, help="The later date (YYYY-MM-DD).")],
    policy: PolicyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print every parameter whose value differs between two dates, and the reference for it."""
    law = guarded(lambda: load_law(policy))
    changed = guarded(lambda: law_diff(law, first.date(), second.date()))
    if as_json:
        out.print_json(json.dumps(changed))
        return
    if not changed["parameters"]:
        out.print(f"No parameter differs between {changed['from']} and {changed['to']}.")
        return
    out.print(f"From the law on {changed['from']} to the law on {changed['to']}:")
    for item in changed["parameters"]:
        after = item["after"]
        since = f"since {after['since']}" if after["since"] else "policy setting"
        out.print(f"\n[bold]{item['parameter']}[/]  ({since}; {after['origin']})", soft_wrap=True)
        for change in item["changes"]:
            where = f" {change['path']}" if change["path"] else ""
            if change["change"] == "added":
                line = f"  +{where}: {_compact(change['after'])}"
            elif change["change"] == "removed":
                line = f"  -{where}: {_compact(change['before'])}"
            else:
                line = f"  ~{where}: {_compact(change['before'])} -> {_compact(change['after'])}"
            out.print(line, soft_wrap=True, markup=False)
        _print_reference(after["reference"])
