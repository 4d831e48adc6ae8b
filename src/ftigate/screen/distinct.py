"""Work done once per distinct value of a column, then spread back to every row.

A batch repeats itself: six given names in a thousand records, one city for thousands of
addresses, a few dozen officers. A per-row expression (`normalise`, `name_text`) gives
each row the answer for its value alone, so computing it on the distinct values and joining
the answers back gives every row the same answer, at the cost of the distinct values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

# When more than this share of a column's values are distinct, the join back costs more
# than the work it saves: the expression runs on every row instead.
MOST_DISTINCT = 0.5


def per_distinct(series: pl.Series, per_row: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    """`per_row` applied to `series`, computed once per distinct value.

    `per_row` must be elementwise (each row's result depends on that row's value alone:
    no aggregations, windows or shifts); for such an expression the result is identical,
    row for row, to `series.to_frame().select(per_row(pl.col(series.name)))`."""
    name = series.name
    if _mostly_distinct(series.to_frame()):
        return series.to_frame().select(per_row(pl.col(name)).alias(name)).to_series()
    answers = series.unique().to_frame().select(pl.col(name), per_row(pl.col(name)).alias("_answer"))
    spread = series.to_frame().join(answers, on=name, how="left", maintain_order="left", nulls_equal=True)
    return spread["_answer"].alias(name)


def per_distinct_rows(
    frame: pl.DataFrame, keys: Sequence[str], answer: Callable[[pl.DataFrame], pl.DataFrame]
) -> pl.DataFrame:
    """`frame` with the columns `answer` adds, computed once per distinct combination of
    the `keys` columns. `answer` gets a frame of the `keys` columns and returns it with its
    answers added, its rows in the order given; each answer must be elementwise over
    `keys` alone (as for `per_distinct`). The rows keep their order."""
    keyed = frame.select(keys)
    if _mostly_distinct(keyed):
        return pl.concat([frame, answer(keyed).drop(keys)], how="horizontal")
    return frame.join(
        answer(keyed.unique()), on=list(keys), how="left", maintain_order="left", nulls_equal=True
    )


def _mostly_distinct(keyed: pl.DataFrame) -> bool:
    """Whether more than MOST_DISTINCT of the rows are distinct, counted by row hash: a
    fraction of the cost of finding the distinct rows themselves, which a mostly distinct
    frame never needs. A hash collision can only undercount, which chooses the join: the
    answer is the same either way."""
    return keyed.hash_rows(seed=6103).n_unique() > MOST_DISTINCT * keyed.height
