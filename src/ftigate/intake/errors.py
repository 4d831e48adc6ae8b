"""The one error type intake raises: it names the file, the line or row, and the column."""

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
    ) -> None:
        self.path = str(path)
        self.line = line
        self.row = row
        self.column = column
        self.hint = hint
        self.message = message
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = [self.path]
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
