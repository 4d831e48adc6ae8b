"""The one error type intake raises: it names the file, the position and the column.

Positions are worded one way everywhere (README: "Conventions"):

* in a table (a request file, a disclosure file, a reference table, a decision file):
  `FILE, row R, column 'C'`, where row 1 is the first record after the header (blank
  lines are not records and are not counted; a record whose quoted field runs over
  several lines is one row), or `FILE, header, column 'C'` for the header itself;
* in a document (a letter, a policy or rule file): `FILE, line L, column C`, counting
  the file's lines from 1.

Never both a row and a line: the row is what a reader of the table can find.
"""

from __future__ import annotations

from pathlib import Path


class IntakeError(Exception):
    """Input that cannot be accepted as it is. Never carries a field's value: values may be
    taxpayer data, and error messages end up in logs."""

    def __init__(
        self,
        path: Path | str,
        message: str,
        *,
        line: int | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
        header: bool = False,
    ) -> None:
        if row is not None and line is not None:
            raise ValueError("an error position is a table's row or a document's line, not both")
        self.path = str(path)
        self.line = line
        self.row = row
        self.header = header
        self.column = column
        self.hint = hint
        self.message = message
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = [self.path]
        if self.header:
            where.append("header")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = ", ".join(where) + f": {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text
