"""What every report shares: Jinja2 templates shipped with the package, charts as inline
SVG drawn on the server by matplotlib, PDF through an offline renderer, and output
folders that appear complete or not at all.

Nothing here reaches the network: no CDN, no web fonts, no scripts from elsewhere
(tax systems are closed networks; IRS Publication 1075).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jinja2
import matplotlib
from matplotlib.figure import Figure

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--no-pdf-header-footer",
)
PDF_TIMEOUT_SECONDS = 120

# Deterministic SVG ids, and text kept as text (smaller, searchable, read by screen readers).
matplotlib.rcParams["svg.hashsalt"] = "ftigate"
matplotlib.rcParams["svg.fonttype"] = "none"
matplotlib.rcParams["font.family"] = "DejaVu Sans"


class ReportError(Exception):
    """A report could not be produced (e.g. no PDF renderer). The message is one line."""


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("ftigate.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_template(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


def _svg_text(figure: Figure, title: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    # The RDF metadata block names creativecommons.org and purl.org: not wanted offline.
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)
    # Several charts share one page: matplotlib's ids (figure_1, patch_2, ...) must not collide.
    prefix = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m.group(1)})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}-{m.group(1)}"', svg)
    # An accessible name for the chart; the data table beside it carries the numbers.
    safe_title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"<svg\b", f'<svg role="img" aria-label="{safe_title}" class="chart"', svg, count=1)


def bar_chart_svg(labels: Sequence[str], values: Sequence[int], title: str, *, xlabel: str = "count") -> str:
    """A horizontal bar chart as an inline SVG string (largest bar first)."""
    height = max(1.6, 0.42 * len(labels) + 0.9)
    figure = Figure(figsize=(7.2, height))
    axes = figure.add_subplot()
    positions = list(range(len(labels)))
    axes.barh(positions, list(values), color="#7a1f1f")
    axes.set_yticks(positions, list(labels), fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel(xlabel, fontsize=8)
    axes.set_title(title, fontsize=10, loc="left")
    axes.tick_params(axis="x", labelsize=8)
    for spine in ("top", "right"):
        axes.spines[spine].set_visible(False)
    top = max(values) if values else 0
    for y, value in zip(positions, values, strict=True):
        axes.text(value + top * 0.01, y, f"{value:,}", va="center", fontsize=7)
    return _svg_text(figure, title)


def stacked_chart_svg(
    groups: Sequence[str], series: dict[str, Sequence[int]], colors: dict[str, str], title: str
) -> str:
    """Horizontal stacked bars: one bar per group, one segment per series."""
    figure = Figure(figsize=(7.2, max(1.6, 0.5 * len(groups) + 1.1)))
    axes = figure.add_subplot()
    positions = list(range(len(groups)))
    left = [0] * len(groups)
    for name, values in series.items():
        axes.barh(positions, list(values), left=left, label=name, color=colors.get(name))
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.set_yticks(positions, list(groups), fontsize=8)
    axes.invert_yaxis()
    axes.set_title(title, fontsize=10, loc="left")
    axes.tick_params(axis="x", labelsize=8)
    axes.legend(fontsize=8, frameon=False, loc="lower right")
    for spine in ("top", "right"):
        axes.spines[spine].set_visible(False)
    return _svg_text(figure, title)


def html_to_pdf(html_path: Path, pdf_path: Path, *, chromium: Path = CHROMIUM) -> None:
    """Print an HTML file to PDF with headless Chromium, offline, in a private profile."""
    if not chromium.exists():
        raise ReportError(f"no PDF renderer: {chromium} is not installed")
    profile = Path(tempfile.mkdtemp(prefix="ftigate-chromium-"))
    try:
        command = [
            str(chromium),
            *CHROMIUM_ARGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf_path}",
            html_path.resolve().as_uri(),
        ]
        completed = subprocess.run(
            command, capture_output=True, timeout=PDF_TIMEOUT_SECONDS, check=False, env=_quiet_env()
        )
    except subprocess.TimeoutExpired:
        raise ReportError("the PDF renderer did not finish in time") from None
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if completed.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        raise ReportError(f"the PDF renderer failed (exit code {completed.returncode})")


def _quiet_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HOME", tempfile.gettempdir())
    return env


@contextmanager
def output_directory(out: Path) -> Iterator[Path]:
    """Yield a private folder beside `out`; on success it replaces `out` in one rename.

    On any error the folder is removed and `out` is left as it was: no partial output."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not out.is_dir():
        raise ReportError(f"{out} exists and is not a directory")
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        yield work
        os.chmod(work, 0o755)
        if out.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.replace(out, retired / out.name)
            os.replace(work, out)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(work, out)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
