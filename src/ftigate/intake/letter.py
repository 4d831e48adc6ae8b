"""The written request ("letter"): read YAML or JSON, check its shape, nothing more.

Whether the letter is *lawful* (signer, statute, officers) is the screen
stage's business; intake only refuses a letter it cannot read.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ftigate.intake.errors import IntakeError
from ftigate.law.loader import LawError, load_yaml_strict

MAX_LETTER_BYTES = 1 << 20


class Signer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(min_length=1)
    title: str = Field(min_length=1)


class Letter(BaseModel):
    """DESIGN section 4. Unknown keys are ignored: agencies add their own."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    requesting_agency: str = Field(min_length=1)
    department: str = Field(min_length=1)
    signer: Signer
    date: date
    statute: str = Field(min_length=1)
    purpose: str = Field(min_length=1)
    officers: list[str]
    record_count: int = Field(ge=0)

    @field_validator("officers", mode="before")
    @classmethod
    def _officer_ids_as_text(cls, value: Any) -> Any:
        # Officer ids are often numbers in YAML; they are identifiers, not quantities.
        if isinstance(value, list):
            return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
        return value


def read_letter(path: Path) -> Letter:
    """Read and validate a letter file; any problem is one IntakeError naming the field."""
    suffix = path.suffix.lower()
    if suffix not in {".yaml", ".yml", ".json"}:
        raise IntakeError(path, "a letter must be a .yaml, .yml or .json file")
    try:
        size = path.stat().st_size
        if size > MAX_LETTER_BYTES:
            raise IntakeError(path, f"letter is {size} bytes; the limit is {MAX_LETTER_BYTES}")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise IntakeError(path, "file not found") from None
    except IsADirectoryError:
        raise IntakeError(path, "is a directory, not a letter file") from None
    except OSError as exc:
        raise IntakeError(path, f"cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise IntakeError(path, "not valid UTF-8", line=line, hint="save the letter as UTF-8") from None
    data = _parse(path, suffix, text)
    if not isinstance(data, dict):
        raise IntakeError(path, "a letter is a mapping of fields (requesting_agency, signer, ...)")
    nul = _field_with_nul(data)
    if nul is not None:
        raise IntakeError(path, f"field {nul!r} contains a NUL byte; refused (a letter is evidence)")
    try:
        return Letter.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(letter)"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise IntakeError(path, f"field {field!r}: {_describe(err)}{more}") from None


def _describe(err: Any) -> str:
    if err["type"] == "missing":
        return "missing"
    return str(err["msg"]).lower()


def _field_with_nul(data: Any) -> str | None:
    """The first field (dotted path) whose text holds a NUL byte, if any (iterative: a
    letter nested as deep as the parser allows must not overflow the stack here)."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return where or "(letter)"
            continue
        if isinstance(value, dict):
            items: Any = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            continue
        children = [(f"{where}.{key}" if where else str(key), item) for key, item in items]
        stack.extend(reversed(children))
    return None


def _parse(path: Path, suffix: str, text: str) -> Any:
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise IntakeError(path, f"not valid JSON: {exc.msg}", line=exc.lineno) from None
        except RecursionError:
            raise IntakeError(path, "not a letter: nested too deeply") from None
    try:
        return load_yaml_strict(text, str(path))
    except LawError as exc:
        raise IntakeError(path, f"not valid YAML: {str(exc).split(': ', 1)[-1]}") from None
