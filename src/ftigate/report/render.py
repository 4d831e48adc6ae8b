"""What every report shares: Jinja2 templates shipped with the package, charts as inline
SVG drawn on the server by matplotlib (colour-blind-safe, labelled, described for screen
readers), and PDF through an offline renderer. Output folders are
`ftigate.outputs.OutputFolder`.

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
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

if TYPE_CHECKING:
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



@cache
def _matplotlib() -> Any:
    """matplotlib, imported when a chart is drawn (it is most of a command's start-up time),
    set for deterministic SVG ids and text kept as text (smaller, searchable, read by
    screen readers)."""
    import matplotlib

    matplotlib.rcParams["svg.hashsalt"] = "ftigate"
    matplotlib.rcParams["svg.fonttype"] = "none"
    matplotlib.rcParams["font.family"] = "DejaVu Sans"
    return matplotlib


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


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


# Okabe & Ito (2008), "Color Universal Design": distinguishable under every common form
# of colour blindness, and in greyscale with the hatching added to the "bad" series.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
BAD = OKABE_ITO["vermillion"]
GOOD = OKABE_ITO["blue"]
NEUTRAL = OKABE_ITO["bluish_green"]
LABEL_CHARS = 48
# User text (request routes, codes, agency names) is drawn as text, never as mathtext:
# "$\frac{$" in a disclosure file must not be parsed (it raised, echoing the value).
_PLAIN_TEXT: dict[Any, Any] = {"text.parse_math": False, "text.usetex": False}


def _label(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _svg_text(figure: Figure, title: str, alt: str) -> str:
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
    # An accessible name and description (Section 508): the title, then every value the
    # chart shows; the data table beside it carries the same numbers.
    opening = f'<svg role="img" aria-label="{_escape(title)}" aria-describedby="{prefix}-desc" class="chart"'
    svg = re.sub(r"<svg\b", opening, svg, count=1)
    head = f"<title>{_escape(title)}</title><desc id=\"{prefix}-desc\">{_escape(alt)}</desc>"
    return re.sub(r"(<svg\b[^>]*>)", lambda m: m.group(1) + head, svg, count=1)


def bar_chart_svg(
    labels: Sequence[str], values: Sequence[int], title: str, *, xlabel: str = "count", color: str = BAD
) -> str:
    """A horizontal bar chart as an inline SVG string (largest bar first), each bar labelled
    with its value."""
    shown = [_label(label) for label in labels]
    alt = f"{title}: " + "; ".join(f"{label} {value:,}" for label, value in zip(shown, values, strict=True))
    with _matplotlib().rc_context(_PLAIN_TEXT):
        figure = _figure(7.2, max(1.6, 0.42 * len(labels) + 0.9))
        axes = figure.add_subplot()
        positions = list(range(len(labels)))
        axes.barh(positions, list(values), color=color, edgecolor=OKABE_ITO["black"], linewidth=0.4)
        axes.set_yticks(positions, shown, fontsize=8)
        axes.invert_yaxis()
        axes.set_xlabel(xlabel, fontsize=8)
        axes.set_title(title, fontsize=10, loc="left")
        axes.tick_params(axis="x", labelsize=8)
        for spine in ("top", "right"):
            axes.spines[spine].set_visible(False)
        top = max(values) if values else 0
        axes.set_xlim(0, max(top * 1.15, 1))  # room for the value labels past the longest bar
        for y, value in zip(positions, values, strict=True):
            axes.text(value + top * 0.01, y, f"{value:,}", va="center", fontsize=7)
        return _svg_text(figure, title, alt)


def stacked_chart_svg(
    groups: Sequence[str],
    series: dict[str, Sequence[int]],
    colors: dict[str, str],
    title: str,
    *,
    hatches: dict[str, str] | None = None,
) -> str:
    """Horizontal stacked bars: one bar per group, one segment per series, each segment
    labelled with its count when wide enough and each bar with its total; the legend sits
    above the bars, never on them."""
    with _matplotlib().rc_context(_PLAIN_TEXT):
        figure, alt = stacked_chart_figure(groups, series, colors, title, hatches=hatches)
        return _svg_text(figure, title, alt)


def stacked_chart_figure(
    groups: Sequence[str],
    series: dict[str, Sequence[int]],
    colors: dict[str, str],
    title: str,
    *,
    hatches: dict[str, str] | None = None,
) -> tuple[Figure, str]:
    """The stacked chart as a matplotlib figure and its text alternative (call inside
    `_matplotlib().rc_context(_PLAIN_TEXT)`; tests measure its layout)."""
    shown = [_label(group) for group in groups]
    totals = [sum(values[i] for values in series.values()) for i in range(len(groups))]
    alt = f"{title}: " + "; ".join(
        f"{group}: " + ", ".join(f"{name} {values[i]:,}" for name, values in series.items())
        for i, group in enumerate(shown)
    )
    figure = _figure(7.2, max(1.9, 0.5 * len(groups) + 1.4))
    axes = figure.add_subplot()
    positions = list(range(len(groups)))
    top = max(totals) if totals else 0
    left = [0] * len(groups)
    for name, values in series.items():
        bars = axes.barh(
            positions,
            list(values),
            left=left,
            label=name,
            color=colors.get(name),
            hatch=(hatches or {}).get(name),
            edgecolor=OKABE_ITO["black"],
            linewidth=0.4,
        )
        for bar, value in zip(bars, values, strict=True):
            if value and top and value >= 0.08 * top:
                axes.text(
                    bar.get_x() + bar.get_width() / 2,
                    bar.get_y() + bar.get_height() / 2,
                    f"{value:,}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white",
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": OKABE_ITO["black"], "alpha": 0.55,
                          "linewidth": 0},
                )  # fmt: skip
        left = [a + b for a, b in zip(left, values, strict=True)]
    for y, total in zip(positions, totals, strict=True):
        axes.text(total + top * 0.01, y, f"{total:,}", va="center", fontsize=7)
    axes.set_xlim(0, max(top * 1.15, 1))
    axes.set_yticks(positions, shown, fontsize=8)
    axes.invert_yaxis()
    axes.set_title(title, fontsize=10, loc="left", pad=22)
    axes.tick_params(axis="x", labelsize=8)
    # Above the plotting area, under the title: a legend inside the axes can cover a bar.
    axes.legend(
        fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=max(1, len(series)),
        borderaxespad=0.2,
    )  # fmt: skip
    for spine in ("top", "right"):
        axes.spines[spine].set_visible(False)
    return figure, alt


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
        # `profile` is this call's own mkdtemp folder (Chromium's profile), never a user path.
        shutil.rmtree(profile, ignore_errors=True)
    if completed.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        raise ReportError(f"the PDF renderer failed (exit code {completed.returncode})")


def _quiet_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("HOME", tempfile.gettempdir())
    return env
