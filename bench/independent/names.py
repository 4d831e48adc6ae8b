"""Names as an outside tester draws and garbles them.

Frequencies come from the US Census 1990 name files (copied into `data/` from the
project's shared reference folder, rows with a non-zero frequency only), so common
surnames collide as they do in life. The nickname table, the accent map and the
keyboard-slip model are written here from scratch: they are this tester's idea of how
people write names, not the project's.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA = Path(__file__).with_name("data")

# Given name -> the short forms people go by. Written for this tester; some Spanish
# hypocoristics are included because the populations ftigate serves carry them.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "WILLIAM": ("BILL", "BILLY", "WILL", "WILLIE"),
    "ROBERT": ("BOB", "BOBBY", "ROB"),
    "RICHARD": ("RICK", "RICH", "DICK"),
    "JAMES": ("JIM", "JIMMY", "JAMIE"),
    "JOHN": ("JACK", "JOHNNY"),
    "JOSEPH": ("JOE", "JOEY"),
    "JOSE": ("PEPE", "CHEPE"),
    "JESUS": ("CHUY",),
    "FRANCISCO": ("PACO", "PANCHO"),
    "GUADALUPE": ("LUPE",),
    "IGNACIO": ("NACHO",),
    "ENRIQUE": ("QUIQUE",),
    "EDUARDO": ("LALO",),
    "GUILLERMO": ("MEMO",),
    "ROBERTO": ("BETO",),
    "ALBERTO": ("BETO",),
    "DOLORES": ("LOLA",),
    "ROSARIO": ("CHAYO",),
    "CONCEPCION": ("CONCHA",),
    "MANUEL": ("MANNY",),
    "ANTONIO": ("TONY", "TONO"),
    "ALEJANDRO": ("ALEX",),
    "MARGARET": ("PEGGY", "MAGGIE", "MEG"),
    "ELIZABETH": ("LIZ", "BETH", "BETTY"),
    "KATHERINE": ("KATE", "KATHY", "KATIE"),
    "MICHAEL": ("MIKE",),
    "THOMAS": ("TOM", "TOMMY"),
    "CHARLES": ("CHARLIE", "CHUCK"),
    "EDWARD": ("ED", "EDDIE", "TED"),
    "ANTHONY": ("TONY",),
    "DANIEL": ("DAN", "DANNY"),
    "DAVID": ("DAVE",),
    "CHRISTOPHER": ("CHRIS",),
    "MATTHEW": ("MATT",),
    "JENNIFER": ("JEN", "JENNY"),
    "PATRICIA": ("PAT", "PATTY", "TRISH"),
    "SUSAN": ("SUE", "SUSIE"),
    "DEBORAH": ("DEBBIE", "DEB"),
    "REBECCA": ("BECKY",),
    "BARBARA": ("BARB",),
    "SAMUEL": ("SAM",),
    "BENJAMIN": ("BEN",),
    "NICHOLAS": ("NICK",),
    "STEVEN": ("STEVE",),
    "STEPHEN": ("STEVE",),
    "TIMOTHY": ("TIM",),
    "KENNETH": ("KEN", "KENNY"),
    "RONALD": ("RON", "RONNIE"),
    "DONALD": ("DON", "DONNIE"),
    "GERALD": ("JERRY",),
    "LAWRENCE": ("LARRY",),
    "GREGORY": ("GREG",),
    "RAYMOND": ("RAY",),
    "ANDREW": ("ANDY", "DREW"),
    "JOSHUA": ("JOSH",),
    "JONATHAN": ("JON",),
    "ALEXANDER": ("ALEX",),
    "VICTORIA": ("VICKY",),
    "CYNTHIA": ("CINDY",),
    "SANDRA": ("SANDY",),
    "PAMELA": ("PAM",),
    "KIMBERLY": ("KIM",),
}

ACCENTED: dict[str, str] = {
    "JOSE": "JOSÉ",
    "MARIA": "MARÍA",
    "JESUS": "JESÚS",
    "RAMON": "RAMÓN",
    "MONICA": "MÓNICA",
    "ANGEL": "ÁNGEL",
    "RAUL": "RAÚL",
    "HECTOR": "HÉCTOR",
    "OSCAR": "ÓSCAR",
    "SOFIA": "SOFÍA",
    "NUNEZ": "NÚÑEZ",
    "MUNOZ": "MUÑOZ",
    "PENA": "PEÑA",
    "RAMIREZ": "RAMÍREZ",
    "GONZALEZ": "GONZÁLEZ",
    "RODRIGUEZ": "RODRÍGUEZ",
    "HERNANDEZ": "HERNÁNDEZ",
    "MARTINEZ": "MARTÍNEZ",
    "PEREZ": "PÉREZ",
    "SANCHEZ": "SÁNCHEZ",
    "GOMEZ": "GÓMEZ",
    "DIAZ": "DÍAZ",
    "JIMENEZ": "JIMÉNEZ",
    "LOPEZ": "LÓPEZ",
    "GARCIA": "GARCÍA",
}

SUFFIX_WORDS = frozenset({"JR", "SR", "II", "III", "IV"})

# Rows of a US keyboard (letters) and the digit row: a slip hits a neighbouring key.
_LETTER_ROWS = ("QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")
_DIGIT_ROW = "1234567890"


def _neighbours(rows: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for row in rows:
        for i, key in enumerate(row):
            out[key] = (row[i - 1] if i else "") + (row[i + 1] if i + 1 < len(row) else "")
    return out


LETTER_NEIGHBOURS = _neighbours(_LETTER_ROWS)
DIGIT_NEIGHBOURS = _neighbours((_DIGIT_ROW,))


@dataclass(frozen=True)
class NameTable:
    names: list[str]
    weights: np.ndarray  # general-population probabilities
    hispanic_weights: np.ndarray  # probabilities within a mostly Hispanic population

    def draw(self, rng: random.Random, hispanic: bool) -> str:
        """One name by frequency (cumulative weights computed once)."""
        cumulative = self._cumulative(hispanic)
        return rng.choices(self.names, cum_weights=cumulative)[0]

    def _cumulative(self, hispanic: bool) -> list[float]:
        key = "_cum_h" if hispanic else "_cum_g"
        if key not in self.__dict__:
            object.__setattr__(self, key, np.cumsum(self.hispanic_weights if hispanic else self.weights).tolist())
        return self.__dict__[key]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class NameFrequencies:
    surnames: NameTable
    female: NameTable
    male: NameTable


def _table(rows: list[dict[str, str]]) -> NameTable:
    names = [r["name"] for r in rows]
    per = np.array([float(r["per_100k"]) for r in rows])
    # a blank Hispanic share means "not measured": treat it as the national share, ~5 %
    share = np.array([float(r["p_hispanic"]) if r["p_hispanic"] else 0.05 for r in rows])
    general = per / per.sum()
    hispanic = per * share
    return NameTable(names=names, weights=general, hispanic_weights=hispanic / hispanic.sum())


def load_frequencies() -> NameFrequencies:
    with (DATA / "surnames.csv").open(encoding="utf-8") as f:
        surnames = list(csv.DictReader(f))
    with (DATA / "first_names.csv").open(encoding="utf-8") as f:
        firsts = list(csv.DictReader(f))
    return NameFrequencies(
        surnames=_table(surnames),
        female=_table([r for r in firsts if r["sex"] == "F"]),
        male=_table([r for r in firsts if r["sex"] == "M"]),
    )


# --- comparing names (this tester's rules, from issue 11's wording) ------------------------------


@lru_cache(maxsize=1 << 18)
def plain(text: str) -> str:
    """Upper case, accents removed, letters and spaces only."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).upper()
    return " ".join("".join(c if c.isalpha() else " " for c in stripped).split())


@lru_cache(maxsize=1 << 18)
def surname_words(text: str) -> tuple[str, ...]:
    return tuple(w for w in plain(text).split() if w not in SUFFIX_WORDS)


def edit_distance_at_most_one(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance <= 1 (one substitution, insertion, deletion or swap)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def is_nickname_pair(a: str, b: str) -> bool:
    """One name is a listed short form of the other (one step: no chains)."""
    a, b = plain(a), plain(b)
    return b in NICKNAMES.get(a, ()) or a in NICKNAMES.get(b, ())


def _forms(name: str) -> set[str]:
    return set(NICKNAMES.get(name, ())) | {full for full, shorts in NICKNAMES.items() if name in shorts}


@lru_cache(maxsize=1 << 16)
def nickname_related(a: str, b: str) -> bool:
    """One step of the table, or two steps through a shared form (Roberto and Alberto
    share Beto; Tony links Anthony and Antonio): the chains issue 11 says are never
    enough alone."""
    a, b = plain(a), plain(b)
    if is_nickname_pair(a, b):
        return True
    return bool(_forms(a) & _forms(b))


def given_names_compatible(requested: str, on_file: str, *, corroborated: bool) -> bool:
    """Issue 11's rule for given names: equal, an initial of one another, one keying slip
    apart, or nicknames of one another when a DOB or TIN agrees (`corroborated`)."""
    a, b = plain(requested).split(), plain(on_file).split()
    if not a or not b:
        return False
    x, y = a[0], b[0]
    if x == y:
        return True
    if (len(x) == 1 or len(y) == 1) and x[0] == y[0]:
        return True
    if min(len(x), len(y)) >= 3 and edit_distance_at_most_one(x, y):
        return True
    return corroborated and is_nickname_pair(x, y)


def surnames_compatible(requested: str, on_file: str) -> bool:
    """A shared surname word, one slip apart, or the same letters joined differently."""
    a, b = surname_words(requested), surname_words(on_file)
    if not a or not b:
        return False
    if set(a) & set(b):
        return True
    if any(min(len(x), len(y)) >= 4 and edit_distance_at_most_one(x, y) for x in a for y in b):
        return True
    return "".join(a) == "".join(b) or edit_distance_at_most_one("".join(a), "".join(b))


# --- slips ---------------------------------------------------------------------------------------


def keyboard_slip(word: str, rng: random.Random) -> str:
    """One typing error in a word of letters: a neighbouring key, a dropped or doubled
    letter, or two letters swapped. The result always differs from `word`."""
    upper = word.upper()
    for _ in range(20):
        i = rng.randrange(len(upper))
        kind = rng.choice(("neighbour", "drop", "double", "swap"))
        if kind == "neighbour" and upper[i] in LETTER_NEIGHBOURS:
            out = upper[:i] + rng.choice(LETTER_NEIGHBOURS[upper[i]]) + upper[i + 1 :]
        elif kind == "drop" and len(upper) > 3:
            out = upper[:i] + upper[i + 1 :]
        elif kind == "double":
            out = upper[: i + 1] + upper[i] + upper[i + 1 :]
        elif kind == "swap" and i + 1 < len(upper) and upper[i] != upper[i + 1]:
            out = upper[:i] + upper[i + 1] + upper[i] + upper[i + 2 :]
        else:
            continue
        if out != upper:
            return match_case(out, word)
    return match_case(upper + upper[-1], word)


def match_case(text: str, like: str) -> str:
    """`text` in the case style of `like` (UPPER, lower or Title)."""
    if like.isupper():
        return text.upper()
    if like.islower():
        return text.lower()
    return text.title()


def digit_slip(digits: str, rng: random.Random) -> str:
    """One keying error in a string of digits: a neighbouring key or two digits swapped."""
    for _ in range(20):
        i = rng.randrange(len(digits))
        if rng.random() < 0.6:
            out = digits[:i] + rng.choice(DIGIT_NEIGHBOURS[digits[i]]) + digits[i + 1 :]
        elif i + 1 < len(digits) and digits[i] != digits[i + 1]:
            out = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
        else:
            continue
        if out != digits:
            return out
    return digits[:-1] + ("1" if digits[-1] != "1" else "2")


def title(name: str) -> str:
    """A name as people write it: 'GARCIA LOPEZ' -> 'Garcia Lopez', 'MCDONALD' stays 'Mcdonald'."""
    return " ".join(part.capitalize() for part in name.split(" "))
