"""Reading statute citations as agencies write them, and classifying them for L2/R4.

"8 USC 1253(a)(1)", "8 U.S.C. § 1253(a)(1)" and "INA 243(a)(1)" name one
provision; `parse_citation` turns each into the same `Citation`. `classify`
looks a citation up from its most specific subsection to its section, then
by title, in the configured `StatuteTable`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ftigate.law.model import StatuteTable


class StatuteClass(StrEnum):
    CRIMINAL = "criminal"
    CIVIL = "civil"
    TAX = "tax"
    UNKNOWN = "unknown"
    MISSING = "missing"


@dataclass(frozen=True)
class Citation:
    title: int
    section: str  # lower-case letters: "1229a"
    subsections: tuple[str, ...]  # as written, without parentheses: ("a", "1", "B")

    def __str__(self) -> str:
        subs = "".join(f"({s})" for s in self.subsections)
        return f"{self.title} U.S.C. {self.section}{subs}"

    def lookup_keys(self) -> list[str]:
        """Lookup keys from the most specific subsection down to the bare section."""
        subs = [s.lower() for s in self.subsections]
        return [
            f"{self.title}:{self.section}" + "".join(f"({s})" for s in subs[:n])
            for n in range(len(subs), -1, -1)
        ]


_SUBS = r"((?:\s*\(\s*[A-Za-z0-9]+\s*\))*)"
_USC = re.compile(r"^(\d{1,2})\s*U\s*S\s*C(?:A)?\s*(\d+[A-Za-z]?(?:-\d+)?)" + _SUBS + r"$")
_INA = re.compile(r"^(?:INA|IMMIGRATION AND NATIONALITY ACT)\s*(\d+[A-Za-z]?)" + _SUBS + r"$")
_INA_TRAILING = re.compile(
    r"^(\d+[A-Za-z]?)" + _SUBS + r"\s*OF THE\s*(?:INA|IMMIGRATION AND NATIONALITY ACT)$"
)
_IRC = re.compile(r"^(?:IRC|INTERNAL REVENUE CODE(?: OF 1986)?)\s*(\d+[A-Za-z]?)" + _SUBS + r"$")
_SUB_ITEM = re.compile(r"\(\s*([A-Za-z0-9]+)\s*\)")
_NOISE = re.compile(r"§+|\bSECTIONS?\b|\bSECS?\b\.?|\bTITLE\b|\bCODE\b(?!\s+OF)")


def _clean(text: str) -> str:
    # Upper-case only what is outside parentheses: "(a)(1)(B)" keeps its case.
    out = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        out.append(ch if depth else ch.upper())
    s = "".join(out)
    s = s.replace("I.R.C.", "IRC").replace("U.S.C.A.", "USCA").replace("U.S.C.", "USC")
    s = s.replace("U. S. C.", "USC").replace("I.N.A.", "INA")
    s = re.sub(r"UNITED STATES CODE(?: ANNOTATED)?", "USC", s)
    s = _NOISE.sub(" ", s)
    s = s.replace(".", " ").replace(",", " ")
    return " ".join(s.split())


def _subsections(raw: str) -> tuple[str, ...]:
    return tuple(m.group(1) for m in _SUB_ITEM.finditer(raw or ""))


def parse_citation(text: str, ina_sections: dict[str, str]) -> Citation | None:
    """One citation, or None when the text cannot be read as a federal statute."""
    s = _clean(text)
    if not s:
        return None
    m = _USC.match(s)
    if m:
        return Citation(int(m.group(1)), m.group(2).lower(), _subsections(m.group(3)))
    m = _INA.match(s) or _INA_TRAILING.match(s)
    if m:
        usc = {k.upper(): v for k, v in ina_sections.items()}.get(m.group(1).upper())
        if usc is None:
            return None
        return Citation(8, usc.lower(), _subsections(m.group(2)))
    m = _IRC.match(s)
    if m:
        return Citation(26, m.group(1).lower(), _subsections(m.group(2)))
    return None


def split_citations(text: str) -> list[str]:
    """A field may designate several statutes: "8 U.S.C. 1253(a); 8 U.S.C. 1326"."""
    parts = re.split(r";|\band\b|&|\n", text or "", flags=re.IGNORECASE)
    return [p.strip() for p in parts if p.strip()]


@dataclass(frozen=True)
class _Index:
    criminal: frozenset[str]
    civil: frozenset[str]
    criminal_titles: frozenset[int]
    tax_titles: frozenset[int]
    ina: tuple[tuple[str, str], ...]


def _key_of(entry: str, ina: dict[str, str]) -> str:
    cite = parse_citation(entry, ina)
    if cite is None:
        raise ValueError(f"statute table entry {entry!r} is not a readable citation")
    return cite.lookup_keys()[0]


_INDEXES: dict[int, tuple[StatuteTable, _Index]] = {}


def _index(table: StatuteTable) -> _Index:
    # Tables are frozen but hold lists, so they are not hashable; cache by identity and
    # keep the table alive with its index so the id cannot be reused.
    hit = _INDEXES.get(id(table))
    if hit is not None and hit[0] is table:
        return hit[1]
    ina = dict(table.ina_sections)
    index = _Index(
        criminal=frozenset(_key_of(e, ina) for e in table.criminal),
        civil=frozenset(_key_of(e, ina) for e in table.civil),
        criminal_titles=frozenset(table.criminal_titles),
        tax_titles=frozenset(table.tax_titles),
        ina=tuple(sorted(ina.items())),
    )
    _INDEXES[id(table)] = (table, index)
    return index


def classify_citation(cite: Citation, table: StatuteTable) -> StatuteClass:
    idx = _index(table)
    if cite.title in idx.tax_titles:
        return StatuteClass.TAX
    for key in cite.lookup_keys():
        if key in idx.criminal:
            return StatuteClass.CRIMINAL
        if key in idx.civil:
            return StatuteClass.CIVIL
    if cite.title in idx.criminal_titles:
        return StatuteClass.CRIMINAL
    return StatuteClass.UNKNOWN


def classify(text: str | None, table: StatuteTable) -> StatuteClass:
    """Classify a statute field. Several statutes: any tax provision makes it tax; otherwise
    one criminal designation suffices; otherwise anything unreadable or unlisted is unknown
    (review); only a field of nothing but civil provisions is civil."""
    parts = split_citations(text or "")
    if not parts:
        return StatuteClass.MISSING
    ina = dict(table.ina_sections)
    classes = []
    for part in parts:
        cite = parse_citation(part, ina)
        classes.append(StatuteClass.UNKNOWN if cite is None else classify_citation(cite, table))
    for winner in (StatuteClass.TAX, StatuteClass.CRIMINAL, StatuteClass.UNKNOWN):
        if winner in classes:
            return winner
    return StatuteClass.CIVIL
