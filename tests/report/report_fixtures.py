"""Fixtures for report tests: a rendered audit report from a small court-2025 batch,
a strict HTML checker, and the browser switch."""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ftigate.audit.baseline import irs_2025_disclosures
from ftigate.audit.reference import read_reference, read_requests
from ftigate.audit.run import audit_batch
from ftigate.law.loader import load_law
from ftigate.report.audit_report import write_audit_outputs
from ftigate.report.render import CHROMIUM
from ftigate.synth import io
from ftigate.synth.population import generate_population
from ftigate.synth.profiles import PROFILES
from ftigate.synth.requests import generate_requests

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class StrictHTML(HTMLParser):
    """Well-formedness as a validator would see it: every element closed in order, ids
    unique, a doctype and a language, and nothing fetched from anywhere but the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: set[str] = set()
        self.doctype = ""
        self.lang = ""
        self.tags: dict[str, int] = {}

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name, value in attrs:
            if name == "id" and value:
                if value in self.ids:
                    self.errors.append(f"duplicate id {value}")
                self.ids.add(value)
            if (
                name in {"src", "href", "xlink:href", "action"}
                and value
                and not value.startswith(("#", "data:"))
            ):
                self.errors.append(f"external reference in <{tag} {name}>")
            if tag == "html" and name == "lang":
                self.lang = value or ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()


def check_html(text: str) -> StrictHTML:
    parser = StrictHTML()
    parser.feed(text)
    parser.close()
    if parser.stack:
        parser.errors.append(f"unclosed: {parser.stack}")
    if parser.doctype.lower() != "doctype html":
        parser.errors.append("no <!DOCTYPE html>")
    if not parser.lang:
        parser.errors.append("no lang on <html>")
    for needle in ("http://", "https://", "//cdn", "@import"):
        if needle in text.replace("http://www.w3.org/", ""):
            parser.errors.append(f"network reference {needle!r}")
    return parser


def browser_or_skip() -> Path:
    """Chromium for browser tests. Missing it is a skip on a workstation, a failure in CI."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI is set but /usr/bin/chromium is missing: browser tests cannot run")
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium); browser test skipped")
    return CHROMIUM


BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def audit_report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """findings.csv, summary.json and report.html for the 2025 replica on a court-2025 batch."""
    root = tmp_path_factory.mktemp("report")
    population = generate_population(3_000, 5)
    io.write_population(population, root / "pop")
    batch = generate_requests(population, 2_000, PROFILES["court-2025"], 5, "court-2025")
    io.write_request_batch(batch, root / "req", PROFILES["court-2025"])
    disclosed = irs_2025_disclosures(
        read_requests(root / "req" / "requests.csv"), read_reference(root / "pop")
    )
    disclosed.write_csv(root / "disclosed.csv")
    result = audit_batch(
        root / "req" / "letter.yaml",
        root / "req" / "requests.csv",
        root / "disclosed.csv",
        load_law(),
        reference_path=root / "pop",
        example_key=b"r" * 32,
        key_note="test key",
        workers=1,
    )
    write_audit_outputs(result, root / "audit")
    return root / "audit"
