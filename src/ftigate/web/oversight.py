"""The oversight dashboard over time, as pure functions: what the office did each day, and
the same figures as an inline SVG bar chart (no script, nothing from the network).

Counted by UTC day, by the rules of the reports (README: "Counting"): a request on the
day its batch was recorded, under the decision its review reached (the latest vote's
decision replaces the screening's); a disclosure on the day its batch was released;
review load as the requests sent to review that day and the votes cast that day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape

from ftigate.decide.gates import REFUSE, REVIEW

SERIES = (
    ("requests", "requests", "#0b4f9c"),
    ("refused", "refused", "#b00020"),
    ("disclosed", "disclosed", "#1b7a3a"),
    ("sent_to_review", "sent to review", "#8a5a00"),
    ("votes", "review votes", "#5b3f8c"),
)
"""(field, label, colour): each colour has a contrast of at least 4.5:1 on white"""


@dataclass
class Day:
    day: str
    requests: int = 0
    refused: int = 0
    disclosed: int = 0
    sent_to_review: int = 0
    votes: int = 0
    refusals: dict[str, int] = field(default_factory=dict)


def daily_activity(
    decisions: Iterable[Sequence[object]],
    reviews: Iterable[Sequence[object]],
    released: Iterable[Sequence[object]],
    last_days: int = 60,
) -> list[Day]:
    """One `Day` per day with any activity (the latest `last_days` of them), oldest first,
    from `ServiceStore.activity`'s rows."""
    days: dict[str, Day] = {}

    def on(day: object) -> Day:
        return days.setdefault(str(day), Day(str(day)))

    final: dict[tuple[str, str], str] = {}
    for _day, batch_id, request_id, decision in reviews:
        final[(str(batch_id), str(request_id))] = str(decision)
        on(_day).votes += 1
    for day, request_id, batch_id, decision, reasons in decisions:
        counted = on(day)
        counted.requests += 1
        if decision == REVIEW:
            counted.sent_to_review += 1
        if final.get((str(batch_id), str(request_id)), decision) == REFUSE:
            counted.refused += 1
            for code in reasons or ():  # type: ignore[attr-defined]
                counted.refusals[str(code)] = counted.refusals.get(str(code), 0) + 1
    for day, disclosures in released:
        on(day).disclosed += int(disclosures)  # type: ignore[call-overload]
    return [days[d] for d in sorted(days)][-last_days:]


def refusal_codes(days: Sequence[Day]) -> list[str]:
    """Every refusal reason of `days`, the most frequent first."""
    totals: dict[str, int] = {}
    for day in days:
        for code, n in day.refusals.items():
            totals[code] = totals.get(code, 0) + n
    return sorted(totals, key=lambda code: (-totals[code], code))


def bar_chart_svg(days: Sequence[Day], title_id: str = "chart-title", desc_id: str = "chart-desc") -> str:
    """A grouped bar chart of the series per day, as SVG markup to put inline. Its title
    and description (`role="img"`, `aria-labelledby`) are the text alternative; the table
    beside it holds the same figures. Presentation attributes only (no inline style), so
    `Content-Security-Policy: default-src 'self'` lets it draw."""
    bar, gap, height, left, bottom, top = 9, 14, 180, 48, 46, 12
    group = bar * len(SERIES) + gap
    width = left + max(len(days), 1) * group + 10
    full = height + top + bottom + 24
    peak = max([getattr(d, name) for d in days for name, _, _ in SERIES] + [1])
    scale = height / peak
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{title_id} {desc_id}" '
        f'width="{width}" height="{full}" viewBox="0 0 {width} {full}">',
        f'<title id="{title_id}">Oversight by day</title>',
        f'<desc id="{desc_id}">{escape(describe(days))}</desc>',
        f'<line x1="{left}" y1="{top + height}" x2="{width - 4}" y2="{top + height}" stroke="#111"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11" fill="#111">{peak:,}</text>',
        f'<text x="{left - 6}" y="{top + height}" text-anchor="end" font-size="11" fill="#111">0</text>',
    ]
    for i, day in enumerate(days):
        x0 = left + i * group + gap / 2
        for j, (name, label, colour) in enumerate(SERIES):
            value = getattr(day, name)
            h = round(value * scale, 1)
            parts.append(
                f'<rect x="{x0 + j * bar}" y="{top + height - h}" width="{bar - 1}" height="{h}" '
                f'fill="{colour}"><title>{escape(day.day)}: {value:,} {escape(label)}</title></rect>'
            )
        parts.append(
            f'<text x="{x0 + bar * len(SERIES) / 2}" y="{top + height + 14}" text-anchor="middle" '
            f'font-size="10" fill="#111">{escape(day.day[5:])}</text>'
        )
    for j, (_, label, colour) in enumerate(SERIES):
        x = left + j * 118
        y = top + height + 34
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{y}" font-size="11" fill="#111">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def describe(days: Sequence[Day]) -> str:
    """The chart in words (its text alternative)."""
    if not days:
        return "No activity recorded yet."
    totals = {name: sum(getattr(d, name) for d in days) for name, _, _ in SERIES}
    listed = ", ".join(f"{totals[name]:,} {label}" for name, label, _ in SERIES)
    return f"From {days[0].day} to {days[-1].day} ({len(days)} day(s) with activity): {listed}."
