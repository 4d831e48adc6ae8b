"""The audit report: valid, offline HTML with inline SVG charts, checked by a parser and
in a real browser (Playwright driving Debian's Chromium)."""

from __future__ import annotations

import json
from pathlib import Path

from report_fixtures import BROWSER_ARGS, browser_or_skip, check_html


def test_report_html_is_valid_and_offline(audit_report_dir: Path) -> None:
    text = (audit_report_dir / "report.html").read_text(encoding="utf-8")
    parsed = check_html(text)
    assert parsed.errors == []
    assert parsed.tags.get("svg", 0) >= 2
    assert parsed.tags.get("script", 0) == 0
    for section in ("totals", "reasons", "batch", "damages", "examples", "method"):
        assert section in parsed.ids


def test_checker_catches_broken_html() -> None:
    assert check_html("<!DOCTYPE html><html lang='en'><body><div><p>x</div></body></html>").errors
    remote_script = "https://" + "cdn.example/x.js"  # a page that would load code from the network
    assert check_html(
        f'<!DOCTYPE html><html lang="en"><head><script src="{remote_script}"></script></head></html>'
    ).errors


def test_report_numbers_match_summary(audit_report_dir: Path) -> None:
    summary = json.loads((audit_report_dir / "summary.json").read_text())
    text = (audit_report_dir / "report.html").read_text(encoding="utf-8")
    assert f'id="total-unlawful">{summary["totals"]["unlawful"]:,}<' in text
    assert "7431(b)" in text and "estimate" in text.lower()
    assert summary["totals"]["unlawful"] > 0


def test_charts_render_in_a_browser(audit_report_dir: Path) -> None:
    chromium = browser_or_skip()
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True, args=BROWSER_ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            page.goto((audit_report_dir / "report.html").resolve().as_uri())
            charts = page.locator("svg.chart")
            assert charts.count() >= 2
            for index in range(charts.count()):
                chart = charts.nth(index)
                assert chart.get_attribute("role") == "img"
                assert chart.get_attribute("aria-label")
                box = chart.bounding_box()
                assert box is not None and box["width"] > 200 and box["height"] > 50
            # The bars are drawn: the reason chart has a label for the largest category.
            assert page.locator("svg.chart text", has_text="ADDRESS_NOT_CORROBORATED").count() >= 1
            assert page.locator("#by-primary-reason tbody tr").count() >= 3
        finally:
            browser.close()
    assert requested and all(url.startswith(("file:", "data:")) for url in requested)
