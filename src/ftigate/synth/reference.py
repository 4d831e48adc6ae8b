"""Reference tables the generator draws from: names, nicknames, ZIP codes, streets.

Everything here is public-domain reference data (Census name frequencies, the
`zipcodes` package's USPS ZIP list, approximate 2020 Census state figures) or
vocabulary written for this project. No personal data.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import polars as pl
import zipcodes

_DATA_PACKAGE = "ftigate.synth.data"

# 2020 Census resident population by state, in thousands (approximate). Used only to
# spread synthetic people over ZIP codes in plausible proportions.
STATE_POPULATION_THOUSANDS: dict[str, int] = {
    "AL": 5024, "AK": 733, "AZ": 7152, "AR": 3012, "CA": 39538, "CO": 5774, "CT": 3606,
    "DE": 990, "DC": 690, "FL": 21538, "GA": 10712, "HI": 1455, "ID": 1839, "IL": 12813,
    "IN": 6786, "IA": 3190, "KS": 2938, "KY": 4506, "LA": 4658, "ME": 1362, "MD": 6177,
    "MA": 7030, "MI": 10077, "MN": 5706, "MS": 2961, "MO": 6155, "MT": 1084, "NE": 1962,
    "NV": 3105, "NH": 1378, "NJ": 9289, "NM": 2118, "NY": 20201, "NC": 10439, "ND": 779,
    "OH": 11799, "OK": 3959, "OR": 4237, "PA": 13003, "RI": 1097, "SC": 5118, "SD": 887,
    "TN": 6911, "TX": 29146, "UT": 3272, "VT": 643, "VA": 8631, "WA": 7705, "WV": 1794,
    "WI": 5894, "WY": 577, "PR": 3286,
}  # fmt: skip

# Approximate Hispanic share of each state's population (2020 Census); states not
# listed use DEFAULT_HISPANIC_SHARE. Drives where Hispanic-origin and ITIN households live.
STATE_HISPANIC_SHARE: dict[str, float] = {
    "AZ": 0.31, "CA": 0.39, "CO": 0.22, "CT": 0.17, "FL": 0.26, "IL": 0.18, "NV": 0.29,
    "NJ": 0.21, "NM": 0.47, "NY": 0.19, "TX": 0.39, "DC": 0.11, "UT": 0.15, "WA": 0.13,
    "OR": 0.14, "ID": 0.13, "KS": 0.13, "RI": 0.17, "MA": 0.13, "NE": 0.12, "OK": 0.11,
    "GA": 0.10, "NC": 0.10, "MD": 0.12, "VA": 0.10, "DE": 0.10, "PR": 0.98,
}  # fmt: skip
DEFAULT_HISPANIC_SHARE = 0.06

STATE_NAMES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota",
    "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
    "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "PR": "Puerto Rico",
}  # fmt: skip

ENGLISH_STREET_NAMES: tuple[str, ...] = (
    "Main", "Oak", "Maple", "Pine", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park",
    "Walnut", "Lincoln", "Jefferson", "Madison", "Franklin", "Jackson", "Church", "Spring",
    "Ridge", "Highland", "Sunset", "Forest", "Meadow", "River", "Willow", "Chestnut",
    "Center", "Mill", "North", "Valley", "Adams", "Hickory", "Birch", "Poplar", "Magnolia",
    "Dogwood", "Cherry", "Locust", "Laurel", "Sycamore", "Grant", "Monroe", "Kennedy",
    "Martin Luther King Jr", "Broadway", "Market", "Union", "College", "School", "Railroad",
    "Prospect", "Pleasant", "Green", "Liberty", "Bay", "Harbor", "Jones", "Wilson",
    "Johnson", "Cypress", "Aspen", "Fairview", "Woodland", "Orchard", "Country Club",
    "1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th", "11th", "12th",
    "14th", "16th", "21st", "23rd", "32nd", "45th", "51st", "103rd",
)  # fmt: skip
STREET_SUFFIXES: tuple[str, ...] = (
    "St", "Ave", "Rd", "Dr", "Ln", "Blvd", "Ct", "Way", "Pl", "Cir", "Ter", "Pkwy", "Trl",
)
STREET_DIRECTIONS: tuple[str, ...] = ("N", "S", "E", "W", "NE", "NW", "SE", "SW")
# Spanish street names appear as complete names (no separate suffix), some with accents.
SPANISH_STREET_NAMES: tuple[str, ...] = (
    "Calle del Sol", "Camino Real", "Calle Luna", "Avenida de las Américas", "Calle San José",
    "Camino del Río", "Paseo de la Montaña", "Calle Ocho", "Avenida Juárez", "Calle Ñandú",
    "Vía Lucía", "Calle de la Paz", "Camino de los Robles", "Calle Cielito Lindo",
    "Avenida César Chávez", "Calle Mañana", "Camino Viejo", "Calle Santa Fé",
    "Peñasco Rd", "Loma Linda Dr", "El Camino Real", "Via Del Mar", "Calle Morelos",
    "Avenida Reforma", "Calle Guadalupe", "Rancho Bernardo Rd", "Alameda St", "Mesa Verde Dr",
    "Calle Primavera", "Camino de la Cañada",
)  # fmt: skip

# Detention facilities named without a street address: the court record's examples and
# other well-known facilities, with a city/state and (where we are confident) a ZIP.
FACILITIES: tuple[tuple[str, str, str, str], ...] = (
    ("Otay Mesa Detention Center", "San Diego", "CA", "92154"),
    ("Harris County Jail", "Houston", "TX", "77002"),
    ("Adelanto ICE Processing Center", "Adelanto", "CA", "92301"),
    ("Stewart Detention Center", "Lumpkin", "GA", "31815"),
    ("South Texas ICE Processing Center", "Pearsall", "TX", "78061"),
    ("Krome Service Processing Center", "Miami", "FL", "33194"),
    ("Northwest ICE Processing Center", "Tacoma", "WA", "98421"),
    ("Cook County Jail", "Chicago", "IL", "60608"),
    ("Men's Central Jail", "Los Angeles", "CA", "90012"),
    ("Rikers Island", "East Elmhurst", "NY", "11370"),
    ("Eloy Detention Center", "Eloy", "AZ", "85131"),
    ("La Palma Correctional Center", "Eloy", "AZ", "85131"),
    ("Port Isabel Service Processing Center", "Los Fresnos", "TX", "78566"),
    ("Moshannon Valley Processing Center", "Philipsburg", "PA", "16866"),
    ("Delaney Hall Detention Facility", "Newark", "NJ", "07105"),
    ("Broward Transitional Center", "Pompano Beach", "FL", "33073"),
    ("Essex County Correctional Facility", "Newark", "NJ", "07105"),
    ("Maricopa County Jail", "Phoenix", "AZ", "85003"),
)

PLACEHOLDER_STREETS: tuple[str, ...] = (
    "Failed to Provide", "Unknown Address", "NA NA", "Don't Care 12345", "00000", "N/A",
    "TBD", "None", "Homeless", "Unknown",
)  # fmt: skip

# Accented spellings of common Hispanic names. The Census files are upper-case ASCII;
# real records carry accents some of the time, so the generator adds or strips them.
ACCENTED_SURNAMES: dict[str, str] = {
    "GARCIA": "GARCÍA", "MARTINEZ": "MARTÍNEZ", "RODRIGUEZ": "RODRÍGUEZ",
    "HERNANDEZ": "HERNÁNDEZ", "LOPEZ": "LÓPEZ", "GONZALEZ": "GONZÁLEZ", "PEREZ": "PÉREZ",
    "SANCHEZ": "SÁNCHEZ", "RAMIREZ": "RAMÍREZ", "GOMEZ": "GÓMEZ", "DIAZ": "DÍAZ",
    "JIMENEZ": "JIMÉNEZ", "ALVAREZ": "ÁLVAREZ", "GUTIERREZ": "GUTIÉRREZ",
    "DOMINGUEZ": "DOMÍNGUEZ", "VAZQUEZ": "VÁZQUEZ", "VASQUEZ": "VÁSQUEZ",
    "FERNANDEZ": "FERNÁNDEZ", "MARQUEZ": "MÁRQUEZ", "SUAREZ": "SUÁREZ", "MUNOZ": "MUÑOZ",
    "NUNEZ": "NÚÑEZ", "IBANEZ": "IBÁÑEZ", "PENA": "PEÑA", "CHAVEZ": "CHÁVEZ",
    "RIOS": "RÍOS", "MENDEZ": "MÉNDEZ", "VELAZQUEZ": "VELÁZQUEZ", "RAMON": "RAMÓN",
    "LEON": "LEÓN", "DE LEON": "DE LEÓN", "ORTIZ": "ORTÍZ", "BENITEZ": "BENÍTEZ",
    "SERRANO": "SERRANO", "CORDOVA": "CÓRDOVA", "VELEZ": "VÉLEZ", "ACEVEDO": "ACEVEDO",
    "ZUNIGA": "ZÚÑIGA", "ORDONEZ": "ORDÓÑEZ", "QUINONES": "QUIÑONES", "MONTANEZ": "MONTAÑEZ",
    "NAVARRO": "NAVARRO", "TELLEZ": "TÉLLEZ", "GALVEZ": "GÁLVEZ", "ALARCON": "ALARCÓN",
    "CALDERON": "CALDERÓN", "CASTANEDA": "CASTAÑEDA", "MALDONADO": "MALDONADO",
    "BELTRAN": "BELTRÁN", "MARIN": "MARÍN", "RUIZ": "RUÍZ", "ROMAN": "ROMÁN",
}  # fmt: skip
ACCENTED_FIRST_NAMES: dict[str, str] = {
    "JOSE": "JOSÉ", "MARIA": "MARÍA", "JESUS": "JESÚS", "RAMON": "RAMÓN", "RAUL": "RAÚL",
    "ANGEL": "ÁNGEL", "HECTOR": "HÉCTOR", "OSCAR": "ÓSCAR", "RUBEN": "RUBÉN",
    "MARTIN": "MARTÍN", "JOAQUIN": "JOAQUÍN", "ANDRES": "ANDRÉS", "TOMAS": "TOMÁS",
    "ADRIAN": "ADRIÁN", "SEBASTIAN": "SEBASTIÁN", "JULIAN": "JULIÁN", "IVAN": "IVÁN",
    "VICTOR": "VÍCTOR", "CESAR": "CÉSAR", "FELIX": "FÉLIX", "NICOLAS": "NICOLÁS",
    "LUCIA": "LUCÍA", "SOFIA": "SOFÍA", "ROCIO": "ROCÍO", "BELEN": "BELÉN", "INES": "INÉS",
    "MONICA": "MÓNICA", "VERONICA": "VERÓNICA", "ANGELICA": "ANGÉLICA", "RAQUEL": "RAQUEL",
    "CONCEPCION": "CONCEPCIÓN", "ASUNCION": "ASUNCIÓN", "GUSTAVO": "GUSTAVO",
    "AGUSTIN": "AGUSTÍN", "ELIAS": "ELÍAS", "MATIAS": "MATÍAS", "GERMAN": "GERMÁN",
    "ESTEBAN": "ESTEBAN", "NOEMI": "NOEMÍ", "DAMIAN": "DAMIÁN",
}  # fmt: skip
# The 1990 Census list fuses particle surnames ("DELACRUZ"); records write them apart.
PARTICLE_SURNAMES: dict[str, str] = {
    "DELACRUZ": "DE LA CRUZ", "DELAROSA": "DE LA ROSA", "DELATORRE": "DE LA TORRE",
    "DELOSSANTOS": "DE LOS SANTOS", "DELEON": "DE LEON", "DELAGARZA": "DE LA GARZA",
    "DELAFUENTE": "DE LA FUENTE", "DELAVEGA": "DE LA VEGA", "DELAPAZ": "DE LA PAZ",
    "DELOSREYES": "DE LOS REYES", "DEJESUS": "DE JESUS", "DELAO": "DE LA O",
    "DELOSRIOS": "DE LOS RIOS", "DELACERDA": "DE LA CERDA",
}  # fmt: skip


@dataclass(frozen=True)
class NameTable:
    """Names with sampling weights.

    `weight_all` follows the Census frequency (per_100k); `weight_hispanic` is
    per_100k * p_hispanic and `weight_other` per_100k * (1 - p_hispanic), so a mixture
    of the two in proportion `hispanic_share` reproduces the Census marginal.
    """

    names: pl.Series
    accented: pl.Series  # accented spelling, or the plain name when there is none
    p_hispanic: np.ndarray  # NaN where the Census gives no figure
    weight_all: np.ndarray
    weight_hispanic: np.ndarray
    weight_other: np.ndarray

    @property
    def hispanic_share(self) -> float:
        return float(self.weight_hispanic.sum() / self.weight_all.sum())


def _read_gz_csv(filename: str) -> pl.DataFrame:
    raw = resources.files(_DATA_PACKAGE).joinpath(filename).read_bytes()
    return pl.read_csv(io.BytesIO(gzip.decompress(raw)), infer_schema_length=0)


def _name_table(frame: pl.DataFrame, accents: dict[str, str]) -> NameTable:
    frame = frame.filter(
        pl.col("name").is_not_null() & (pl.col("per_100k").cast(pl.Float64) > 0)
    ).with_columns(
        pl.col("per_100k").cast(pl.Float64),
        pl.col("p_hispanic").cast(pl.Float64),
    )
    names = frame["name"]
    accented = names.replace(accents)
    weight = frame["per_100k"].to_numpy()
    p_hisp = frame["p_hispanic"].to_numpy().astype(np.float64)
    p_filled = np.nan_to_num(p_hisp, nan=0.0)
    return NameTable(
        names=names,
        accented=accented,
        p_hispanic=p_hisp,
        weight_all=weight,
        weight_hispanic=weight * p_filled,
        weight_other=weight * (1.0 - p_filled),
    )


@lru_cache(maxsize=1)
def surname_table() -> NameTable:
    frame = _read_gz_csv("surnames.csv.gz").with_columns(
        pl.col("name").replace(PARTICLE_SURNAMES)
    )
    return _name_table(frame, ACCENTED_SURNAMES)


@lru_cache(maxsize=2)
def first_name_table(sex: str) -> NameTable:
    frame = _read_gz_csv("first_names.csv.gz").filter(pl.col("sex") == sex)
    return _name_table(frame, ACCENTED_FIRST_NAMES)


@lru_cache(maxsize=1)
def surname_hispanic_lookup() -> pl.DataFrame:
    """name -> p_hispanic for every listed surname (null where unknown), for banding."""
    frame = _read_gz_csv("surnames.csv.gz").filter(pl.col("name").is_not_null())
    return frame.select(
        pl.col("name").replace(PARTICLE_SURNAMES).alias("surname_key"),
        pl.col("p_hispanic").cast(pl.Float64).alias("p_hispanic"),
    ).unique(subset="surname_key", keep="first", maintain_order=True)


@dataclass(frozen=True)
class ZipTable:
    """Active STANDARD ZIP codes with a plausible residential weight."""

    zip: np.ndarray  # str
    city: np.ndarray  # str
    state: np.ndarray  # str
    weight: np.ndarray  # relative share of households (before per-run noise)
    hispanic_share: np.ndarray  # of the ZIP's state
    all_zips: frozenset[str]  # every ZIP of any type, to invent ones that do not exist
    zip_state: dict[str, str]  # every ZIP -> its state


@lru_cache(maxsize=1)
def zip_table() -> ZipTable:
    records = zipcodes.list_all()
    standard = [
        r
        for r in records
        if r["zip_code_type"] == "STANDARD" and r["active"] and r["state"] in STATE_NAMES
    ]
    standard.sort(key=lambda r: r["zip_code"])
    states = np.array([r["state"] for r in standard])
    # Each state's population is shared among its standard ZIPs; per-run noise is added
    # by the population generator so that ZIP sizes vary as they do in life.
    unique_states, counts = np.unique(states, return_counts=True)
    per_state_count = dict(zip(unique_states.tolist(), counts.tolist(), strict=True))
    weight = np.array(
        [STATE_POPULATION_THOUSANDS[s] / per_state_count[s] for s in states.tolist()],
        dtype=np.float64,
    )
    return ZipTable(
        zip=np.array([r["zip_code"] for r in standard]),
        city=np.array([r["city"] for r in standard]),
        state=states,
        weight=weight,
        hispanic_share=np.array(
            [STATE_HISPANIC_SHARE.get(s, DEFAULT_HISPANIC_SHARE) for s in states.tolist()]
        ),
        all_zips=frozenset(r["zip_code"] for r in records),
        zip_state={r["zip_code"]: r["state"] for r in records},
    )


@lru_cache(maxsize=1)
def valid_facilities() -> tuple[tuple[str, str, str, str], ...]:
    """Facilities with the ZIP blanked where it is not a real ZIP of that state.

    A facility record must carry exactly one deficiency, so its optional ZIP must
    never be invalid as well.
    """
    table = zip_table()
    return tuple(
        (name, city, state, zip_code if table.zip_state.get(zip_code) == state else "")
        for name, city, state, zip_code in FACILITIES
    )


def nonexistent_zips(count: int = 64) -> tuple[str, ...]:
    """Five-digit codes that are not ZIP codes of any kind (e.g. 00099, 99999)."""
    table = zip_table()
    candidates = ["00099", "99999", "00011", "00123", "99990", "88888", "00500", "99899"]
    candidates += [f"{n:05d}" for n in range(0, 100000, 997)]
    found = [c for c in candidates if c not in table.all_zips]
    return tuple(found[:count])
