"""A request batch against a world, with the truth of every request.

Each request is of one *kind* (the first of its labels) and may carry modifiers
(`missing_dob`, `flat`, `relatives_at_address`, ...). The truth says, per request: the
true TIN (or none: the person is not in the file), whether a lawful answer exists, and
the address that answer is (the person's last known address: their newest 1040).

"A lawful answer exists" is this tester's reading of 6103(i)(2) and issue 11, applied
to what the request says:
  - the record is statutorily sufficient (no placeholder or ZIP-only address);
  - the person is in the file and the supplied address is one on file for them
    (current or prior), written in any USPS form, with a misspelt or run-together street
    (same number, unit, ZIP), a missing or different suffix or directional, or a ZIP one
    keystroke off; a unit left out counts only when a DOB or TIN agrees;
  - the request identifies them: their name is compatible (equal, an initial, one slip,
    swapped given and family names, one of two surnames; a nickname only with a DOB or
    TIN that agrees), nothing supplied contradicts them, and no other filer at that
    address is equally compatible.
For requests about someone the file does not hold (an absent relative, a stranger, a
worker using another person's SSN) no answer is lawful, and the generator makes sure
the request itself carries what separates them from everyone at that address (a first
name that conflicts, or a date of birth that does): a gate that reads the request can
always refuse them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from independent.addresses import (
    STATE_NAMES,
    Home,
    Style,
    all_zips,
    random_style,
    render,
    street_line,
    suffix_text,
    unit_text,
)
from independent.names import (
    ACCENTED,
    NICKNAMES,
    digit_slip,
    edit_distance_at_most_one,
    given_names_compatible,
    is_nickname_pair,
    keyboard_slip,
    load_frequencies,
    nickname_related,
    plain,
    surname_words,
    surnames_compatible,
    title,
)
from independent.population import AS_OF, Person, World

STATUTE = "8 U.S.C. 1253(a)(1)"
CASES_PER_OFFICER = 40  # below the default ceiling of 50
PLACEHOLDERS = ("Failed to Provide", "Unknown Address", "NA NA", "Don't Care 12345", "UNKNOWN", "N/A", "00000")

# kind -> weight in the default mix (per 100 requests)
DEFAULT_MIX: dict[str, float] = {
    # in the file, a lawful answer expected (unless a modifier removes it)
    "current_address": 9,
    "prior_address": 6,
    "flat_unit_form": 5,
    "unit_omitted": 3,
    "relatives_at_address": 6,
    "namesake": 2.5,
    "two_surnames": 3,
    "nickname": 3,
    "initial": 2,
    "typo_first_name": 2.5,
    "typo_last_name": 2.5,
    "typo_dob": 2,
    "typo_tin": 2,
    "typo_street": 2.5,
    "street_run_together": 2,
    "zip_keystroke": 2,
    "swapped_names": 2,
    "usps_forms": 3,
    "suffix_missing": 1.5,
    "accent": 1,
    "ssn_lender": 1,
    "prior_itin": 0.5,
    # in the file, but the address supplied is not one on file
    "address_not_on_file": 3,
    # not in the file: no lawful answer
    "bait_different_name": 3,
    "bait_same_initial": 2.5,
    "bait_nickname": 2.5,
    "bait_one_letter": 2.5,
    "borrowed_ssn_at_home": 2.5,
    "borrowed_ssn_elsewhere": 1,
    "non_filer_at_home": 1.5,
    "stranger_at_home": 1.5,
    "not_in_file": 9,
    # deficient records (6103(i)(2)(B)): the 2025 shapes
    "deficient_placeholder": 4,
    "deficient_zip_only": 3,
}
DOB_SUPPLIED = 0.7
TIN_SUPPLIED = 0.6

TRUTH_COLUMNS = (
    "request_id", "kind", "labels", "true_tin", "in_file", "sufficient", "lawful_answer",
    "identity_note", "expected_street", "expected_unit", "expected_city", "expected_state",
    "expected_zip", "expected_home", "supplied_home", "true_pid", "dob_supplied", "tin_supplied",
)  # fmt: skip


@dataclass
class Evidence:
    """What a request says about the person, in comparable form."""

    first: str
    last: str
    dob: date | None
    tin: str


@dataclass
class Draft:
    """A request being built: its fields, its truth, its labels."""

    fields: dict[str, str]
    kind: str
    labels: list[str] = field(default_factory=list)
    person: Person | None = None
    supplied_home: int = -1
    corroborates: bool = False  # the supplied address is one on file for `person`
    unit_left_out: bool = False
    sufficient: bool = True
    note: str = ""


def dob_slip(a: date, b: date) -> bool:
    """Two dates one keying slip apart: day and month swapped, the day or the year off by one,
    or one digit of the ISO text different."""
    if a == b:
        return False
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return True
    if a.year == b.year and a.month == b.month and abs(a.day - b.day) == 1:
        return True
    if a.month == b.month and a.day == b.day and abs(a.year - b.year) == 1:
        return True
    return sum(x != y for x, y in zip(a.isoformat(), b.isoformat(), strict=True)) == 1


def tin_slip(a: str, b: str) -> bool:
    return bool(a and b) and a != b and len(a) == len(b) and edit_distance_at_most_one(a, b)


def consistent(e: Evidence, q: Person) -> bool:
    """Whether filer `q` fits everything the request says (this tester's identity rule)."""
    dob_agrees = e.dob is not None and (e.dob == q.dob or dob_slip(e.dob, q.dob))
    tin_agrees = bool(e.tin) and (e.tin in (q.tin, q.prior_itin) or tin_slip(e.tin, q.tin))
    if e.dob is not None and not dob_agrees:
        return False
    if e.tin and not tin_agrees:
        return False
    corroborated = dob_agrees or tin_agrees
    straight = given_names_compatible(e.first, q.first, corroborated=corroborated) and surnames_compatible(e.last, q.last)
    swapped = given_names_compatible(e.last, q.first, corroborated=corroborated) and surnames_compatible(e.first, q.last)
    return straight or swapped


class BatchBuilder:
    def __init__(self, world: World, count: int, seed: int, mix: dict[str, float] | None = None,
                 dob_supplied: float = DOB_SUPPLIED, tin_supplied: float = TIN_SUPPLIED) -> None:  # fmt: skip
        self.world = world
        self.count = count
        self.rng = random.Random(seed * 7919 + 17)
        self.mix = mix or DEFAULT_MIX
        self.dob_supplied = dob_supplied
        self.tin_supplied = tin_supplied
        self.filers = [p for p in world.people if p.filer]
        self.used: set[int] = set()
        self.frequencies = load_frequencies()
        self.first_names = set(self.frequencies.female.names) | set(self.frequencies.male.names)
        self.names_by_length: dict[int, list[str]] = {}
        for n in sorted(self.first_names):
            self.names_by_length.setdefault(len(n), []).append(n)
        self.nickname_forms = sorted(set(NICKNAMES) | {n for shorts in NICKNAMES.values() for n in shorts})
        self.issued = set(world.all_tins)
        self.fresh_numbers: set[tuple[str, int, int]] = set()
        self._index()

    def _index(self) -> None:
        w = self.world
        self.flat_filers = [p for p in self.filers if w.homes[w.last_known[p.pid]].unit]
        self.movers = [p for p in self.filers if len(w.own_homes(p.pid)) > 1]
        self.namesakes = [p for p in self.filers if p.suffix]
        self.two_surnames = [p for p in self.filers if len(p.last.split()) > 1]
        self.nicknamed = [p for p in self.filers if p.first in NICKNAMES]
        self.accented = [p for p in self.filers if plain(p.written_first) != p.written_first.upper()
                         or plain(p.written_last) != p.written_last.upper()]  # fmt: skip
        self.lenders = [p for p in self.filers if p.lends_ssn_to]
        self.prior_itins = [p for p in self.filers if p.prior_itin]
        self.long_first = [p for p in self.filers if len(p.first) >= 4]
        self.long_last = [p for p in self.filers if len(p.last.split()[0]) >= 4]
        self.with_tin = [p for p in self.filers if p.tin]
        # filers living with a filer relative (a shared surname word) at their last known address
        self.with_relatives = []
        for p in self.filers:
            home = w.last_known[p.pid]
            if any(q != p.pid and set(surname_words(w.people[q].last)) & set(surname_words(p.last))
                   for q in w.filers_at.get(home, ())):  # fmt: skip
                self.with_relatives.append(p)
        self.relative_pids = {p.pid for p in self.with_relatives}
        self.lines_by_zip_number: dict[tuple[str, str], list[tuple[str, ...]]] = {}
        for line in w.by_line:
            self.lines_by_zip_number.setdefault((line[5], line[0]), []).append(line)
        self.homes_with_filers = sorted(w.filers_at)
        self.workers_at_home = [w.people[a] for a, b in w.lending
                                if w.people[a].history[2024] == w.last_known.get(b, -2)]  # fmt: skip
        self.workers_elsewhere = [w.people[a] for a, b in w.lending
                                  if w.people[a].history[2024] != w.last_known.get(b, -2)]  # fmt: skip
        self.non_filers = [p for p in w.people if not p.filer and p.works_under < 0]

    # --- field builders -------------------------------------------------------------------------

    def _name_case(self, text: str, upper: bool) -> str:
        text = plain(text) if self.rng.random() < 0.8 else text.upper()
        return text if upper else title(text)

    def _base(self, p: Person, home_id: int, style: Style | None = None) -> Draft:
        rng = self.rng
        upper = rng.random() < 0.5
        accents = {plain(k): v for k, v in ACCENTED.items()}
        first = accents.get(p.first, p.first) if p.hispanic and rng.random() < 0.2 else p.first
        last = " ".join(accents.get(x, x) if p.hispanic and rng.random() < 0.2 else x for x in p.last.split())
        middle = ""
        if p.middle and rng.random() < 0.25:
            middle = p.middle[0] if rng.random() < 0.5 else p.middle
        fields = {
            "first_name": self._name_case(first, upper),
            "middle_name": self._name_case(middle, upper),
            "last_name": self._name_case(last, upper),
            "date_of_birth": p.dob.isoformat() if rng.random() < self.dob_supplied else "",
            "tin": self._tin_text(p.tin) if p.tin and rng.random() < self.tin_supplied else "",
        }
        fields |= self._address(self.world.homes[home_id], style)
        return Draft(fields=fields, kind="", person=p, supplied_home=home_id, corroborates=True)

    def _tin_text(self, tin: str) -> str:
        return f"{tin[:3]}-{tin[3:5]}-{tin[5:]}" if self.rng.random() < 0.4 else tin

    def _address(self, home: Home, style: Style | None = None) -> dict[str, str]:
        row = render(home, style or random_style(self.rng))
        if self.rng.random() < 0.05 and row["state"] in STATE_NAMES:
            row["state"] = STATE_NAMES[row["state"]]
        if row["unit"] and self.rng.random() < 0.15:
            # a unit written into the street line carries its designator ("Apt 4B", "#4B")
            written = f"Apt {row['unit']}" if row["unit"].upper() == home.unit.upper() else row["unit"]
            row["street"], row["unit"] = f"{row['street']} {written}", ""
        return row

    def _fresh_home(self, zip5: str | None = None) -> Home:
        """An address in the world's streets that nobody has ever filed from."""
        w, rng = self.world, self.rng
        zone = next(z for z in w.zips if z.zip5 == zip5) if zip5 else rng.choice(w.zips)
        streets = w.streets[zone.zip5]
        while True:
            s = rng.randrange(len(streets))
            number = rng.randint(1, 9899)
            if number in w.used_numbers[(zone.zip5, s)] or (zone.zip5, s, number) in self.fresh_numbers:
                continue
            self.fresh_numbers.add((zone.zip5, s, number))
            predir, name, suffix, postdir = streets[s]
            return Home(-1, str(number), predir, name, suffix, postdir, "", zone.zip5, f"{rng.randint(1, 9999):04d}",
                        zone.city, zone.state)  # fmt: skip

    def _pick(self, pool: list[Person]) -> Person | None:
        for _ in range(30):
            if not pool:
                return None
            p = self.rng.choice(pool)
            if p.pid not in self.used:
                self.used.add(p.pid)
                return p
        return None

    def _fresh_tin(self) -> str:
        while True:
            tin = f"{self.rng.randint(1, 899):03d}{self.rng.randint(1, 99):02d}{self.rng.randint(1, 9999):04d}"
            if tin not in self.issued and tin[:3] != "666":
                self.issued.add(tin)
                return tin

    def _random_first(self, sex: str | None = None, hispanic: bool = False) -> str:
        sex = sex or self.rng.choice("FM")
        table = self.frequencies.female if sex == "F" else self.frequencies.male
        return table.draw(self.rng, hispanic)

    # --- in the file ----------------------------------------------------------------------------

    def _genuine(self, pool: list[Person] | None = None, home: str = "last") -> Draft | None:
        p = self._pick(pool if pool is not None else self.filers)
        if p is None:
            return None
        w = self.world
        home_id = w.last_known[p.pid]
        if home == "prior":
            priors = sorted(w.own_homes(p.pid) - {home_id})
            if not priors:
                return None
            home_id = self.rng.choice(priors)
        return self._base(p, home_id)

    def kind_current_address(self) -> Draft | None:
        return self._genuine()

    def kind_prior_address(self) -> Draft | None:
        return self._genuine(self.movers, home="prior")

    def kind_flat_unit_form(self) -> Draft | None:
        return self._genuine(self.flat_filers)

    def kind_unit_omitted(self) -> Draft | None:
        d = self._genuine(self.flat_filers)
        if d is None:
            return None
        d.fields["street"] = street_line(self.world.homes[d.supplied_home], random_style(self.rng))
        d.fields["unit"] = ""
        d.unit_left_out = True
        return d

    def kind_relatives_at_address(self) -> Draft | None:
        return self._genuine(self.with_relatives)

    def kind_namesake(self) -> Draft | None:
        d = self._genuine(self.namesakes)
        if d is not None and self.rng.random() < 0.3:
            assert d.person is not None
            suffix = {"JR": "Jr", "SR": "Sr"}[d.person.suffix]
            d.fields["last_name"] = f"{d.fields['last_name']} {suffix.upper() if d.fields['last_name'].isupper() else suffix}"
            d.labels.append("suffix_in_last_name")
        return d

    def kind_two_surnames(self) -> Draft | None:
        d = self._genuine(self.two_surnames)
        if d is None:
            return None
        words = d.fields["last_name"].split()
        form = self.rng.choices(("first", "second", "hyphen", "joined"), weights=(55, 15, 20, 10))[0]
        d.fields["last_name"] = {"first": words[0], "second": words[-1], "hyphen": "-".join(words),
                                 "joined": "".join(words)}[form]  # fmt: skip
        d.labels.append(f"surname_{form}")
        return d

    def kind_nickname(self) -> Draft | None:
        d = self._genuine(self.nicknamed)
        if d is None:
            return None
        assert d.person is not None
        nick = self.rng.choice(NICKNAMES[d.person.first])
        d.fields["first_name"] = nick if d.fields["first_name"].isupper() else title(nick)
        return d

    def kind_initial(self) -> Draft | None:
        d = self._genuine()
        if d is not None:
            d.fields["first_name"] = d.fields["first_name"][0]
        return d

    def kind_typo_first_name(self) -> Draft | None:
        d = self._genuine(self.long_first)
        if d is not None:
            d.fields["first_name"] = keyboard_slip(d.fields["first_name"], self.rng)
        return d

    def kind_typo_last_name(self) -> Draft | None:
        d = self._genuine(self.long_last)
        if d is not None:
            words = d.fields["last_name"].split()
            words[0] = keyboard_slip(words[0], self.rng)
            d.fields["last_name"] = " ".join(words)
        return d

    def kind_typo_dob(self) -> Draft | None:
        d = self._genuine()
        if d is None:
            return None
        assert d.person is not None
        dob = d.person.dob
        for _ in range(20):
            choice = self.rng.choice(("swap", "day", "year", "digit"))
            try:
                if choice == "swap":
                    slipped = date(dob.year, dob.day, dob.month)
                elif choice == "day":
                    slipped = dob + timedelta(days=self.rng.choice((-1, 1)))
                elif choice == "year":
                    slipped = date(dob.year + self.rng.choice((-1, 1)), dob.month, dob.day)
                else:
                    text = dob.isoformat()
                    i = self.rng.choice((2, 3, 6, 9))
                    slipped = date.fromisoformat(text[:i] + digit_slip(text[i], self.rng) + text[i + 1 :])
            except ValueError:
                continue
            if slipped != dob and slipped < AS_OF:
                d.fields["date_of_birth"] = slipped.isoformat()
                d.labels.append(f"dob_{choice}")
                return d
        return None

    def kind_typo_tin(self) -> Draft | None:
        d = self._genuine(self.with_tin)
        if d is None:
            return None
        assert d.person is not None
        for _ in range(20):
            slipped = digit_slip(d.person.tin, self.rng)
            if slipped not in self.issued:
                d.fields["tin"] = self._tin_text(slipped)
                return d
        return None

    def _street_variant(self, d: Draft, name: str | None = None, suffix: str | None = None) -> None:
        home = self.world.homes[d.supplied_home]
        style = random_style(self.rng)
        d.fields["street"] = street_line(home, style, name=name, suffix=suffix)
        d.fields["unit"] = unit_text(home, style)

    def kind_typo_street(self) -> Draft | None:
        d = self._genuine()
        if d is None:
            return None
        home = self.world.homes[d.supplied_home]
        if len(home.name) < 5 or home.name[0].isdigit():
            return None
        slipped = keyboard_slip(home.name, self.rng)
        if self._line_exists(home, name=slipped.upper()):
            return None  # the slip spells another street of that ZIP
        self._street_variant(d, name=slipped)
        return d

    def _line_exists(self, home: Home, **changes: str | None) -> bool:
        """Whether another home's street line equals `home`'s with `changes` applied
        (a written variant that would name a different building)."""
        number, predir, name, suffix, postdir, zip5 = home.line
        wanted = {"number": number, "predir": predir, "name": name, "suffix": suffix, "postdir": postdir,
                  "zip5": zip5} | changes  # fmt: skip
        for line in self.lines_by_zip_number.get((zip5, number), ()):
            if line == home.line:
                continue
            fields = dict(zip(("number", "predir", "name", "suffix", "postdir", "zip5"), line, strict=True))
            if all(fields[k] == v for k, v in wanted.items() if v is not None):
                return True
        return False

    def kind_street_run_together(self) -> Draft | None:
        d = self._genuine()
        if d is None:
            return None
        home = self.world.homes[d.supplied_home]
        # "pearsonstreet": the name and its suffix (full or short) typed as one word
        fused = home.name + suffix_text(home.suffix, self.rng.choice((0, 1))).rstrip(".").lower()
        self._street_variant(d, name=fused.lower() if self.rng.random() < 0.5 else fused.upper(), suffix="")
        return d

    def kind_zip_keystroke(self) -> Draft | None:
        d = self._genuine()
        if d is None:
            return None
        home = self.world.homes[d.supplied_home]
        zips = all_zips()
        for _ in range(30):
            slipped = digit_slip(home.zip5, self.rng)
            z = zips.get(slipped)
            if z is not None and z.state == home.state and ((*home.line[:-1], slipped)) not in self.world.by_line:
                d.fields["zip"] = slipped
                return d
        return None

    def kind_swapped_names(self) -> Draft | None:
        d = self._genuine()
        if d is not None:
            d.fields["first_name"], d.fields["last_name"] = d.fields["last_name"], d.fields["first_name"]
        return d

    def kind_usps_forms(self) -> Draft | None:
        """The request writes suffix and directional in the other USPS form from the newest return."""
        d = self._genuine()
        if d is None:
            return None
        assert d.person is not None and d.person.lka_style is not None
        if d.supplied_home != self.world.last_known[d.person.pid]:
            return None
        on_file = d.person.lka_style
        other = Style(on_file.case if self.rng.random() < 0.5 else "upper", 0 if on_file.suffix_form else 1,
                      0 if on_file.direction_form else 1, (on_file.unit_form + 3) % 8, not on_file.zip_plus4)  # fmt: skip
        d.fields |= self._address(self.world.homes[d.supplied_home], other)
        return d

    def kind_suffix_missing(self) -> Draft | None:
        d = self._genuine()
        if d is None:
            return None
        home = self.world.homes[d.supplied_home]
        if self.rng.random() < 0.5 and home.predir:
            if self._line_exists(home, predir=None):
                return None  # without its directional it would name another street
            bare = Home(home.hid, home.number, "", home.name, home.suffix, home.postdir, home.unit, home.zip5,
                        home.plus4, home.city, home.state)  # fmt: skip
            style = random_style(self.rng)
            d.fields["street"] = street_line(bare, style)
            d.fields["unit"] = unit_text(home, style)
            d.labels.append("directional_missing")
        else:
            if self._line_exists(home, suffix=None):
                return None  # without its suffix it would name another street
            self._street_variant(d, suffix="")
            d.labels.append("suffix_left_out")
        return d

    def kind_accent(self) -> Draft | None:
        d = self._genuine(self.accented)
        if d is None:
            return None
        assert d.person is not None
        d.fields["first_name"] = plain(d.fields["first_name"]) if self.rng.random() < 0.5 else d.person.written_first
        d.fields["last_name"] = d.person.written_last if self.rng.random() < 0.5 else plain(d.fields["last_name"])
        return d

    def kind_ssn_lender(self) -> Draft | None:
        return self._genuine(self.lenders)

    def kind_prior_itin(self) -> Draft | None:
        d = self._genuine(self.prior_itins)
        if d is not None:
            assert d.person is not None
            d.fields["tin"] = self._tin_text(d.person.prior_itin)
        return d

    def kind_address_not_on_file(self) -> Draft | None:
        d = self._genuine()
        if d is None:
            return None
        assert d.person is not None
        same_zip = self.world.homes[d.supplied_home].zip5 if self.rng.random() < 0.5 else None
        d.fields |= self._address(self._fresh_home(same_zip))
        d.supplied_home, d.corroborates = -1, False
        return d

    # --- not in the file ------------------------------------------------------------------------

    def _absent(self, home_id: int, first: str, last: str, dob: date | None, tin: str = "") -> Draft:
        rng = self.rng
        upper = rng.random() < 0.5
        fields = {
            "first_name": self._name_case(first, upper),
            "middle_name": "",
            "last_name": self._name_case(last, upper),
            "date_of_birth": dob.isoformat() if dob else "",
            "tin": self._tin_text(tin) if tin else "",
        }
        home = self.world.homes[home_id] if home_id >= 0 else None
        return Draft(fields=fields, kind="", supplied_home=home_id) if home is None else Draft(
            fields=fields | self._address(home), kind="", supplied_home=home_id
        )

    def _separated(self, d: Draft, home_id: int) -> bool:
        """No filer who has filed from `home_id` fits what the request says."""
        e = evidence(d.fields)
        return not any(consistent(e, self.world.people[q]) for q in self.world.filers_at.get(home_id, ()))

    def _far_dob(self, other: date) -> date:
        while True:
            dob = other + timedelta(days=self.rng.choice((-1, 1)) * self.rng.randint(400, 12000))
            if dob < AS_OF - timedelta(days=18 * 365) and not dob_slip(dob, other):
                return dob

    def _bait(self, choose_first: Callable[[Person], str | None], dob_share: float) -> Draft | None:
        """An absent relative (not in the file) named at the home of relative `r`."""
        w, rng = self.world, self.rng
        for _ in range(40):
            r = rng.choice(self.with_relatives) if rng.random() < 0.7 else rng.choice(self.filers)
            home_id = w.last_known[r.pid]
            first = choose_first(r)
            if not first:
                continue
            dob = self._far_dob(r.dob) if rng.random() < dob_share else None
            tin = self._fresh_tin() if rng.random() < 0.15 else ""
            d = self._absent(home_id, first, r.last, dob, tin)
            if self._separated(d, home_id):
                if dob is None:
                    d.labels.append("no_dob_name_only")
                return d
        return None

    def kind_bait_different_name(self) -> Draft | None:
        def first(r: Person) -> str | None:
            name = self._random_first(hispanic=r.hispanic)
            return name if name[0] != r.first[0] and not nickname_related(name, r.first) else None

        return self._bait(first, 0.7)

    def kind_bait_same_initial(self) -> Draft | None:
        def first(r: Person) -> str | None:
            for _ in range(30):
                name = self._random_first(hispanic=r.hispanic)
                if name[0] == r.first[0] and name != r.first and not edit_distance_at_most_one(name, r.first) \
                        and not nickname_related(name, r.first):  # fmt: skip
                    return name
            return None

        return self._bait(first, 0.7)

    def kind_bait_nickname(self) -> Draft | None:
        def first(r: Person) -> str | None:
            related = sorted(n for n in self.nickname_forms if n != r.first and nickname_related(n, r.first))
            return self.rng.choice(related) if related else None

        d = self._bait(first, 0.7)
        if d is not None:
            e = evidence(d.fields)
            d.labels.append("direct_nickname" if any(
                is_nickname_pair(e.first, self.world.people[q].first) for q in self.world.filers_at.get(d.supplied_home, ())
            ) else "nickname_chain")  # fmt: skip
        return d

    def kind_bait_one_letter(self) -> Draft | None:
        by_length = self.names_by_length

        def first(r: Person) -> str | None:
            if len(r.first) < 4:
                return None
            near = [n for k in (len(r.first) - 1, len(r.first), len(r.first) + 1) for n in by_length.get(k, ())
                    if n != r.first and edit_distance_at_most_one(n, r.first)]  # fmt: skip
            return self.rng.choice(sorted(near)) if near else None

        return self._bait(first, 1.0)  # a one-letter difference is a typo unless a DOB says otherwise

    def _worker(self, pool: list[Person], label: str) -> Draft | None:
        for _ in range(30):
            if not pool:
                return None
            worker = self.rng.choice(pool)
            if worker.pid in self.used:
                continue
            self.used.add(worker.pid)
            holder = self.world.people[worker.works_under]
            home_id = worker.history[2024]
            dob = worker.dob if self.rng.random() < 0.6 else None
            d = self._absent(home_id, worker.first, worker.last, dob, holder.tin)
            if not self._separated(d, home_id):
                continue  # the worker's name would pass for the holder's: not a fair case
            if set(surname_words(worker.last)) & set(surname_words(holder.last)):
                d.labels.append("holder_is_relative")
            d.labels.append(label)
            return d
        return None

    def kind_borrowed_ssn_at_home(self) -> Draft | None:
        return self._worker(self.workers_at_home, "housemate_ssn")

    def kind_borrowed_ssn_elsewhere(self) -> Draft | None:
        return self._worker(self.workers_elsewhere, "holder_elsewhere")

    def kind_non_filer_at_home(self) -> Draft | None:
        for _ in range(30):
            p = self._pick(self.non_filers)
            if p is None:
                return None
            home_id = p.history[2024]
            d = self._absent(home_id, p.first, p.last, p.dob if self.rng.random() < 0.6 else None, p.tin)
            if self._separated(d, home_id):
                return d
        return None

    def kind_stranger_at_home(self) -> Draft | None:
        for _ in range(30):
            home_id = self.rng.choice(self.homes_with_filers)
            his = self.rng.random() < 0.4
            first = self._random_first(hispanic=his)
            last = self.frequencies.surnames.draw(self.rng, his)
            dob = AS_OF - timedelta(days=self.rng.randint(18 * 365, 80 * 365)) if self.rng.random() < 0.7 else None
            d = self._absent(home_id, first, last, dob)
            if self._separated(d, home_id):
                return d
        return None

    def kind_not_in_file(self) -> Draft | None:
        his = self.rng.random() < 0.4
        first = self._random_first(hispanic=his)
        last = self.frequencies.surnames.draw(self.rng, his)
        dob = AS_OF - timedelta(days=self.rng.randint(18 * 365, 80 * 365)) if self.rng.random() < 0.7 else None
        d = self._absent(-1, first, last, dob, self._fresh_tin() if self.rng.random() < 0.4 else "")
        d.fields |= self._address(self._fresh_home())
        return d

    # --- deficient --------------------------------------------------------------------------------

    def kind_deficient_placeholder(self) -> Draft | None:
        d = self._genuine(self.with_tin)
        if d is None:
            return None
        assert d.person is not None
        d.fields["tin"] = self._tin_text(d.person.tin) if self.rng.random() < 0.9 else d.fields["tin"]
        text = self.rng.choice(PLACEHOLDERS)
        d.fields["street"], d.fields["unit"] = text, ""
        if self.rng.random() < 0.4:
            d.fields["city"] = d.fields["state"] = d.fields["zip"] = ""
        d.sufficient, d.corroborates, d.supplied_home = False, False, -1
        d.labels.append("placeholder_with_zip" if d.fields["zip"] else "placeholder_alone")
        return d

    def kind_deficient_zip_only(self) -> Draft | None:
        d = self._genuine(self.with_tin)
        if d is None:
            return None
        assert d.person is not None
        d.fields["tin"] = self._tin_text(d.person.tin) if self.rng.random() < 0.9 else d.fields["tin"]
        d.fields["street"] = d.fields["unit"] = ""
        if self.rng.random() < 0.5:
            d.fields["city"] = d.fields["state"] = ""
        d.sufficient, d.corroborates, d.supplied_home = False, False, -1
        return d

    # --- assembling -------------------------------------------------------------------------------

    def _judge(self, d: Draft) -> dict[str, object]:
        """The truth of one finished draft."""
        w = self.world
        p = d.person
        e = evidence(d.fields)
        if not e.dob:
            d.labels.append("missing_dob")
        if not e.tin:
            d.labels.append("missing_tin")
        lawful = False
        note = d.note
        if p is not None:
            home = w.homes[w.last_known[p.pid]]
            if home.unit:
                d.labels.append("flat")
            supplied = w.homes[d.supplied_home] if d.supplied_home >= 0 else None
            if supplied is not None and supplied.unit and not d.fields["unit"] and not d.unit_left_out:
                d.labels.append("unit_in_street")
            if p.pid in self.relative_pids:
                d.labels.append("relatives_at_address")
            if len(w.own_homes(p.pid)) > 1:
                d.labels.append("moved")
            if p.stale_w2:
                d.labels.append("stale_w2_newest_year")
            if p.tin_type == "ITIN":
                d.labels.append("itin")
            if p.suffix:
                d.labels.append("jr_sr")
            dob_or_tin_agrees = (e.dob is not None and (e.dob == p.dob or dob_slip(e.dob, p.dob))) or (
                bool(e.tin) and (e.tin in (p.tin, p.prior_itin) or tin_slip(e.tin, p.tin))
            )
            if not d.sufficient:
                note = "deficient record"
            elif not d.corroborates:
                note = "address not on file for the person"
            elif d.unit_left_out and not dob_or_tin_agrees:
                note = "unit left out without a DOB or TIN that agrees"
            elif not consistent(e, p):
                note = "the request does not identify the person (e.g. a nickname with no DOB or TIN)"
            else:
                homes = (w.by_line[w.homes[d.supplied_home].line] if d.unit_left_out else [d.supplied_home])
                rivals = {q for h in homes for q in w.filers_at.get(h, ()) if q != p.pid}
                if any(consistent(e, w.people[q]) for q in rivals):
                    note = "another filer at the address fits the request equally"
                    d.labels.append("ambiguous_in_truth")
                else:
                    lawful = True
        lka = p.lka_row if p is not None else {}
        return {
            "kind": d.kind,
            "labels": ";".join(dict.fromkeys([d.kind, *d.labels])),
            "true_tin": p.tin if p is not None else "",
            "in_file": p is not None,
            "sufficient": d.sufficient,
            "lawful_answer": lawful,
            "identity_note": note,
            **{f"expected_{c}": lka.get(c, "") for c in ("street", "unit", "city", "state", "zip")},
            "expected_home": w.last_known[p.pid] if p is not None else -1,
            "supplied_home": d.supplied_home,
            "true_pid": p.pid if p is not None else -1,
            "dob_supplied": bool(e.dob),
            "tin_supplied": bool(e.tin),
        }

    def build(self) -> tuple[list[dict[str, str]], list[dict[str, object]], dict[str, object]]:
        kinds = list(self.mix)
        weights = [self.mix[k] for k in kinds]
        officers = [f"SA-{i + 1:04d}" for i in range(max(1, -(-self.count // CASES_PER_OFFICER)))]
        requests: list[dict[str, str]] = []
        truths: list[dict[str, object]] = []
        misses = 0
        while len(requests) < self.count:
            kind = self.rng.choices(kinds, weights=weights)[0]
            draft = getattr(self, f"kind_{kind}")()
            if draft is None:
                misses += 1
                if misses > 50 * self.count:
                    raise RuntimeError("the world is too small for this batch")
                continue
            draft.kind = kind
            i = len(requests)
            request_id = f"IND-{i + 1:06d}"
            case = f"ERO-{self.rng.randint(10, 99)}-{i + 1:06d}"
            order_date = AS_OF - timedelta(days=self.rng.randint(120, 3000))
            row = {"request_id": request_id, **draft.fields}
            row |= {
                "taxable_periods": self.rng.choice(("2024", "2023;2024", "2022-2024", "2022;2023;2024")),
                "statute": STATUTE,
                "reason": (f"Final order of removal entered {order_date.isoformat()}; subject did not depart "
                           f"within 90 days; last known address needed to locate the subject in case {case}."),
                "case_number": case,
                "officer": officers[i // CASES_PER_OFFICER],
            }  # fmt: skip
            requests.append(row)
            truths.append({"request_id": request_id, **self._judge(draft)})
        letter = {
            "requesting_agency": "U.S. Immigration and Customs Enforcement",
            "department": "Department of Homeland Security",
            "signer": {"name": "Avery T. Example", "title": "Secretary of Homeland Security"},
            "date": AS_OF.isoformat(),
            "statute": STATUTE,
            "purpose": "Criminal investigations of wilful failure to depart after a final order of removal",
            "officers": officers,
            "record_count": self.count,
        }
        return requests, truths, letter


def evidence(fields: dict[str, str]) -> Evidence:
    dob = None
    if fields.get("date_of_birth"):
        try:
            dob = date.fromisoformat(fields["date_of_birth"])
        except ValueError:
            dob = None
    tin = "".join(c for c in fields.get("tin", "") if c.isdigit())
    return Evidence(first=fields.get("first_name", ""), last=fields.get("last_name", ""), dob=dob,
                    tin=tin if len(tin) == 9 else "")  # fmt: skip


def build_batch(world: World, count: int, seed: int, mix: dict[str, float] | None = None
                ) -> tuple[list[dict[str, str]], list[dict[str, object]], dict[str, object]]:  # fmt: skip
    """`count` requests against `world`: (request rows, truth rows, letter)."""
    return BatchBuilder(world, count, seed, mix).build()
