"""The oversight dashboard over time: the counting by day (a table of cases), the chart's
markup (accessible, nothing that CSP or an offline page would refuse), and the page."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from web_helpers import AGENCY, Service

from ftigate.web.oversight import Day, bar_chart_svg, daily_activity, describe, refusal_codes

D1, D2, D3 = "2026-11-30", "2026-12-01", "2026-12-02"

# (name, decisions, reviews, released, expected {day: (requests, refused, disclosed, to review, votes)})
CASES = [
    ("nothing yet", [], [], [], {}),
    (
        "a request counts on its batch's day, a refusal under its reasons",
        [(D1, "r1", "b1", "disclose", []), (D1, "r2", "b1", "refuse", ["NO_MATCH"])],
        [],
        [(D2, 1)],
        {D1: (2, 1, 0, 0, 0), D2: (0, 0, 1, 0, 0)},
    ),
    (
        "a review refused later counts as refused on the request's day; the votes on theirs",
        [(D1, "r1", "b1", "review", ["LOW_CONFIDENCE"]), (D1, "r2", "b1", "review", ["LOW_CONFIDENCE"])],
        [(D2, "b1", "r1", "review"), (D3, "b1", "r1", "disclose"), (D3, "b1", "r2", "refuse")],
        [(D3, 1)],
        {D1: (2, 1, 0, 2, 0), D2: (0, 0, 0, 0, 1), D3: (0, 0, 1, 0, 2)},
    ),
    (
        "the same request id in two batches is two requests",
        [(D1, "r1", "b1", "refuse", ["A"]), (D2, "r1", "b2", "review", ["B"])],
        [(D2, "b2", "r1", "disclose")],
        [],
        {D1: (1, 1, 0, 0, 0), D2: (1, 0, 0, 1, 1)},
    ),
]


@pytest.mark.parametrize(
    ("name", "decisions", "reviews", "released", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_daily_activity(
    name: str,
    decisions: list[tuple[object, ...]],
    reviews: list[tuple[object, ...]],
    released: list[tuple[object, ...]],
    expected: dict[str, tuple[int, ...]],
) -> None:
    days = daily_activity(decisions, reviews, released)
    assert [d.day for d in days] == sorted(expected)
    assert {d.day: (d.requests, d.refused, d.disclosed, d.sent_to_review, d.votes) for d in days} == expected


def test_refusals_by_reason_and_the_latest_days_only() -> None:
    decisions = [
        (f"2026-10-{n:02d}", f"r{n}", "b", "refuse", ["X"] if n % 2 else ["Y", "X"]) for n in range(1, 31)
    ]
    days = daily_activity(decisions, [], [], last_days=7)
    assert [d.day for d in days] == [f"2026-10-{n:02d}" for n in range(24, 31)]
    assert refusal_codes(days) == ["X", "Y"]
    assert days[-1].refusals == {"Y": 1, "X": 1}


def test_the_chart_is_accessible_svg_with_nothing_from_outside() -> None:
    days = [Day(D1, requests=300, refused=20, disclosed=0, sent_to_review=4), Day(D2, disclosed=276, votes=8)]
    svg = bar_chart_svg(days)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg" and root.get("role") == "img"
    labelled = (root.get("aria-labelledby") or "").split()
    assert [root.find(f"{ns}title").get("id"), root.find(f"{ns}desc").get("id")] == labelled  # type: ignore[union-attr]
    assert root.find(f"{ns}desc").text == describe(days)  # type: ignore[union-attr]
    assert "300 requests" in describe(days) and "276 disclosed" in describe(days)
    # The tallest bar is the chart's full height; every bar says what it is.
    bars = [r for r in root.iter(f"{ns}rect") if r.find(f"{ns}title") is not None]
    assert len(bars) == 2 * 5
    assert max(float(r.get("height") or 0) for r in bars) == 180
    assert any(r.find(f"{ns}title").text == f"{D2}: 276 disclosed" for r in bars)  # type: ignore[union-attr]
    assert "<script" not in svg and "style=" not in svg and "href" not in svg
    assert re.findall(r"https?://[^\"]+", svg) == ["http://www.w3.org/2000/svg"]
    assert ET.fromstring(bar_chart_svg([])).find(f"{ns}desc").text == "No activity recorded yet."  # type: ignore[union-attr]


def test_the_dashboard_shows_the_office_over_time(service: Service) -> None:
    job = service.submit(service.tokens[AGENCY])
    service.runner.run_until_idle()
    a, b = service.sign_in("officer-a"), service.sign_in("officer-b")
    queue = a.get("/api/review").json()
    token_a, token_b = service.csrf(a), service.csrf(b)
    first, *others = [q["request_id"] for q in queue]
    for client, token in ((a, token_a), (b, token_b)):
        client.post(f"/api/review/{job['job_id']}/{first}", json={"action": "approve", "reason": "checked"},
                    headers={"X-CSRF-Token": token}).raise_for_status()  # fmt: skip
    for request_id in others:
        a.post(f"/api/review/{job['job_id']}/{request_id}", json={"action": "refuse", "reason": "not sure"},
               headers={"X-CSRF-Token": token_a}).raise_for_status()  # fmt: skip
    service.runner.run_until_idle()
    today = datetime.now(UTC).date().isoformat()
    counts = a.get(f"/api/batches/{job['job_id']}/counts").json()["decisions"]
    auditor = service.sign_in("auditor-1")
    page = auditor.get("/").text
    row = re.search(rf'<tr><th scope="row">{today}</th>(.*?)</tr>', page)
    assert row, page
    cells = [int(c) for c in re.findall(r'<td class="num">(\d+)</td>', row.group(1))]
    assert cells == [300, counts["refuse"][""], counts["disclose"][""], len(queue), 2 + len(others)]
    assert 'role="img"' in page and "<figcaption>" in page and "Refusals by reason and day" in page
