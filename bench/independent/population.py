"""A synthetic world of people in homes, and the taxpayer file it produces.

The world holds everyone: filers and adults who do not file. Households are relatives
(a shared surname, parents and adult children, couples with two surnames, Jr./Sr.
namesakes, siblings), couples, single people and shared houses of unrelated adults;
homes are houses or flats in buildings (one street line, many units). Households move
(a prior home for earlier tax years), adult children move out of the family home, and
some workers who do not file work under another person's SSN (their W-2s are filed
under that TIN with `name_on_return` set to the worker's name).

The taxpayer file is what an agency would hold: `taxpayers` (one row per TIN) and
`addresses` (one row per return: 1040s written by the filer, W-2s written by payroll
systems), with the writing varying from return to return. Everything else (who lives
where, who is related, who does not file) is truth that only the tester keeps.

Plain Python and NumPy; one seed decides everything.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from independent.addresses import (
    SUFFIX_SHARE,
    Home,
    Style,
    Zip,
    random_style,
    render,
    standard_zips,
    street_names,
)
from independent.names import ACCENTED, NameFrequencies, NameTable, load_frequencies, title

TAX_YEARS = tuple(range(2019, 2025))
LAST_TAX_YEAR = TAX_YEARS[-1]
AS_OF = date(2025, 6, 1)
ITIN_GROUPS = (*range(50, 66), *range(70, 89), *range(90, 93), *range(94, 100))

HOUSEHOLD_KINDS = {
    "single": 30,
    "couple_same_surname": 17,
    "couple_two_surnames": 10,
    "family": 22,
    "namesakes": 5,
    "shared_house": 10,
    "siblings": 6,
}


@dataclass(slots=True)
class Person:
    pid: int
    first: str  # upper case, no accents: the person's given name
    middle: str
    last: str  # upper case, no accents; two surnames joined by a space
    suffix: str  # "", "JR", "SR"
    sex: str
    dob: date
    hispanic: bool
    household: int
    family: int  # relatives share a family id
    filer: bool = True
    tin: str = ""  # nine digits; "" when the person has none
    tin_type: str = ""
    prior_itin: str = ""
    written_first: str = ""  # as the taxpayer file writes the name
    written_middle: str = ""
    written_last: str = ""
    history: dict[int, int] = field(default_factory=dict)  # tax year -> home id
    filed_years: list[int] = field(default_factory=list)
    stale_w2: bool = False  # a W-2 of the newest year carries the previous home
    homes_on_file: set[int] = field(default_factory=set)  # homes of returns under own name (any year)
    lka_row: dict[str, str] = field(default_factory=dict)  # the newest 1040 as written
    lka_style: Style | None = None
    lends_ssn_to: list[int] = field(default_factory=list)
    works_under: int = -1  # pid whose SSN this non-filer works under


@dataclass
class World:
    """Everyone, their homes, and the taxpayer file built from them."""

    seed: int
    people: list[Person]
    homes: list[Home]
    residents: dict[int, list[int]]  # home id -> pids living there now (filers or not)
    filers_at: dict[int, list[int]]  # home id -> filer pids with an own return there (any year)
    last_known: dict[int, int]  # filer pid -> home id of the newest 1040
    by_line: dict[tuple[str, ...], list[int]]  # street line -> home ids (the units of a building)
    by_key: dict[tuple[str, ...], int]  # Home.key -> home id
    lending: list[tuple[int, int]]  # (worker pid, SSN holder pid)
    tin_owner: dict[str, int]  # TIN (or prior ITIN) on file -> pid
    taxpayers: dict[str, list[object]]  # column -> values
    addresses: dict[str, list[object]]
    zips: list[Zip]
    streets: dict[str, list[tuple[str, str, str, str]]]  # zip -> (predir, name, suffix, postdir)
    used_numbers: dict[tuple[str, int], set[int]]
    all_tins: set[str]  # every TIN issued in the world, filed under or not

    def home(self, hid: int) -> Home:
        return self.homes[hid]

    def own_homes(self, pid: int) -> set[int]:
        """Homes on file for `pid` under their own name (1040s and their own W-2s, any year)."""
        return self.people[pid].homes_on_file


class _Draws:
    """Name draws in bulk (NumPy), consumed one at a time."""

    def __init__(self, table: NameTable, rng: np.random.Generator, size: int) -> None:
        self._names = table.names
        self._general = rng.choice(len(table.names), size=size, p=table.weights)
        self._hispanic = rng.choice(len(table.names), size=size, p=table.hispanic_weights)
        self._i = 0
        self._j = 0

    def next(self, hispanic: bool) -> str:
        if hispanic:
            self._j = (self._j + 1) % len(self._hispanic)
            return self._names[self._hispanic[self._j]]
        self._i = (self._i + 1) % len(self._general)
        return self._names[self._general[self._i]]


class PopulationBuilder:
    def __init__(self, people: int, seed: int, frequencies: NameFrequencies | None = None) -> None:
        self.target = people
        self.seed = seed
        self.rng = random.Random(seed)
        np_rng = np.random.default_rng(seed)
        freq = frequencies or load_frequencies()
        size = max(1000, people * 2)
        self.surnames = _Draws(freq.surnames, np_rng, size)
        self.female = _Draws(freq.female, np_rng, size)
        self.male = _Draws(freq.male, np_rng, size)
        pool = standard_zips()
        self.zips = self.rng.sample(pool, min(len(pool), max(8, people // 700)))
        self.street_pool = street_names()
        self.streets: dict[str, list[tuple[str, str, str, str]]] = {}
        self.used_numbers: dict[tuple[str, int], set[int]] = defaultdict(set)
        self.homes: list[Home] = []
        self.open_buildings: list[list[int]] = []  # free home ids per building
        self.people: list[Person] = []
        self.households = 0
        self.families = 0
        self.issued: set[str] = set()
        self.plus4: dict[tuple[str, ...], str] = {}

    # --- homes ------------------------------------------------------------------------------------

    def _streets_of(self, zip5: str) -> list[tuple[str, str, str, str]]:
        if zip5 not in self.streets:
            count = self.rng.randint(12, 40)
            suffixes = list(SUFFIX_SHARE)
            weights = list(SUFFIX_SHARE.values())
            streets = []
            for name in self.rng.sample(self.street_pool, count):
                predir = self.rng.choice(("N", "S", "E", "W")) if self.rng.random() < 0.2 else ""
                postdir = self.rng.choice(("NE", "NW", "SE", "SW")) if self.rng.random() < 0.03 else ""
                streets.append((predir, name, self.rng.choices(suffixes, weights)[0], postdir))
            self.streets[zip5] = streets
        return self.streets[zip5]

    def _street_number(self, zip5: str) -> tuple[int, int]:
        streets = self._streets_of(zip5)
        for _ in range(100):
            s = self.rng.randrange(len(streets))
            number = self.rng.randint(1, 9899)
            if number not in self.used_numbers[(zip5, s)]:
                self.used_numbers[(zip5, s)].add(number)
                return s, number
        raise RuntimeError("street numbers exhausted")  # pragma: no cover

    def _home(self, zone: Zip, street: int, number: int, unit: str) -> int:
        predir, name, suffix, postdir = self._streets_of(zone.zip5)[street]
        line = (str(number), predir, name, suffix, postdir, zone.zip5)
        plus4 = self.plus4.setdefault(line, f"{self.rng.randint(1, 9999):04d}")
        home = Home(len(self.homes), str(number), predir, name, suffix, postdir, unit, zone.zip5, plus4,
                    zone.city, zone.state)  # fmt: skip
        self.homes.append(home)
        return home.hid

    def new_house(self, zone: Zip | None = None) -> int:
        zone = zone or self.rng.choice(self.zips)
        street, number = self._street_number(zone.zip5)
        return self._home(zone, street, number, "")

    def _new_building(self) -> list[int]:
        zone = self.rng.choice(self.zips)
        street, number = self._street_number(zone.zip5)
        floors = self.rng.randint(2, 8)
        per_floor = self.rng.randint(2, 6)
        scheme = self.rng.choice(("floor_letter", "floor_number", "number", "letter"))
        units = []
        for floor in range(1, floors + 1):
            for k in range(per_floor):
                if scheme == "floor_letter":
                    units.append(f"{floor}{'ABCDEF'[k]}")
                elif scheme == "floor_number":
                    units.append(f"{floor}{k + 1:02d}")
                else:
                    units.append(str(len(units) + 1) if scheme == "number" else "ABCDEFGHJKLMNPQRSTUVWXYZ"[len(units) % 24] + ("" if len(units) < 24 else str(len(units) // 24)))
        free = [self._home(zone, street, number, u) for u in units]
        self.rng.shuffle(free)
        self.open_buildings.append(free)
        return free

    def new_flat(self) -> int:
        if self.open_buildings and self.rng.random() < 0.8:
            i = self.rng.randrange(len(self.open_buildings))
            building = self.open_buildings[i]
            hid = building.pop()
            if not building:  # full: swap it out of the open list
                self.open_buildings[i] = self.open_buildings[-1]
                self.open_buildings.pop()
            return hid
        self._new_building()
        return self.new_flat() if self.open_buildings[-1] else self._new_building().pop()

    def new_home(self, flat_share: float = 0.4) -> int:
        return self.new_flat() if self.rng.random() < flat_share else self.new_house()

    # --- people -----------------------------------------------------------------------------------

    def _age(self, low: int = 18, high: int = 88) -> int:
        while True:
            age = int(self.rng.gauss(42, 16))
            if low <= age <= high:
                return age

    def _dob(self, age: int) -> date:
        return AS_OF - timedelta(days=age * 365 + self.rng.randrange(365))

    def _first(self, sex: str, hispanic: bool) -> str:
        return (self.female if sex == "F" else self.male).next(hispanic)

    def person(self, *, sex: str, last: str, hispanic: bool, household: int, family: int, age: int,
               first: str | None = None, suffix: str = "") -> Person:  # fmt: skip
        first = first or self._first(sex, hispanic)
        middle = self._first(sex, hispanic) if self.rng.random() < 0.45 else ""
        while middle == first:
            middle = self._first(sex, hispanic)
        p = Person(len(self.people), first, middle, last, suffix, sex, self._dob(age), hispanic, household, family)
        self.people.append(p)
        return p

    def _new_family(self) -> int:
        self.families += 1
        return self.families

    def _surname(self, hispanic: bool) -> str:
        return self.surnames.next(hispanic)

    def household(self) -> tuple[str, list[Person], list[Person]]:
        """One household of any kind: its kind, its members and, for a family, the
        adult children (homes come later)."""
        self.households += 1
        h = self.households
        hispanic = self.rng.random() < 0.35
        kind = self.rng.choices(list(HOUSEHOLD_KINDS), weights=list(HOUSEHOLD_KINDS.values()))[0]
        sexes = ("F", "M")
        members: list[Person] = []
        children: list[Person] = []

        def add(sex: str, last: str, family: int, age: int, **kw: str) -> Person:
            p = self.person(sex=sex, last=last, hispanic=hispanic, household=h, family=family, age=age, **kw)
            members.append(p)
            return p

        if kind == "single":
            add(self.rng.choice(sexes), self._surname(hispanic), self._new_family(), self._age())
        elif kind in ("couple_same_surname", "couple_two_surnames", "family"):
            fam = self._new_family()
            two = kind == "couple_two_surnames" or (kind == "family" and hispanic and self.rng.random() < 0.7)
            his = self._surname(hispanic)
            hers = self._surname(hispanic) if two else his
            age = self._age(22, 80)
            lone_parent = kind == "family" and self.rng.random() < 0.15
            if not (lone_parent and self.rng.random() < 0.7):
                add("M", his, fam, age)
            if not lone_parent or not members:
                add("F", hers, fam, max(19, age + self.rng.randint(-6, 4)))
            if kind == "family":
                eldest = age - 19
                for _ in range(self.rng.choice((1, 1, 2, 2, 3))):
                    if eldest < 18:
                        break
                    if hispanic and two and not lone_parent and self.rng.random() < 0.75:
                        last = f"{his.split()[0]} {hers.split()[0]}"
                    else:
                        last = members[0].last
                    children.append(add(self.rng.choice(sexes), last, fam, self.rng.randint(18, eldest)))
        elif kind == "namesakes":
            fam = self._new_family()
            last = self._surname(hispanic)
            age = self._age(40, 85)
            senior = add("M", last, fam, age, suffix="SR")
            junior = add("M", last, fam, max(18, age - self.rng.randint(19, 35)), first=senior.first, suffix="JR")
            if self.rng.random() < 0.6:
                junior.middle = senior.middle
            if self.rng.random() < 0.6:
                add("F", last, fam, max(19, age + self.rng.randint(-6, 3)))
        elif kind == "shared_house":
            for _ in range(self.rng.randint(3, 6)):
                his = self.rng.random() < 0.5
                p = self.person(sex=self.rng.choice(sexes), last=self._surname(his), hispanic=his, household=h,
                                family=self._new_family(), age=self._age(18, 60))  # fmt: skip
                members.append(p)
        else:  # siblings and cousins: one surname, their own first names
            fam = self._new_family()
            last = self._surname(hispanic)
            base = self._age(20, 70)
            for _ in range(self.rng.randint(2, 4)):
                add(self.rng.choice(sexes), last, fam, max(18, base + self.rng.randint(-8, 8)))
        return kind, members, children

    # --- filing -----------------------------------------------------------------------------------

    def _ssn(self) -> str:
        while True:
            area = self.rng.randint(1, 899)
            if area == 666:
                continue
            tin = f"{area:03d}{self.rng.randint(1, 99):02d}{self.rng.randint(1, 9999):04d}"
            if tin not in self.issued:
                self.issued.add(tin)
                return tin

    def _itin(self) -> str:
        while True:
            tin = f"9{self.rng.randint(0, 99):02d}{self.rng.choice(ITIN_GROUPS):02d}{self.rng.randint(0, 9999):04d}"
            if tin not in self.issued:
                self.issued.add(tin)
                return tin

    def _identify(self, p: Person, kind_share_nonfiler: float) -> None:
        p.filer = self.rng.random() >= kind_share_nonfiler
        if p.filer:
            if p.hispanic and self.rng.random() < 0.15:
                p.tin, p.tin_type = self._itin(), "ITIN"
            else:
                p.tin, p.tin_type = self._ssn(), "SSN"
                if p.hispanic and self.rng.random() < 0.1:
                    p.prior_itin = self._itin()
        elif self.rng.random() < 0.3:
            p.tin, p.tin_type = self._ssn(), "SSN"  # an SSN never filed under

    def _written_names(self, p: Person) -> None:
        upper = self.rng.random() < 0.35

        def write(name: str) -> str:
            words = []
            for w in name.split():
                if p.hispanic and w in ACCENTED and self.rng.random() < 0.5:
                    w = ACCENTED[w]
                words.append(w)
            joiner = "-" if len(words) > 1 and self.rng.random() < 0.3 else " "
            text = joiner.join(words)
            return text if upper else title(text.replace("-", " - ")).replace(" - ", "-")

        p.written_first = write(p.first)
        p.written_last = write(p.last)
        if p.middle:
            p.written_middle = p.middle[0] if self.rng.random() < 0.4 else write(p.middle)

    def _filing_years(self, p: Person) -> list[int]:
        turned_18 = p.dob.year + 18
        start = max(TAX_YEARS[0], turned_18)
        if self.rng.random() < 0.1:
            start = self.rng.randint(start, LAST_TAX_YEAR) if start <= LAST_TAX_YEAR else start
        end = self.rng.choices((LAST_TAX_YEAR, LAST_TAX_YEAR - 1, LAST_TAX_YEAR - 2), weights=(88, 8, 4))[0]
        years = [y for y in range(start, end + 1) if self.rng.random() > 0.05]
        if not years and start <= end:
            years = [end]
        return years

    def build(self) -> World:
        movers_out: list[tuple[Person, int]] = []
        while len(self.people) < self.target:
            kind, members, children = self.household()
            shared = kind == "shared_house"
            current = self.new_home(0.5 if shared else 0.35)
            moved_in = self.rng.choice(TAX_YEARS[1:]) if self.rng.random() < 0.3 else None
            prior = self.new_home(0.35) if moved_in else None
            for p in members:
                p.history = {y: prior if prior is not None and y < (moved_in or 0) else current for y in TAX_YEARS}
                self._identify(p, 0.2 if shared else 0.1)
                self._written_names(p)
            young = [c for c in children if AS_OF.year - c.dob.year < 32]
            if young and self.rng.random() < 0.3:
                movers_out.append((self.rng.choice(young), current))
        for child, family_home in movers_out:
            self.households += 1
            child.household = self.households
            own = self.new_home(0.6)
            left = self.rng.choice(TAX_YEARS[1:])
            child.history = {y: (family_home if y < left else own) for y in TAX_YEARS}
        return self._file()

    def _file(self) -> World:
        rng = self.rng
        taxpayers: dict[str, list[object]] = defaultdict(list)
        addresses: dict[str, list[object]] = defaultdict(list)
        residents: dict[int, list[int]] = defaultdict(list)
        filers_at: dict[int, set[int]] = defaultdict(set)
        last_known: dict[int, int] = {}
        tin_owner: dict[str, int] = {}
        lending: list[tuple[int, int]] = []

        def add_row(tin: str, home_id: int, year: int, source: str, style: Style, name_on_return: str | None) -> dict[str, str]:
            row = render(self.homes[home_id], style)
            addresses["tin"].append(tin)
            for column in ("street", "unit", "city", "state", "zip"):
                addresses[column].append(row[column])
            addresses["tax_year"].append(year)
            addresses["source"].append(source)
            addresses["name_on_return"].append(name_on_return)
            return row

        for p in self.people:
            residents[p.history[LAST_TAX_YEAR]].append(p.pid)
        for p in self.people:
            if not p.filer:
                continue
            p.filed_years = self._filing_years(p)
            if not p.filed_years:
                p.filer = False
                continue
            tin_owner[p.tin] = p.pid
            if p.prior_itin:
                tin_owner[p.prior_itin] = p.pid
            taxpayers["tin"].append(p.tin)
            taxpayers["tin_type"].append(p.tin_type)
            taxpayers["first_name"].append(p.written_first)
            taxpayers["middle_name"].append(p.written_middle)
            taxpayers["last_name"].append(p.written_last)
            taxpayers["suffix"].append({"JR": "Jr.", "SR": "Sr."}.get(p.suffix, ""))
            taxpayers["date_of_birth"].append(p.dob.isoformat())
            taxpayers["prior_itin"].append(p.prior_itin)
            own_style = random_style(rng)
            employed = rng.random() < 0.6
            for year in p.filed_years:
                home = p.history[year]
                style = own_style if rng.random() < 0.65 else random_style(rng)
                # returns filed under a former ITIN are kept under the current SSN, as the
                # agency merges the two accounts
                tin = p.tin
                row = add_row(tin, home, year, "1040", style, None)
                p.lka_row, p.lka_style = row, style
                filers_at[home].add(p.pid)
                p.homes_on_file.add(home)
                if employed and rng.random() < 0.8:
                    previous = p.history.get(year - 1, home)
                    stale = previous != home and rng.random() < 0.4
                    if stale and year == p.filed_years[-1]:
                        p.stale_w2 = True
                    add_row(tin, previous if stale else home, year, "W-2", random_style(rng, formal=True), None)
                    if stale:
                        filers_at[previous].add(p.pid)
                        p.homes_on_file.add(previous)
            last_known[p.pid] = p.history[p.filed_years[-1]]
        # workers who do not file, under another person's SSN
        filers = [p for p in self.people if p.filer and p.tin_type == "SSN"]
        for p in self.people:
            if p.filer or (AS_OF.year - p.dob.year) > 65 or rng.random() >= 0.3 or not filers:
                continue
            mates = [self.people[q] for q in residents[p.history[LAST_TAX_YEAR]]
                     if self.people[q].filer and self.people[q].tin_type == "SSN"]  # fmt: skip
            holder = rng.choice(mates) if mates and rng.random() < 0.6 else rng.choice(filers)
            p.works_under = holder.pid
            holder.lends_ssn_to.append(p.pid)
            lending.append((p.pid, holder.pid))
            worker_name = f"{p.written_first} {p.written_last}"
            first_year = rng.randint(LAST_TAX_YEAR - 3, LAST_TAX_YEAR)
            for year in range(first_year, LAST_TAX_YEAR + 1):
                add_row(holder.tin, p.history[year], year, "W-2", random_style(rng, formal=True), worker_name)
        by_line: dict[tuple[str, ...], list[int]] = defaultdict(list)
        by_key: dict[tuple[str, ...], int] = {}
        for home in self.homes:
            by_line[home.line].append(home.hid)
            by_key[home.key] = home.hid
        return World(
            seed=self.seed,
            people=self.people,
            homes=self.homes,
            residents=dict(residents),
            filers_at={h: sorted(ps) for h, ps in filers_at.items()},
            last_known=last_known,
            by_line=dict(by_line),
            by_key=by_key,
            lending=lending,
            tin_owner=tin_owner,
            taxpayers=dict(taxpayers),
            addresses=dict(addresses),
            zips=self.zips,
            streets=self.streets,
            used_numbers=self.used_numbers,
            all_tins=self.issued,
        )


def build_population(people: int, seed: int) -> World:
    """A world of about `people` adults (filers and not) and its taxpayer file."""
    return PopulationBuilder(people, seed).build()
