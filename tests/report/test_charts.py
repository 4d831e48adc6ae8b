"""Charts a court and a colour-blind reader can rely on: Okabe-Ito colours, every value
labelled, the legend clear of the bars, a text alternative, and user text drawn as text
(never parsed as mathtext)."""

from __future__ import annotations

import re

from ftigate.report.render import (
    _PLAIN_TEXT,
    BAD,
    GOOD,
    OKABE_ITO,
    _matplotlib,
    bar_chart_svg,
    stacked_chart_figure,
    stacked_chart_svg,
)

ROUTES = ["tin_matching", "address_matching", "$\\frac{$ odd route"]
SERIES = {"unlawful": [4, 30, 900], "lawful": [1, 70, 100]}  # the widest bar is at the bottom


def _fills(svg: str) -> set[str]:
    """Fill colours, as styles or (hatch patterns) as attributes."""
    return {m.lower() for m in re.findall(r'fill(?::\s*|=")(#[0-9a-fA-F]{6})', svg)}


def test_bars_use_the_okabe_ito_palette() -> None:
    colors = {"unlawful": BAD, "lawful": GOOD}
    svg = stacked_chart_svg(ROUTES, SERIES, colors, "Split", hatches={"unlawful": "///"})
    assert {BAD.lower(), GOOD.lower()} <= _fills(svg)
    assert not {"#7a1f1f", "#3b6e3b"} & _fills(svg)  # the red/green pair it replaced
    assert {BAD, GOOD} <= set(OKABE_ITO.values())


def test_every_value_is_labelled_and_described() -> None:
    svg = bar_chart_svg(["ADDRESS_ZIP_ONLY", "NAME_MISSING"], [1234, 7], "By reason")
    assert ">1,234<" in svg and ">7<" in svg
    desc = re.search(r"<desc[^>]*>(.*?)</desc>", svg, re.DOTALL)
    assert desc and "ADDRESS_ZIP_ONLY 1,234" in desc.group(1) and "NAME_MISSING 7" in desc.group(1)
    assert 'role="img"' in svg and "aria-describedby=" in svg


def test_the_legend_covers_no_bar() -> None:
    with _matplotlib().rc_context(_PLAIN_TEXT):
        figure, _alt = stacked_chart_figure(ROUTES, SERIES, {"unlawful": BAD, "lawful": GOOD}, "Split")
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(figure).draw()
        renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
        axes = figure.axes[0]
        legend = axes.get_legend().get_window_extent(renderer)
        bars = [patch.get_window_extent(renderer) for patch in axes.patches]
    assert bars
    assert not [bar for bar in bars if bar.overlaps(legend)]


def test_user_text_is_drawn_as_written() -> None:
    svg = stacked_chart_svg(ROUTES, SERIES, {"unlawful": BAD, "lawful": GOOD}, "Split")
    assert "$\\frac{$ odd route" in svg
