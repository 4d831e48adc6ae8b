"""The audit's outputs: findings.csv, summary.json, report.html and (optionally) report.pdf."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ftigate.audit.run import AuditResult
from ftigate.outputs import OutputFolder
from ftigate.report.provenance import override_sentence
from ftigate.report.render import (
    BAD,
    GOOD,
    bar_chart_svg,
    html_to_pdf,
    render_template,
    stacked_chart_svg,
)

FINDINGS_FILE = "findings.csv"
SUMMARY_FILE = "summary.json"
HTML_FILE = "report.html"
PDF_FILE = "report.pdf"


def charts(summary: dict[str, Any]) -> dict[str, str]:
    """Inline SVG charts keyed by name; each has a data table in the report beside it."""
    out: dict[str, str] = {}
    primary = summary["by_primary_reason"]
    if primary:
        out["by_reason"] = bar_chart_svg(
            [row["code"] for row in primary],
            [row["count"] for row in primary],
            "Unlawful disclosures by primary reason",
            xlabel="disclosures",
        )
    totals = summary["totals"]
    routes = summary["by_route"] or [
        {"route": "all disclosures", "disclosures": totals["disclosures"], "unlawful": totals["unlawful"]}
    ]
    out["lawful_split"] = stacked_chart_svg(
        [row["route"] for row in routes],
        {
            "unlawful": [row["unlawful"] for row in routes],
            "lawful": [row["disclosures"] - row["unlawful"] for row in routes],
        },
        {"unlawful": BAD, "lawful": GOOD},
        "Lawful and unlawful disclosures" + (" by route" if summary["by_route"] else ""),
        hatches={"unlawful": "///"},
    )
    return out


def render_audit_html(result: AuditResult) -> str:
    return render_template(
        "audit.html",
        summary=result.summary,
        examples=result.examples,
        charts=charts(result.summary),
        override=override_sentence(result.summary.get("provenance", {}).get("policy")),
    )


def stage_audit_outputs(result: AuditResult, folder: OutputFolder, *, pdf: bool = False) -> None:
    """Write every output into an open output folder's staging area."""
    folder.write_csv(FINDINGS_FILE, result.findings_csv())
    document = {**result.summary, "examples": result.examples}
    folder.write_text(SUMMARY_FILE, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    folder.write_text(HTML_FILE, render_audit_html(result))
    if pdf:
        html_to_pdf(folder.staging / HTML_FILE, folder.path(PDF_FILE))


def write_audit_outputs(
    result: AuditResult, out: Path, *, pdf: bool = False, force: bool = False
) -> list[Path]:
    """Write every output, then put them in place in `out` at once (an OutputFolder)."""
    with OutputFolder(out, force=force, command="audit") as folder:
        stage_audit_outputs(result, folder, pdf=pdf)
        folder.prepare()
        return folder.commit()
