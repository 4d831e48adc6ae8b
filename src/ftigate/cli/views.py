"""Tables the commands print."""

from __future__ import annotations

from rich.table import Table

from ftigate.cli.common import out
from ftigate.law.loader import Law
from ftigate.screen.run import ScreenSummary


def print_screen_summary(summary: ScreenSummary, law: Law) -> None:
    table = Table(title="Screening under 26 U.S.C. 6103(i)(2)", show_lines=False)
    table.add_column("")
    table.add_column("records", justify="right")
    table.add_column("share", justify="right")
    total = max(summary.records, 1)

    def row(label: str, n: int) -> None:
        table.add_row(label, f"{n:,}", f"{n / total:.1%}")

    row("records", summary.records)
    row("sufficient", summary.sufficient)
    row("refused", summary.refused)
    row("to review", summary.review)
    out.print(table)
    if summary.letter_codes:
        out.print(
            "[bold]Letter-level findings (apply to every record):[/] " + ", ".join(summary.letter_codes)
        )
    if summary.reasons:
        reasons = Table(title="Reasons (a record may have several)")
        reasons.add_column("code")
        reasons.add_column("effect")
        reasons.add_column("records", justify="right")
        reasons.add_column("citation")
        for code, n in sorted(summary.reasons.items(), key=lambda kv: (-kv[1], kv[0])):
            rc = law.codes.get(code)
            reasons.add_row(code, rc.effect.value if rc else "?", f"{n:,}", rc.citation if rc else "")
        out.print(reasons)
    if summary.warnings or summary.letter_warnings:
        warn = Table(title="Warnings (do not refuse)")
        warn.add_column("code")
        warn.add_column("records", justify="right")
        for code, n in sorted(summary.warnings.items(), key=lambda kv: (-kv[1], kv[0])):
            warn.add_row(code, f"{n:,}")
        out.print(warn)
