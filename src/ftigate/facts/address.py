"""What an address is, for every stage: its parts in USPS Publication 28 form, and when a
requested address is one the agency holds for a taxpayer.

Requests and returns write one home many ways ("6241 Maple Street" / "6241 MAPLE ST",
"8436 S Cypress Road" / "8436 South Cypress Rd", "Apt 4B" / "#4B" / "4B"); agencies
misspell and run words together ("light setreet", "pearsonstreet") and slip a ZIP digit.
The matcher and the audit both read an address through `address_parts` and compare two
through `corroborate` (one row) or `corroborations` (a frame of pairs), so that "Street" is
"St" for both.

Corroboration: the requested address is one on file when the house number and the unit
are the same (a different house number or a different unit is never the same home) and
the rest agrees up to these named tolerances (`Tolerance`). A line without a house number
(a PO box, a rural route box) corroborates only when it is the same in standard form, with
the same unit and ZIP, and no tolerance applies to it.

  SUFFIX_OR_DIRECTIONAL  the street suffix or a directional is missing or different
                         ("Maple" / "Maple St" / "Maple Ave", "S Cypress" / "Cypress")
  STREET_RUN_TOGETHER    the street name written together with its suffix ("pearsonstreet")
  SUFFIX_MISSPELT        the street name as on file, then its suffix misspelt beyond
                         recognition as a suffix, written apart or run together ("groom
                         ureet", "mcintoshusreet" for GROOM ST, MCINTOSH ST): at most one
                         edit from a written form of the suffix on file of up to five
                         letters, two from a longer one
  STREET_MISSPELT        the street name misspelt: at most one edit in a short name, two in
                         a longer one, and Jaro-Winkler >= 0.85 ("priddle" / "pridle"; not
                         a short name with another first letter, "gark" / "park")
  ZIP_SLIP               the ZIP one keystroke off (one digit, or two neighbours swapped)
                         when the street, the number, the unit and the city agree
  UNIT_OMITTED           one side gives a unit and the other none ("2142 Willow Blvd" for
                         "2142 Willow Blvd Apt 1B"): the same building, but which home is
                         not said, so it corroborates only with a TIN or a date of birth
                         that agrees (the identity gates decide; otherwise review)

At most one change of content (SUFFIX_MISSPELT, STREET_MISSPELT, ZIP_SLIP, UNIT_OMITTED)
applies at once; a difference of form
(the suffix, a directional, the spaces between words) may come with any of them, so a
street both run together and misspelt ("stanleykstreet" for STANLEY ST) is compared as
one word with its suffix written out.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import cache

import jellyfish
import polars as pl
from scourgify.address_constants import (
    DIRECTIONAL_REPLACEMENTS,
    OCCUPANCY_TYPE_ABBREVIATIONS,
    STREET_TYPE_ABBREVIATIONS,
)

from ftigate.facts.text import plain_upper

# --- vocabularies (USPS Publication 28, as usaddress-scourgify carries them) --------------

_DIRECTIONS: dict[str, str] = {
    **DIRECTIONAL_REPLACEMENTS,
    **{v: v for v in DIRECTIONAL_REPLACEMENTS.values()},
    "NORTH EAST": "NE",
    "NORTH WEST": "NW",
    "SOUTH EAST": "SE",
    "SOUTH WEST": "SW",
}
_SUFFIXES: dict[str, str] = {k: v for k, v in STREET_TYPE_ABBREVIATIONS.items() if " " not in k}
# A misspelt suffix is recognised only against whole words of five letters or more
# ("SETREET", "TREET" -> STREET): shorter forms are a letter away from ordinary words.
_LONG_SUFFIX_WORDS = tuple(sorted(k for k in _SUFFIXES if len(k) >= 5 and k not in _SUFFIXES.values()))
# Words a street name can be run together with ("PEARSONSTREET"): four letters or more.
_GLUED_SUFFIX_WORDS = tuple(sorted((k for k in _SUFFIXES if len(k) >= 4), key=len, reverse=True))

_UNIT_DESIGNATORS = sorted(
    {*OCCUPANCY_TYPE_ABBREVIATIONS, *OCCUPANCY_TYPE_ABBREVIATIONS.values(), "NO", "NUMBER", "APT", "APTO"}
    - {"#", "REAR", "FRONT", "FRNT", "SIDE", "UPPER", "LOWER", "LOWR", "LOBBY", "LBBY", "BASEMENT", "BSMT"},
    key=len,
    reverse=True,
)
_UNIT_PREFIX = r"^(?:(?:" + "|".join(_UNIT_DESIGNATORS) + r")\b\s*|#\s*)+"


def _alternation(words: object) -> str:
    return "|".join(sorted((str(w) for w in words), key=len, reverse=True))  # type: ignore[attr-defined]


_DIR_ALT = _alternation(_DIRECTIONS)
_SUFFIX_ALT = _alternation(_SUFFIXES)

PART_COLUMNS = ("house", "predir", "street_name", "suffix", "postdir", "line_unit")
"""the parts of a street line: house number, pre-directional, name, suffix, post-directional,
and a unit written on the line itself ("123 Main St Apt 4")"""

# --- ZIP, unit, city ----------------------------------------------------------------------


def zip5(expr: pl.Expr) -> pl.Expr:
    """The five-digit ZIP of a ZIP or ZIP+4 field, else NULL.

    Three or four digits (with or without +4) are a ZIP whose leading zeros a spreadsheet
    dropped: "2134" is 02134 (Boston; New England and New Jersey ZIPs begin with 0) and
    "601" is 00601 (Adjuntas; Puerto Rico's and the Virgin Islands' begin with 00)."""
    text = expr.cast(pl.String).fill_null("").str.strip_chars()
    short = text.str.extract(r"^(\d{3,5})(?:\s*-?\s*\d{4})?$", 1)
    return short.str.zfill(5)


def unit_standard(expr: pl.Expr) -> pl.Expr:
    """The unit identifier alone: "Apt 4B", "#4B", "Unit 4-B", "4b" -> "4B"; none -> ""."""
    text = (
        plain_upper(expr).str.replace_all(r"[^A-Z0-9# ]", " ").str.replace_all(r"\s+", " ").str.strip_chars()
    )
    return text.str.replace_all(_UNIT_PREFIX, "").str.replace_all(r"[^A-Z0-9]", "").fill_null("")


def city_standard(expr: pl.Expr) -> pl.Expr:
    """A city name compared letters-only: "St. Paul" and "ST PAUL" are one city."""
    return (
        plain_upper(expr)
        .str.replace_all(r"\bSAINT\b", "ST")
        .str.replace_all(r"\bFORT\b", "FT")
        .str.replace_all(r"\bMOUNT\b", "MT")
        .str.replace_all(r"[^A-Z]", "")
    )


# --- the street line ----------------------------------------------------------------------


def clean_line(expr: pl.Expr) -> pl.Expr:
    """Upper case, accents and apostrophes gone, other punctuation as spaces; a hyphen kept
    only inside a house number ("71-15") and '#' kept as a unit mark."""
    return (
        plain_upper(expr)
        .str.replace_all(r"['’`]", "")
        .str.replace_all(r"(\d)-(\d)", "${1}\x01${2}")
        .str.replace_all(r"#", " # ")
        .str.replace_all(r"[^A-Z0-9#/\x01 ]", " ")
        .str.replace_all("\x01", "-")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def _fuzzy_suffixes(tokens: pl.Series) -> dict[str, str]:
    """Last words that are a misspelt long suffix word, one edit away ("SETREET" -> ST)."""
    found: dict[str, str] = {}
    for token in tokens.drop_nulls().unique().to_list():
        if token in _SUFFIXES or not (4 <= len(token) <= 11) or not token.isalpha():
            continue
        for word in _LONG_SUFFIX_WORDS:
            if abs(len(word) - len(token)) <= 1 and jellyfish.damerau_levenshtein_distance(token, word) <= 1:
                found[token] = _SUFFIXES[word]
                break
    return found


def street_parts(lines: pl.Series) -> pl.DataFrame:
    """One row per distinct value of `lines`: `raw` (the value) and PART_COLUMNS.

    "8436 South Cypress Road Apt 2" -> house 8436, predir S, street_name CYPRESS, suffix RD,
    postdir NULL, line_unit 2. A line without a leading number (a PO box, a rural route)
    keeps its whole text as the street name and no house number."""
    frame = lines.cast(pl.String).fill_null("").rename("raw").unique().to_frame()
    unit_words = "|".join(_UNIT_DESIGNATORS)
    # a designator is a word of its own, or written against a number ("APT4B"): never the
    # first letters of a word ("NORTHEAST" is not NO RTHEAST)
    spaced = rf"(?:(?:{unit_words})(?:\s*#\s*|\s+)|#\s*)"
    chunk = rf"\s+(?:{spaced}[A-Z0-9-]+|(?:{unit_words})\d[A-Z0-9-]*)"
    # A unit written on the line ("123 Main St Apt 4B") is taken off it, all of it when the
    # line carries several ("Apt 4 Unit 4"); the first is the unit.
    work = frame.with_columns(
        _unit=clean_line(pl.col("raw")).str.extract_groups(rf"^(.+?)((?:{chunk})+)$"),
        _clean=clean_line(pl.col("raw")),
    ).with_columns(
        _line=pl.coalesce(pl.col("_unit").struct.field("1"), pl.col("_clean")),
        line_unit=pl.col("_unit")
        .struct.field("2")
        .str.extract_groups(rf"^\s+(?:{spaced}([A-Z0-9-]+)|(?:{unit_words})(\d[A-Z0-9-]*))")
        .struct.field("1")
        .fill_null(pl.col("_unit").struct.field("2").str.extract(rf"^\s+(?:{unit_words})(\d[A-Z0-9-]*)", 1))
        .str.replace_all("-", "")
        .fill_null(""),
    )
    work = work.with_columns(
        _num=pl.col("_line").str.extract_groups(r"^(\d+[A-Z]?(?:-\d+[A-Z]?)?(?: [13]/[24])?) (.+)$")
    )
    work = work.with_columns(
        house=pl.col("_num").struct.field("1"),
        _rest=pl.coalesce(pl.col("_num").struct.field("2"), pl.col("_line")),
    )
    numbered = pl.col("house").is_not_null()
    work = work.with_columns(
        _post=pl.col("_rest").str.extract_groups(rf"^(.+ .+) ({_DIR_ALT})$"),
    ).with_columns(
        _rest2=pl.when(numbered)
        .then(pl.coalesce(pl.col("_post").struct.field("1"), pl.col("_rest")))
        .otherwise(pl.col("_rest")),
        postdir=pl.when(numbered).then(pl.col("_post").struct.field("2")),
    )
    work = work.with_columns(_last=pl.col("_rest2").str.extract(r" ([A-Z]+)$", 1))
    fuzzy = _fuzzy_suffixes(work["_last"])
    work = work.with_columns(
        _suf=pl.col("_rest2").str.extract_groups(rf"^(.+) ({_SUFFIX_ALT})$"),
        _fuzzy=pl.col("_last").replace_strict(fuzzy, default=None, return_dtype=pl.String)
        if fuzzy
        else pl.lit(None, dtype=pl.String),
    ).with_columns(
        _name_s=pl.when(pl.col("_suf").struct.field("1").is_not_null())
        .then(pl.col("_suf").struct.field("1"))
        .when(pl.col("_fuzzy").is_not_null())
        .then(pl.col("_rest2").str.replace(r" [A-Z]+$", ""))
        .otherwise(pl.col("_rest2")),
        _suffix=pl.coalesce(pl.col("_suf").struct.field("2").replace(_SUFFIXES), pl.col("_fuzzy")),
    )
    work = work.with_columns(
        _pre=pl.col("_name_s").str.extract_groups(rf"^({_DIR_ALT}) (.+)$"),
    ).with_columns(
        # "North St" is the street named North: a directional is only one when a name follows.
        predir=pl.when(numbered & pl.col("_pre").struct.field("2").is_not_null()).then(
            pl.col("_pre").struct.field("1")
        ),
        street_name=pl.when(numbered & pl.col("_pre").struct.field("2").is_not_null())
        .then(pl.col("_pre").struct.field("2"))
        .otherwise(pl.col("_name_s")),
    )
    work = work.with_columns(
        pl.when(numbered).then(pl.col("_suffix")).alias("suffix"),
        pl.when(numbered).then(pl.col("street_name")).otherwise(pl.col("_rest")).alias("street_name"),
        pl.col("predir").replace(_DIRECTIONS),
        pl.col("postdir").replace(_DIRECTIONS),
    )
    return work.select("raw", *PART_COLUMNS)


def standard_line(prefix: str = "") -> pl.Expr:
    """The street line in standard form: number, directional, name, suffix, directional."""
    return pl.concat_str(
        [pl.col(f"{prefix}{c}") for c in ("house", "predir", "street_name", "suffix", "postdir")],
        separator=" ",
        ignore_nulls=True,
    )


def name_fused(expr: pl.Expr) -> pl.Expr:
    """The street name without spaces ("MC DONALD" is "MCDONALD")."""
    return expr.fill_null("").str.replace_all(" ", "")


def unglued_name(expr: pl.Expr) -> pl.Expr:
    """The name of a street run together with its suffix ("PEARSONSTREET" -> "PEARSON",
    "51STAVENUE" -> "51ST"), else NULL. The shortest name wins, so the longest suffix word
    is taken off ("BEAUREPAIRECRESCENT" is BEAUREPAIRE + CRESCENT, not BEAUREPAIRECRES +
    CENT)."""
    return expr.str.extract(rf"^([A-Z0-9]{{3,}}?)(?:{'|'.join(_GLUED_SUFFIX_WORDS)})$", 1)


def address_parts(frame: pl.DataFrame, prefix: str = "") -> pl.DataFrame:
    """`frame` with the standard parts of its address columns (`{prefix}street`, `unit`,
    `zip`, `city`) added as `{prefix}house`, `predir`, `street_name`, `suffix`, `postdir`,
    `street_std` (the standard line), `name_fused`, `name_unglued`, `unit_std` (the unit
    field, else a unit on the line), `zip5` and `city_std`. Street lines, units, ZIPs and
    cities are each standardised once per distinct value (a building's line repeats for
    every resident and year)."""
    p = prefix
    parts = (
        street_parts(frame[f"{p}street"])
        .with_columns(street_std=standard_line(), name_fused=name_fused(pl.col("street_name")))
        .with_columns(name_unglued=unglued_name(pl.col("name_fused")))
    )
    parts = parts.rename({c: f"{p}{c}" if c != "raw" else "_street_raw" for c in parts.columns})
    keyed = frame.with_columns(_street_raw=pl.col(f"{p}street").cast(pl.String).fill_null(""))
    out = keyed.join(parts, on="_street_raw", how="left", maintain_order="left").drop("_street_raw")
    unit_field = unit_standard(pl.col(f"{p}unit")) if f"{p}unit" in frame.columns else pl.lit("")
    out = out.with_columns(
        pl.when(unit_field != "").then(unit_field).otherwise(pl.col(f"{p}line_unit")).alias(f"{p}unit_std"),
        zip5(pl.col(f"{p}zip")).alias(f"{p}zip5"),
        (city_standard(pl.col(f"{p}city")) if f"{p}city" in frame.columns else pl.lit("")).alias(
            f"{p}city_std"
        ),
    )
    return out.drop(f"{p}line_unit")



def same_building(requested: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """The rows of `rows` (address columns street, unit, zip, city) at the building of the
    one-row `requested`: the same house number, street name (its suffix and directionals
    aside, run together or not) and ZIP, any unit; a line without a house number (a PO box)
    only when it is the same line in standard form. Pure.

    A building, not a home: where the household matters (a given name that is not the
    candidate's, a unit left out) the reviewer needs the other units' taxpayers too."""
    wanted = address_parts(requested.select("street", "unit", "zip", "city").head(1)).row(0, named=True)
    if not wanted["zip5"] or not wanted["street_std"]:
        return rows.clear()
    parts = address_parts(rows)
    if wanted["house"] is None:
        same = (pl.col("house").is_null()) & (pl.col("street_std") == wanted["street_std"])
    else:
        names = [n for n in (wanted["name_fused"], wanted["name_unglued"]) if n]
        same = (pl.col("house") == wanted["house"]) & (
            pl.col("name_fused").is_in(names) | pl.col("name_unglued").is_in(names)
        )
    return parts.filter((pl.col("zip5") == wanted["zip5"]) & same).select(rows.columns)

# --- corroboration ------------------------------------------------------------------------


class Tolerance(StrEnum):
    """A named way in which a requested address may differ from one on file and still be it."""

    SUFFIX_OR_DIRECTIONAL = "SUFFIX_OR_DIRECTIONAL"
    STREET_RUN_TOGETHER = "STREET_RUN_TOGETHER"
    SUFFIX_MISSPELT = "SUFFIX_MISSPELT"
    STREET_MISSPELT = "STREET_MISSPELT"
    ZIP_SLIP = "ZIP_SLIP"
    UNIT_OMITTED = "UNIT_OMITTED"


CONTENT_TOLERANCES = frozenset(
    {Tolerance.SUFFIX_MISSPELT, Tolerance.STREET_MISSPELT, Tolerance.ZIP_SLIP, Tolerance.UNIT_OMITTED}
)
"""changes of the letters or digits of an address (at most one at a time); a suffix, a
directional and the spaces between words are matters of form"""
MISSPELT_JARO_WINKLER = 0.85
"""the least Jaro-Winkler similarity of two spellings of one street name"""


def _one_edit_jaro_winkler(a: str, b: str) -> float:
    """Jaro-Winkler of two names one edit apart, on the alignment the edit implies.

    Jaro pairs each letter with the first equal letter in its window, so one edit in a name
    with a repeated letter misaligns the rest ("PLPLAR" / "POPLAR" 0.84, "CMINODELACANADA" /
    "CAMINODELACANADA" 0.84) and a swap in a short name is not seen at all ("OKA" / "OAK"
    0.56: the window is empty below four letters). One substitution leaves the other letters
    matched in place, a deletion matches every letter of the shorter name, a swap matches
    every letter with one transposition; the Winkler bonus for a common prefix follows."""
    la, lb = len(a), len(b)
    if la == lb:
        differs = [i for i in range(la) if a[i] != b[i]]
        matched, transpositions = (la, 1) if len(differs) == 2 else (la - 1, 0)
    else:
        matched, transpositions = min(la, lb), 0
    jaro = (matched / la + matched / lb + (matched - transpositions) / matched) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)


def misspelt(a: str, b: str) -> bool:
    """Two street names that are one name misspelt: one edit (insertion, deletion,
    substitution, transposition) in a name of up to six letters, two in a longer one, and
    Jaro-Winkler similarity >= 0.85 (for one edit, on the alignment the edit implies:
    `_one_edit_jaro_winkler`). Names shorter than three letters must be equal. A short
    name whose first letter differs ("GARK" / "PARK") is not a misspelling of it."""
    if a == b or min(len(a), len(b)) < 3:
        return False
    edits = jellyfish.damerau_levenshtein_distance(a, b)
    if edits > (1 if min(len(a), len(b)) <= 6 else 2):
        return False
    similarity = jellyfish.jaro_winkler_similarity(a, b)
    if edits == 1:
        similarity = max(similarity, _one_edit_jaro_winkler(a, b))
    return similarity >= MISSPELT_JARO_WINKLER


def zip_slipped(a: str, b: str) -> bool:
    """Two five-digit ZIPs one keystroke apart: one digit different, or two neighbours swapped."""
    if len(a) != 5 or len(b) != 5 or a == b:
        return False
    diff = [i for i in range(5) if a[i] != b[i]]
    if len(diff) == 1:
        return True
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _glued(one: Mapping[str, object], other_name: str, other: Mapping[str, object]) -> bool:
    """`one`'s street name is `other`'s name run together with a suffix ("PEARSONSTREET",
    "PEARSONST" for PEARSON ST)."""
    name = _text(one.get("name_fused"))
    return _text(one.get("name_unglued")) == other_name or name == other_name + _text(other.get("suffix"))


def _written_out(parts: Mapping[str, object]) -> str:
    """The street name and its suffix as one word, the suffix written in full (PEARSON ST ->
    PEARSONSTREET)."""
    suffix = _text(parts.get("suffix"))
    return _text(parts.get("name_fused")) + (suffix_full_words().get(suffix, suffix) if suffix else "")


def _run_together_and_misspelt(requested: Mapping[str, object], on_file: Mapping[str, object]) -> bool:
    """One side writes no suffix, and its street is the other's name and suffix run together
    with one keying slip ("stanleykstreet", "broadben tdtreet" for BROADBENT ST): compared as
    one word with the suffix written out, where one edit is allowed, not two."""
    if bool(_text(requested.get("suffix"))) == bool(_text(on_file.get("suffix"))):
        return False
    one, other = _written_out(requested), _written_out(on_file)
    return misspelt(one, other) and jellyfish.damerau_levenshtein_distance(one, other) == 1


@cache
def _suffix_forms() -> dict[str, tuple[str, ...]]:
    """Each standard suffix with every written form of it that Publication 28 lists."""
    forms: dict[str, list[str]] = {}
    for written, standard in _SUFFIXES.items():
        forms.setdefault(standard, []).append(written)
    return {standard: tuple(words) for standard, words in forms.items()}


def _name_then_misspelt_suffix(one: Mapping[str, object], other: Mapping[str, object]) -> bool:
    """`one` has no suffix, and its street is `other`'s name exactly followed by a misspelt
    form of `other`'s suffix ("GROOM UREET", "MCINTOSHUSREET" for GROOM ST, MCINTOSH ST).
    The name, which tells one street from another, agrees letter for letter; only the word
    that says what kind of street it is was mistyped."""
    suffix = _text(other.get("suffix"))
    name, whole = _text(other.get("name_fused")), _text(one.get("name_fused"))
    if _text(one.get("suffix")) or not suffix or len(name) < 3 or not whole.startswith(name):
        return False
    rest = whole[len(name) :]
    if len(rest) < 4:
        return False
    return any(
        jellyfish.damerau_levenshtein_distance(rest, form) <= (1 if len(form) <= 5 else 2)
        for form in _suffix_forms().get(suffix, ())
        if len(form) >= 4
    )


def _same_box(requested: Mapping[str, object], on_file: Mapping[str, object]) -> frozenset[Tolerance] | None:
    """A line without a house number (a PO box, a rural route box) is the same address only
    when it is the same in standard form, with the same unit and ZIP: the box number is the
    home, and no tolerance applies to it ("PO Box 1234" / "P.O. Box 1234")."""
    line_r, line_f = _text(requested.get("name_fused")), _text(on_file.get("name_fused"))
    same = (
        line_r != ""
        and line_r == line_f
        and _text(requested.get("unit_std")) == _text(on_file.get("unit_std"))
        and _text(requested.get("zip5")) == _text(on_file.get("zip5"))
    )
    return frozenset() if same else None


def corroborate(
    requested: Mapping[str, object], on_file: Mapping[str, object]
) -> frozenset[Tolerance] | None:
    """How the requested address differs from one on file, when it is that address: the
    empty set when it is the same in standard form, the tolerances it needed otherwise,
    and None when it is not that address.

    Both arguments hold `address_parts`' columns (house, predir, street_name, suffix,
    postdir, name_fused, name_unglued, unit_std, zip5, city_std). Pure."""
    house_r, house_f = _text(requested.get("house")), _text(on_file.get("house"))
    zip_r, zip_f = _text(requested.get("zip5")), _text(on_file.get("zip5"))
    if not zip_r or not zip_f:
        return None
    if not house_r and not house_f:
        return _same_box(requested, on_file)
    if not house_r or house_r != house_f:
        return None  # a different (or no) house number is never the same home
    used: set[Tolerance] = set()
    unit_r, unit_f = _text(requested.get("unit_std")), _text(on_file.get("unit_std"))
    if unit_r != unit_f:
        if unit_r and unit_f:
            return None  # a different unit is never the same home
        used.add(Tolerance.UNIT_OMITTED)

    name_r, name_f = _text(requested.get("name_fused")), _text(on_file.get("name_fused"))
    same_form = all(_text(requested.get(c)) == _text(on_file.get(c)) for c in ("predir", "suffix", "postdir"))
    if name_r and name_r == name_f:
        if not same_form:
            used.add(Tolerance.SUFFIX_OR_DIRECTIONAL)
    elif name_r and name_f and (_glued(requested, name_f, on_file) or _glued(on_file, name_r, requested)):
        used.add(Tolerance.STREET_RUN_TOGETHER)
    elif (
        name_r
        and name_f
        and (_name_then_misspelt_suffix(requested, on_file) or _name_then_misspelt_suffix(on_file, requested))
    ):
        used.add(Tolerance.SUFFIX_MISSPELT)
    elif misspelt(name_r, name_f):
        used.add(Tolerance.STREET_MISSPELT)
        if not same_form:
            used.add(Tolerance.SUFFIX_OR_DIRECTIONAL)
    elif name_r and name_f and _run_together_and_misspelt(requested, on_file):
        used |= {Tolerance.STREET_MISSPELT, Tolerance.STREET_RUN_TOGETHER}
    else:
        return None

    if zip_r != zip_f:
        city_r, city_f = _text(requested.get("city_std")), _text(on_file.get("city_std"))
        street_agrees = not (used & {Tolerance.STREET_MISSPELT, Tolerance.STREET_RUN_TOGETHER})
        if not (zip_slipped(zip_r, zip_f) and city_r and city_r == city_f and street_agrees):
            return None
        used.add(Tolerance.ZIP_SLIP)
    if len(used & CONTENT_TOLERANCES) > 1:
        return None  # one change of content at a time
    return frozenset(used)


COMPARED_COLUMNS = (
    "house", "predir", "street_name", "suffix", "postdir", "name_fused", "name_unglued", "unit_std", "zip5",
    "city_std",
)  # fmt: skip


def corroborations(pairs: pl.DataFrame, requested: str = "r_", on_file: str = "f_") -> pl.Series:
    """`corroborate` for each row of `pairs`, which holds COMPARED_COLUMNS twice (prefixed
    `requested` and `on_file`): a List[String] of tolerance names per row (empty: the same
    address), NULL where the requested address is not the one on file.

    Computed once per distinct pair of parts (a household's requests repeat them)."""
    columns = [f"{requested}{c}" for c in COMPARED_COLUMNS] + [f"{on_file}{c}" for c in COMPARED_COLUMNS]
    distinct = pairs.select(columns).unique()
    results = []
    for row in distinct.iter_rows(named=True):
        r = {c: row[f"{requested}{c}"] for c in COMPARED_COLUMNS}
        f = {c: row[f"{on_file}{c}"] for c in COMPARED_COLUMNS}
        found = corroborate(r, f)
        results.append(None if found is None else sorted(t.value for t in found))
    keyed = distinct.with_columns(pl.Series("_tolerances", results, dtype=pl.List(pl.String)))
    joined = pairs.select(columns).join(
        keyed, on=columns, how="left", nulls_equal=True, maintain_order="left"
    )
    return joined["_tolerances"].rename("tolerances")


def corroborates(tolerances: pl.Expr, person_confirmed: pl.Expr) -> pl.Expr:
    """Whether a pair's tolerances (a `corroborations` list) corroborate the address: any
    tolerance but UNIT_OMITTED on its own terms; UNIT_OMITTED only with `person_confirmed`
    (a TIN or a date of birth that agrees)."""
    return tolerances.is_not_null() & (
        ~tolerances.list.contains(Tolerance.UNIT_OMITTED.value) | person_confirmed.fill_null(False)
    )


@cache
def suffix_full_words() -> dict[str, str]:
    """Each standard suffix with the word it abbreviates (ST -> STREET, LN -> LANE): its
    longest written form that is not a plural of another (LANES, TRAILS and PARKWAYS are
    also written LN, TRL and PKWY, but they are not what St, Trl or Pkwy stand for)."""
    longest: dict[str, str] = {}
    for written, standard in _SUFFIXES.items():
        if written.endswith("S") and _SUFFIXES.get(written[:-1]) == standard:
            continue
        if len(written) > len(longest.get(standard, "")):
            longest[standard] = written
    return longest


@cache
def directional_full_words() -> dict[str, str]:
    """Each standard directional with the word it abbreviates (N -> NORTH, NE -> NORTHEAST)."""
    return {standard: written for written, standard in DIRECTIONAL_REPLACEMENTS.items()}
