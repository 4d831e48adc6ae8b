"""Small-cell suppression with complementary suppression, for published count tables.

A table is a set of cells (id -> count) and a set of *lines*: groups of cells tied by
an equation the public can use, such as "the agencies' counts add up to the total" or
"records = disclosed + refused + in review". Rules:

1. Primary: a cell with 1 <= count < threshold is hidden (zeros single out nobody and
   are published).
2. Complementary: a line with exactly one hidden cell lets that cell be recovered by
   subtraction, so another cell of the line is hidden too (the smallest visible part,
   else the total), until no line has exactly one hidden cell.
3. Check: beyond single lines, combinations of equations can still pin a hidden cell.
   Each hidden cell is tested for linear determinacy (is it fixed by the published
   cells and all the equations together?); any that is gets another complement.

The result lists the hidden cells; rendering shows them with HIDDEN_SYMBOL.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

HIDDEN_SYMBOL = "*"
DEFAULT_THRESHOLD = 10

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Line(Generic[K]):
    """Cells tied by one equation: `total` = sum of `parts` (total None: a linked group,
    e.g. taxpayers and instances of disclosure, hidden together or not at all)."""

    parts: tuple[K, ...]
    total: K | None = None

    def members(self) -> tuple[K, ...]:
        return (*self.parts, self.total) if self.total is not None else self.parts


def primary_hidden(cells: Mapping[K, int], threshold: int) -> set[K]:
    return {cell for cell, value in cells.items() if 0 < value < threshold}


def _order(cell: Hashable) -> str:
    return repr(cell)


def _complement(line: Line[K], cells: Mapping[K, int], hidden: set[K]) -> K | None:
    """The cell to hide next in a line: the smallest visible part, else the total."""
    parts = [c for c in line.parts if c not in hidden]
    if parts:
        return min(parts, key=lambda c: (cells[c], _order(c)))
    if line.total is not None and line.total not in hidden:
        return line.total
    return None


def _close_lines(cells: Mapping[K, int], lines: Sequence[Line[K]], hidden: set[K]) -> None:
    changed = True
    while changed:
        changed = False
        for line in lines:
            hidden_here = [c for c in line.members() if c in hidden]
            if len(hidden_here) == 1:
                extra = _complement(line, cells, hidden)
                if extra is not None:
                    hidden.add(extra)
                    changed = True


def determined_cells(cells: Mapping[K, int], lines: Sequence[Line[K]], hidden: set[K]) -> list[K]:
    """Hidden cells whose value the equations fix, given every published cell.

    Linear algebra, not guesswork: a hidden cell is fixed exactly when every solution
    of the homogeneous system over the hidden cells leaves it unchanged, i.e. its
    component is zero across the null space of the constraint matrix."""
    order = sorted(hidden, key=_order)
    if not order:
        return []
    index = {cell: i for i, cell in enumerate(order)}
    rows: list[np.ndarray] = []
    for line in lines:
        if line.total is None:
            continue  # a linked group is not an equation
        row = np.zeros(len(order))
        for part in line.parts:
            if part in index:
                row[index[part]] += 1.0
        if line.total in index:
            row[index[line.total]] -= 1.0
        if row.any():
            rows.append(row)
    if not rows:
        return []
    matrix = np.vstack(rows)
    _, singular, vt = np.linalg.svd(matrix)
    rank = int((singular > 1e-9).sum())
    null_space = vt[rank:].T  # columns span the solutions
    if null_space.shape[1] == 0:
        return order
    return [cell for cell, i in index.items() if np.abs(null_space[i]).max() < 1e-9]


def _hide_dependents(cells: Mapping[K, int], dependents: Mapping[K, Sequence[K]], hidden: set[K]) -> None:
    for cell, bounded in dependents.items():
        if cell in hidden:
            hidden.update(c for c in bounded if cells[c] > 0)


def suppress(
    cells: Mapping[K, int],
    lines: Sequence[Line[K]],
    threshold: int = DEFAULT_THRESHOLD,
    dependents: Mapping[K, Sequence[K]] | None = None,
) -> set[K]:
    """The set of cells to hide (see the module doc).

    `dependents` maps a cell to cells that are bounded by it (a part of it that is not
    in an equation with it, such as refused records citing one reason, which never
    exceed the records refused): when the cell is hidden, its non-zero dependents are
    hidden too, or a published dependent would give a floor that can pin it."""
    if threshold < 1:
        raise ValueError("the suppression threshold must be at least 1")
    hidden = primary_hidden(cells, threshold)
    while True:
        before = -1
        while before != len(hidden):
            before = len(hidden)
            _hide_dependents(cells, dependents or {}, hidden)
            _close_lines(cells, lines, hidden)
        fixed = determined_cells(cells, lines, hidden)
        if not fixed:
            return hidden
        added = False
        for cell in fixed:
            for line in lines:
                if line.total is not None and cell in line.members():
                    extra = _complement(line, cells, hidden)
                    if extra is not None:
                        hidden.add(extra)
                        added = True
                        break
            if added:
                break
        if not added:  # every line of a fixed cell is fully hidden: nothing more to hide
            return hidden
