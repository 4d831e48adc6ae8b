"""The audit's outputs: findings.csv, summary.json, report.html and (optionally) report.pdf."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ftigate.audit.run import AuditResult
from ftigate.report.render import (
    bar_chart_svg,
    html_to_pdf,
    output_directory,
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
        {"unlawful": "#7a1f1f", "lawful": "#3b6e3b"},
        "Lawful and unlawful disclosures" + (" by route" if summary["by_route"] else ""),
    )
    return out


def render_audit_html(result: AuditResult) -> str:
    return render_template(
        "audit.html",
        summary=result.summary,
        examples=result.examples,
        charts=charts(result.summary),
    )


def write_audit_outputs(result: AuditResult, out: Path, *, pdf: bool = False) -> list[Path]:
    """Write every output into a private folder, then put it in place as `out`."""
    with output_directory(out) as work:
        result.findings_csv().write_csv(work / FINDINGS_FILE)
        document = {**result.summary, "examples": result.examples}
        (work / SUMMARY_FILE).write_text(
            json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (work / HTML_FILE).write_text(render_audit_html(result), encoding="utf-8")
        if pdf:
            html_to_pdf(work / HTML_FILE, work / PDF_FILE)
        names = sorted(p.name for p in work.iterdir())
    return [out / name for name in names]
