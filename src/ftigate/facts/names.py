"""What a name is, for the stages that compare names outside the model: the words of a
name, the IRS name control, and when two given names or two surnames can be one
person's.

The audit weighs identity with these relations and the 2025 replica compares names with
`name_words` and `name_control`; the resolver reads the same nickname list
(`nicknames`). Every function here is pure.

Given names (`given_relation`), from strongest to weakest agreement:

  SAME      the same name ("MARIA" / "María")
  SLIP      one keying slip apart: one insertion, deletion, substitution or transposition
            in names of three letters or more ("JOHN" / "JHON")
  NICKNAME  a nickname of the other in the shared list, directly ("PEPE" / "JOSE"), or
            one keying slip from one ("DCK" / "RICHARD"); a chain through a third name
            (JOEY -> JOSEPH -> JOSE) is not a nickname
  INITIAL   one is the initial of the other ("J" / "JOHN")
  ONE_NAME  two nicknames of one formal name in the shared list ("JOHNNY" / "JACK", both
            JOHN), not two formal names that share a nickname ("ALBERTO" / "ROBERTO", both
            BETO): the one person only where more confirms it (the identity gate: a TIN
            that agrees and the same date of birth)
  FORMAL    two names the shared list links through a third in any other way
  CONFLICT  none of these: the names say two different people ("MELVIN" / "MADELINE")
  MISSING   one side gives no given name

Surnames (`surname_relation`): SAME when the name controls agree or the two share a
word ("GARCIA" / "GARCIA LOPEZ"), or are one name written together ("DE LA CERDA" /
"DELACERDA"); SLIP when a word, or the whole name written together, is one keying slip
from the other's (the longer at least three letters: "NEZ" / "EZ"); CONFLICT otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources

import jellyfish
import polars as pl

from ftigate.facts.text import plain_upper, plain_upper_text

NOISE_WORDS = ("JR", "SR", "II", "III", "IV", "MR", "MRS", "MS", "DR")
"""words in a name field that say nothing about who someone is"""

SLIP_MIN_LENGTH = 3
"""the shortest name (the longer of the two) in which one edit is a slip, not another name"""


def name_words(expr: pl.Expr) -> pl.Expr:
    """A name as comparable words: upper case, accents and apostrophes removed, any other
    character a space, single spaces ("O'Brien-Núñez" -> "OBRIEN NUNEZ")."""
    return (
        plain_upper(expr)
        .str.replace_all(r"['’`]", "")
        .str.replace_all(r"[^A-Z ]", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def name_control(last_name: pl.Expr) -> pl.Expr:
    """The IRS name control: the first four letters of the surname, accents removed,
    upper case (the definition the 2025 TIN matching and the synthetic truth use)."""
    return plain_upper(last_name).str.replace_all(r"[^A-Z]", "").str.slice(0, 4)


def _significant(words: list[str]) -> list[str]:
    return [w for w in words if w not in NOISE_WORDS]


def given_word_list(expr: pl.Expr) -> pl.Expr:
    """`given_words` as an expression: a List[String] per row."""
    return (
        name_words(expr)
        .str.split(" ")
        .list.eval(pl.element().filter((pl.element() != "") & ~pl.element().is_in(NOISE_WORDS)))
    )


def surname_word_list(expr: pl.Expr) -> pl.Expr:
    """`surname_words` as an expression: a List[String] per row."""
    return (
        name_words(expr)
        .str.split(" ")
        .list.eval(pl.element().filter((pl.element().str.len_chars() > 1) & ~pl.element().is_in(NOISE_WORDS)))
    )


def given_words(text: str | None) -> list[str]:
    """The words of a given-name field without noise words ("J. Carlos" -> [J, CARLOS])."""
    return _significant(_words(text))


def surname_words(text: str | None) -> list[str]:
    """The words of a surname field without noise words and single letters."""
    return [w for w in _significant(_words(text)) if len(w) > 1]


def _words(text: str | None) -> list[str]:
    plain = plain_upper_text(text or "")
    cleaned = "".join(" " if not ("A" <= c <= "Z") else c for c in plain.replace("'", "").replace("’", ""))
    return cleaned.split()


@cache
def nickname_pairs() -> frozenset[tuple[str, str]]:
    """(formal, nickname) pairs of the shared list, ASCII upper case."""
    text = resources.files("ftigate.facts").joinpath("data/nicknames.json").read_text("utf-8")
    return frozenset((str(a), str(b)) for a, b in json.loads(text))


@cache
def _nickname_forms() -> dict[str, frozenset[str]]:
    forms: dict[str, set[str]] = {}
    for formal, nickname in nickname_pairs():
        forms.setdefault(formal, set()).add(nickname)
        forms.setdefault(nickname, set()).add(formal)
    return {name: frozenset(others) for name, others in forms.items()}


@cache
def _formal_names() -> dict[str, frozenset[str]]:
    formals: dict[str, set[str]] = {}
    for formal, nickname in nickname_pairs():
        formals.setdefault(nickname, set()).add(formal)
    return {name: frozenset(found) for name, found in formals.items()}


def formal_names_of(name: str) -> frozenset[str]:
    """The formal names the shared list gives `name` as a nickname of (none for a name
    that is no one's nickname)."""
    return _formal_names().get(name, frozenset())


def nickname_forms(name: str) -> frozenset[str]:
    """The names the shared list pairs with `name` directly (its nicknames, or the formal
    names it is a nickname of)."""
    return _nickname_forms().get(name, frozenset())


def nicknames(a: str, b: str) -> bool:
    """Whether one given name is a nickname of the other, directly, or one keying slip
    from such a nickname ("DCK" for DICK, a nickname of RICHARD)."""
    if b in nickname_forms(a):
        return True
    return any(one_slip(a, n) for n in nickname_forms(b)) or any(one_slip(b, n) for n in nickname_forms(a))


def one_slip(a: str, b: str) -> bool:
    """Two different names one keying slip apart (the longer of three letters or more)."""
    return (
        a != b
        and max(len(a), len(b)) >= SLIP_MIN_LENGTH
        and min(len(a), len(b)) >= 2
        and jellyfish.damerau_levenshtein_distance(a, b) == 1
    )


class GivenRelation(StrEnum):
    SAME = "SAME"
    SLIP = "SLIP"
    NICKNAME = "NICKNAME"
    INITIAL = "INITIAL"
    ONE_NAME = "ONE_NAME"  # two nicknames of one formal name (LIZ / BETTY, both ELIZABETH)
    FORMAL = "FORMAL"  # linked through a third name otherwise (ALBERTO / ROBERTO, both BETO)
    CONFLICT = "CONFLICT"
    MISSING = "MISSING"


@lru_cache(maxsize=1 << 16)
def given_relation(a: str, b: str) -> GivenRelation:
    """How two given names (single words, as `given_words` gives them) relate."""
    if not a or not b:
        return GivenRelation.MISSING
    if a == b:
        return GivenRelation.SAME
    if len(a) == 1 or len(b) == 1:
        return GivenRelation.INITIAL if a[0] == b[0] else GivenRelation.CONFLICT
    if one_slip(a, b):
        return GivenRelation.SLIP
    if nicknames(a, b):
        return GivenRelation.NICKNAME
    if formal_names_of(a) & formal_names_of(b):
        return GivenRelation.ONE_NAME
    if nickname_forms(a) & nickname_forms(b):
        # Not evidence of one person (the identity gate never lets a chain of nicknames
        # count), nor of another: one name's forms (Will for Willie, Ted for Eddie).
        return GivenRelation.FORMAL
    return GivenRelation.CONFLICT


_GIVEN_ORDER = list(GivenRelation)


def best_given_relation(requested: Sequence[str], on_file: Sequence[str]) -> GivenRelation:
    """The strongest relation between any given-name word of the request and any of the
    record's (compound names: "MARIA GUADALUPE" / "GUADALUPE" are the SAME)."""
    if not requested or not on_file:
        return GivenRelation.MISSING
    if len(requested) + len(on_file) > 2 and "".join(requested) == "".join(on_file):
        return GivenRelation.SAME  # a space typed inside one name ("ISAB ELLE"), or left out ("MARYANN")
    found = [given_relation(a, b) for a in requested for b in on_file]
    return min(found, key=_GIVEN_ORDER.index)


class SurnameRelation(StrEnum):
    SAME = "SAME"
    SLIP = "SLIP"
    CONFLICT = "CONFLICT"
    MISSING = "MISSING"


@lru_cache(maxsize=1 << 16)
def _surname_relation(requested: tuple[str, ...], on_file: tuple[str, ...]) -> SurnameRelation:
    """How two surnames (word lists, as `surname_words` gives them) relate."""
    if not requested or not on_file:
        return SurnameRelation.MISSING
    fused_r, fused_f = "".join(requested), "".join(on_file)
    if set(requested) & set(on_file) or fused_r == fused_f or fused_r[:4] == fused_f[:4]:
        return SurnameRelation.SAME
    if any(one_slip(a, b) for a in requested for b in on_file) or one_slip(fused_r, fused_f):
        return SurnameRelation.SLIP
    return SurnameRelation.CONFLICT


def surname_relation(requested: Sequence[str], on_file: Sequence[str]) -> SurnameRelation:
    """How two surnames (word lists, as `surname_words` gives them) relate."""
    return _surname_relation(tuple(requested), tuple(on_file))
