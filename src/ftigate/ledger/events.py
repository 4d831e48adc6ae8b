"""Ledger entries: one dataclass per kind of event, serialised as RFC 8785 JSON.

An entry never holds a clear TIN, name or address. Taxpayers appear only as a
keyed pseudonym, HMAC-SHA256(pseudonym key, normalised TIN), whose key lives
outside the database (see :mod:`ftigate.ledger.keys`): whoever holds the key
can find every entry about a taxpayer (6103(p)(3) accounting), whoever only
holds the database cannot reverse it. As a backstop, every string value is
checked for something shaped like a TIN before it is serialised.

Every entry carries ``v`` (format version), ``kind``, ``event_id`` (a random
128-bit id, the handle ``ftigate ledger prove`` takes) and ``at`` (UTC time).
"""

from __future__ import annotations

import dataclasses
import hmac
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from json.encoder import encode_basestring
from typing import Any, ClassVar

from ftigate.ledger.canonical import canonical_json, encode_in_jcs_subset

ENTRY_VERSION = 1
PSEUDONYM_FINGERPRINT_LABEL = b"ftigate pseudonym key fingerprint v1"
_TIN_SHAPE = re.compile(r"(?<![0-9A-Za-z])[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}(?![0-9A-Za-z])")
_PSEUDONYM_SHAPE = re.compile(r"[0-9a-f]{64}")
_DIGEST_SHAPE = re.compile(r"[0-9a-f]{64}")


class EntryError(ValueError):
    """An event cannot be recorded as given (never echoes the offending value)."""


def new_event_id() -> str:
    """32 hex digits: microseconds since the epoch, then 72 random bits.

    Time-ordered ids land at the end of the unique index instead of at random
    places in it, which keeps bulk appends fast; the random part keeps them
    unguessable and unique across processes."""
    return f"{time.time_ns() // 1000:014x}{secrets.token_hex(9)}"


def new_event_ids(count: int) -> list[str]:
    """``count`` ids as :func:`new_event_id` makes them (each its own microsecond stamp
    and 72 random bits), the random bits drawn from the OS in one call instead of one a
    id: a chunk of a batch makes one id per inspection."""
    random = secrets.token_hex(9 * count)
    clock = time.time_ns
    return [f"{clock() // 1000:014x}{random[18 * i : 18 * i + 18]}" for i in range(count)]


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_TIN_SEPARATORS = re.compile(r"[\s-]")
_NINE_DIGITS = re.compile(r"[0-9]{9}")  # ASCII digits: a pseudonym hashes their ASCII bytes


def normalise_tin(tin: str) -> str:
    """Nine digits, separators removed. Raises without repeating the input."""
    if _NINE_DIGITS.fullmatch(tin):  # the usual case, and the cheap one (millions a batch)
        return tin
    digits = _TIN_SEPARATORS.sub("", tin)
    if not _NINE_DIGITS.fullmatch(digits):
        raise EntryError("a TIN must be 9 digits (dashes and spaces allowed)")
    return digits


@dataclass(frozen=True)
class Pseudonymizer:
    """HMAC-SHA256 of the normalised TIN under a secret key held outside the store."""

    key: bytes = field(repr=False)
    _pads: tuple[Any, Any] = field(init=False, repr=False, compare=False)
    """SHA-256 with the key's inner and outer pads already absorbed (RFC 2104): each
    pseudonym copies both (hashlib's way of sharing a prefix) instead of keying an HMAC,
    and hashlib's own objects copy faster than an HMAC's. A batch makes one pseudonym per
    candidate it read (millions); a test pins them to ``hmac``'s."""

    def __post_init__(self) -> None:
        if len(self.key) < 32:
            raise EntryError("the pseudonym key must be at least 32 bytes")
        block = sha256().block_size
        key = (sha256(self.key).digest() if len(self.key) > block else self.key).ljust(block, b"\0")
        pads = (sha256(bytes(b ^ 0x36 for b in key)), sha256(bytes(b ^ 0x5C for b in key)))
        object.__setattr__(self, "_pads", pads)

    def taxpayer(self, tin: str) -> str:
        return self._pseudonym(normalise_tin(tin).encode("ascii"))

    def _pseudonym(self, digits: bytes) -> str:
        inner, outer = self._pads
        keyed = inner.copy()
        keyed.update(digits)
        result = outer.copy()
        result.update(keyed.digest())
        return str(result.hexdigest())

    def taxpayers(self, tins: Sequence[str]) -> list[str]:
        """:meth:`taxpayer` of each TIN, in order: nine ASCII digits each, checked for the
        whole column at once (any other TIN takes :meth:`taxpayer` and its refusal)."""
        joined = "".join(tins)
        if not (joined.isascii() and joined.isdigit() and all(n == 9 for n in set(map(len, tins)))):
            return [self.taxpayer(tin) for tin in tins]
        inner, outer = self._pads[0].copy, self._pads[1].copy
        out = []
        for tin in tins:
            keyed = inner()
            keyed.update(tin.encode("ascii"))
            result = outer()
            result.update(keyed.digest())
            out.append(result.hexdigest())
        return out

    def digest(self, text: str) -> str:
        """Keyed digest of disclosed content (an address), so an auditor holding the
        key can check what was sent without the ledger revealing it."""
        return hmac.new(self.key, b"content\n" + text.encode("utf-8"), sha256).hexdigest()

    def fingerprint(self) -> str:
        """A keyed digest that names the key without revealing it: the log pins it, so
        pseudonyms made under a replaced key are caught instead of silently splitting
        one taxpayer's accounting in two."""
        return hmac.new(self.key, PSEUDONYM_FINGERPRINT_LABEL, sha256).hexdigest()


def file_digest(data: bytes) -> str:
    return sha256(data).hexdigest()


# --- events ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LedgerEvent:
    """Fields common to every entry; subclasses add their own and set ``kind``."""

    kind: ClassVar[str] = ""
    mapping_fields: ClassVar[tuple[str, ...]] = ()
    pseudonym_fields: ClassVar[tuple[str, ...]] = ()
    digest_fields: ClassVar[tuple[str, ...]] = ()

    event_id: str = field(default_factory=new_event_id)
    at: str = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        # Validate once, at construction (events are frozen): JSON-safe values
        # only, pseudonyms and digests in their exact shapes.
        shaped = (*self.pseudonym_fields, *self.digest_fields)
        for name, value in self.__dict__.items():
            _check_json_safe(self.kind, name, value)
            if name not in shaped:  # hex of a fixed length cannot hold a bounded TIN
                _refuse_clear_tins(self.kind, name, value)
        self._check(self.__dict__)

    def to_entry(self) -> dict[str, Any]:
        """The entry as a JSON-ready dict (tuples serialise as arrays)."""
        return {"v": ENTRY_VERSION, "kind": self.kind, **self.__dict__}

    def canonical(self) -> bytes:
        """RFC 8785 bytes of :meth:`to_entry` (privacy checks ran at construction).

        Values were checked at construction to lie in the subset where the
        standard encoder's output is RFC 8785 (see ``ftigate.ledger.canonical``);
        mapping fields, whose keys may be non-ASCII, take the general path."""
        entry = self.to_entry()
        try:
            data = canonical_json(entry) if self.mapping_fields else encode_in_jcs_subset(entry)
        except UnicodeEncodeError:
            raise EntryError(f"{self.kind} entry holds text that is not valid Unicode") from None
        return data

    def _check(self, entry: Mapping[str, Any]) -> None:
        for name in self.pseudonym_fields:
            value = entry[name]
            values = value if isinstance(value, list | tuple) else [value]
            for item in values:
                if item is not None and not (isinstance(item, str) and _PSEUDONYM_SHAPE.fullmatch(item)):
                    raise EntryError(f"{self.kind}.{name} must be a taxpayer pseudonym (64 hex digits)")
        for name in self.digest_fields:
            value = entry[name]
            values = list(value.values()) if isinstance(value, dict) else [value]
            for item in values:
                if item is not None and not (isinstance(item, str) and _DIGEST_SHAPE.fullmatch(item)):
                    raise EntryError(f"{self.kind}.{name} must hold SHA-256 hex digests")


_MAX_SAFE_INTEGER = 2**53 - 1


def _check_json_safe(kind: str, name: str, value: Any) -> None:
    """str, None, bool, int within +-(2**53-1), tuples of str, dicts of str to str."""
    value_type = type(value)
    if value_type is str or value is None or value_type is bool:
        return
    if value_type is int:
        if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
            return
        raise EntryError(f"{kind}.{name} is an integer beyond 2**53; record it as a string")
    if value_type is tuple and all(type(item) is str for item in value):
        return
    if value_type is dict and all(type(k) is str and type(v) is str for k, v in value.items()):
        return
    raise EntryError(
        f"{kind}.{name} must be text, a whole number, a tuple of text or a mapping of text "
        f"(got {value_type.__name__}; record decimals as strings)"
    )


_FIELD_CACHE: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_CACHE.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls))
        _FIELD_CACHE[cls] = names
    return names


def holds_tin_shape(text: str) -> bool:
    """Whether text holds something shaped like a TIN (what entries refuse)."""
    return _TIN_SHAPE.search(text) is not None


def all_hex64(values: Sequence[str], joined: str) -> bool:
    """Whether every value is 64 lower-case hex digits (``joined``: the values end to end),
    in C loops: the lengths, then the joined text's bytes with the hex digits deleted. What
    the shape checks of pseudonyms and digests ask, for a whole column at once."""
    return (
        all(length == 64 for length in set(map(len, values)))
        and joined.isascii()
        and not joined.encode("ascii").translate(None, _HEX_DIGITS)
    )


_HEX_DIGITS = b"0123456789abcdef"


def _refuse_clear_tins(kind: str, name: str, value: Any) -> None:
    """Refuse any text value shaped like a TIN (keys of mappings included)."""
    if type(value) is str:
        if _TIN_SHAPE.search(value):
            raise EntryError(f"{kind}.{name} holds something shaped like a TIN; refused")
    elif type(value) is tuple:
        for item in value:
            _refuse_clear_tins(kind, name, item)
    elif type(value) is dict:
        for key, item in value.items():
            _refuse_clear_tins(kind, name, key)
            _refuse_clear_tins(kind, name, item)


@dataclass(frozen=True, kw_only=True)
class BatchReceived(LedgerEvent):
    """A letter and its request file arrived (digests only, never contents), and the rules
    that decide the batch (see :mod:`ftigate.decide.rules`).

    `letter_digest` is the *letter file's* SHA-256, the same digest `files` holds under the
    letter's name (the store keeps the letter's canonical JSON digest apart, as
    `letter_canonical_sha256`). The rule fields are optional: entries recorded before they
    existed have none and stay readable."""

    kind: ClassVar[str] = "batch_received"
    mapping_fields: ClassVar[tuple[str, ...]] = ("files", "thresholds")
    digest_fields: ClassVar[tuple[str, ...]] = (
        "letter_digest", "files", "pseudonym_key", "law_sha256", "policy_sha256", "model_digest",
    )  # fmt: skip

    batch_id: str
    requesting_agency: str
    letter_digest: str  # SHA-256 of the letter file's bytes
    files: dict[str, str]  # file name -> SHA-256 hex
    record_count: int
    letter_date: str | None = None  # YYYY-MM-DD: the date the reports count the batch under
    # Pseudonymizer.fingerprint() of the key the batch's pseudonyms were made with;
    # the store fills it in from the key it was opened with.
    pseudonym_key: str | None = None
    law_as_of: str | None = None  # YYYY-MM-DD the law was resolved at (the letter's date)
    law_sha256: str | None = None  # ftigate.law.timeline.law_digest of that law, policy applied
    policy_sha256: str | None = None  # SHA-256 of the policy file's bytes; None: no policy file
    thresholds: dict[str, str] | None = None  # threshold name -> decimal text
    model_digest: str | None = None  # SHA-256 of the model artefact
    model_name: str | None = None
    splink_version: str | None = None  # the Splink version the model was trained with


@dataclass(frozen=True, kw_only=True)
class LedgerOpened(LedgerEvent):
    """The first leaf of every log: pins the keys every later leaf is recorded under."""

    kind: ClassVar[str] = "ledger_opened"
    digest_fields: ClassVar[tuple[str, ...]] = ("pseudonym_key",)

    log_vkey: str  # the verification key of the log (signed-note vkey form)
    pseudonym_key: str  # Pseudonymizer.fingerprint()


@dataclass(frozen=True, kw_only=True)
class Seal(LedgerEvent):
    """Closes one append: the log key's signature over the leaves appended with it.

    Whoever can write the database but not read the log key cannot make one, so
    ``ledger checkpoint`` signs only leaves that a seal covers (see
    :mod:`ftigate.ledger.seal`)."""

    kind: ClassVar[str] = "seal"
    digest_fields: ClassVar[tuple[str, ...]] = ("range_root",)

    first_index: int
    size: int
    range_root: str  # hex RFC 9162 root of leaves first_index .. first_index + size - 1
    key_id: str  # hex signed-note key id of the log key
    signature: str  # hex Ed25519 signature over ftigate.ledger.seal.seal_message(...)


@dataclass(frozen=True, kw_only=True)
class RecordScreened(LedgerEvent):
    """R1-R5 / L1-L4 outcome for one request record; no taxpayer data touched."""

    kind: ClassVar[str] = "record_screened"

    batch_id: str
    request_id: str
    outcome: str  # "sufficient" | "refuse" | "review"
    reasons: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()  # rule ids read (citations)


@dataclass(frozen=True, kw_only=True)
class BatchScreened(LedgerEvent):
    """R1-R5 / L1-L4 outcome of every request of a batch, committed by one Merkle root.

    One leaf per batch instead of one per request: `results_root` is the RFC 9162 root
    over the batch's screening items (:mod:`ftigate.ledger.committed`: request id,
    outcome, reasons, rules, in request-file order), which the store keeps as the
    batch's `screening_results` rows. Each record's result is proved by an inclusion
    proof under this root (`ftigate ledger prove-record`), and `ledger verify` rehashes
    the rows against it, so a changed, added, dropped or reordered row is found."""

    kind: ClassVar[str] = "batch_screened"
    digest_fields: ClassVar[tuple[str, ...]] = ("results_root",)

    batch_id: str
    records: int  # how many items the root commits to
    results_root: str  # hex RFC 9162 root over the items' leaf hashes
    item_format: int = 1  # ftigate.ledger.committed.SCREENING_ITEM_FORMAT


@dataclass(frozen=True, kw_only=True)
class BatchDecided(LedgerEvent):
    """The decision on every request of a batch, committed by one Merkle root (as
    :class:`BatchScreened`): `results_root` is over the batch's decision items (request
    id, decision, reasons, match probability, taxpayer pseudonym, model digest), which
    the store keeps as the batch's `decisions` rows. Inspections and disclosures stay
    one leaf each (7213A, 6103(p)(3)(A))."""

    kind: ClassVar[str] = "batch_decided"
    digest_fields: ClassVar[tuple[str, ...]] = ("results_root",)

    batch_id: str
    records: int
    results_root: str
    item_format: int = 1


@dataclass(frozen=True, kw_only=True)
class RecordsInspected(LedgerEvent):
    """Taxpayer records searched for one request (an inspection, 6103(b)(7))."""

    kind: ClassVar[str] = "records_inspected"
    pseudonym_fields: ClassVar[tuple[str, ...]] = ("taxpayers",)

    batch_id: str
    request_id: str
    taxpayers: tuple[str, ...]  # pseudonyms of the candidate records read
    actor: str = "system"

    @classmethod
    def encode_searches(
        cls, batch_id: str, request_ids: Sequence[str], read: Sequence[str | None], actor: str = "system"
    ) -> list[EncodedEntry]:
        """One entry per search (``read[i]``: what ``request_ids[i]``'s search read), the
        bytes ``RecordsInspected(...).canonical()`` would give, written straight from the
        values with no event object in between: a batch's inspections are most of its leaves
        (over half a million at 1.28 M requests), and making each an object and encoding it
        field by field cost more than scoring the batch.

        ``read[i]``: the pseudonyms of the taxpayer records read, sorted, distinct and
        joined by ``","`` (the text between an array's outer quotes); ``None`` or ``""``
        when it read nobody. The events of one call share their time (``at``: when they were
        made), each has its own event id. What each event checks is checked over the whole
        chunk at once: request ids are text with nothing shaped like a TIN, every pseudonym 64
        lower-case hex digits (each joined text is pseudonyms at fixed places, separators
        between them, nothing else), and the bytes are valid UTF-8. A test pins every
        entry to the event's own :meth:`LedgerEvent.canonical`."""
        if len(request_ids) != len(read):
            raise EntryError(f"{cls.kind}: {len(request_ids)} request ids, {len(read)} pseudonym lists")
        if not all(type(request_id) is str for request_id in request_ids):
            raise EntryError(f"{cls.kind}.request_id must be text")
        at = utc_now()
        for name, value in (("batch_id", batch_id), ("actor", actor), ("at", at)):
            if type(value) is not str:
                raise EntryError(f"{cls.kind}.{name} must be text")
            _refuse_clear_tins(cls.kind, name, value)
        if holds_tin_shape("\n".join(request_ids)):
            raise EntryError(f"{cls.kind}.request_id holds something shaped like a TIN; refused")
        joined = [text or "" for text in read]
        if not all(type(text) is str for text in joined) or not _pseudonym_runs(joined):
            raise EntryError(f"{cls.kind}.taxpayers must be a taxpayer pseudonym (64 hex digits)")
        head = (
            f'{{"actor":{encode_basestring(actor)},"at":{encode_basestring(at)},'
            f'"batch_id":{encode_basestring(batch_id)},"event_id":"'
        )
        middle = f'","kind":{encode_basestring(cls.kind)},"request_id":'
        between = ',"taxpayers":['
        tail = f'],"v":{ENTRY_VERSION}}}'
        entries = []
        kind = cls.kind
        ids = new_event_ids(len(request_ids))
        for event_id, request_id, text in zip(ids, request_ids, joined, strict=True):
            taxpayers = f'"{text}"' if text else ""
            entry = f"{head}{event_id}{middle}{encode_basestring(request_id)}{between}{taxpayers}{tail}"
            try:
                entries.append(EncodedEntry(kind, event_id, entry.encode("utf-8")))
            except UnicodeEncodeError:
                raise EntryError(f"{kind} entry holds text that is not valid Unicode") from None
        return entries


_SEPARATOR = '","'


def _pseudonym_runs(joined: Sequence[str]) -> bool:
    """Whether each text is pseudonyms joined by ``","``: 64 hex digits, then a separator
    every 67 characters, and nothing but hex digits outside the separators. Checked in C
    loops over the texts end to end (one pseudonym per taxpayer read: millions a batch)."""
    texts = [text for text in joined if text]
    if not texts:
        return True
    if not all(len(text) % 67 == 64 for text in texts):
        return False
    flat = _SEPARATOR.join(texts)  # the same shape: the joining separators fall in place
    count = len(flat) // 67
    return (
        flat.isascii()
        and flat[64::67] == '"' * count
        and flat[65::67] == "," * count
        and flat[66::67] == '"' * count
        and len(flat.encode("ascii").translate(None, _HEX_DIGITS)) == 3 * count
    )


ENCODED_KINDS = frozenset({RecordsInspected.kind})
"""kinds a bulk encoder may write (`EncodedEntry`): no table row, no batch status"""


@dataclass(frozen=True, slots=True)
class EncodedEntry:
    """An event already written as its canonical bytes by a bulk encoder
    (:meth:`RecordsInspected.encode_searches`), with no event object: the store appends
    ``data`` as the leaf's event. Only for kinds that have no table row and change no
    batch's status."""

    kind: str
    event_id: str
    data: bytes

    def __post_init__(self) -> None:
        if self.kind not in ENCODED_KINDS:  # the store would skip its table row or status
            raise EntryError(f"{self.kind} entries are recorded as events, not encoded in bulk")


@dataclass(frozen=True, kw_only=True)
class InspectionStarted(LedgerEvent):
    """These requests are about to search the taxpayer file (appended before it is read).

    A run killed while searching leaves this behind, so an inspection that happened is
    never missing from the log; `records_inspected` follows with what each search read."""

    kind: ClassVar[str] = "inspection_started"

    batch_id: str
    request_ids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Decision(LedgerEvent):
    kind: ClassVar[str] = "decision"
    pseudonym_fields: ClassVar[tuple[str, ...]] = ("taxpayer",)
    digest_fields: ClassVar[tuple[str, ...]] = ("model_digest",)

    batch_id: str
    request_id: str
    decision: str  # "disclose" | "refuse" | "review"
    reasons: tuple[str, ...] = ()
    match_probability: str | None = None  # a decimal string: no float rounding in JSON
    taxpayer: str | None = None
    model_digest: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReviewAction(LedgerEvent):
    kind: ClassVar[str] = "review_action"

    batch_id: str
    request_id: str
    reviewer: str  # user id, not a name
    action: str  # "approve" | "reject" | "escalate"
    decision: str
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RecordViewed(LedgerEvent):
    """A person saw taxpayer data of one request in `ftigate serve` (the review item's
    on-file fields, masked): appended before the page is sent, so no view goes unrecorded
    (an inspection, 6103(b)(7))."""

    kind: ClassVar[str] = "record_viewed"
    pseudonym_fields: ClassVar[tuple[str, ...]] = ("taxpayers",)

    batch_id: str
    request_id: str
    viewer: str  # user id, not a name
    taxpayers: tuple[str, ...]  # pseudonyms of the records shown: candidates and household


@dataclass(frozen=True, kw_only=True)
class LetterReviewed(LedgerEvent):
    """The privacy officer decided a letter-level review (e.g. LETTER_OFFICERS_IMPLAUSIBLE)
    with a written reason, before any record of the batch was inspected."""

    kind: ClassVar[str] = "letter_reviewed"

    batch_id: str
    reviewer: str  # user id
    action: str  # "approve" | "refuse"
    reasons: tuple[str, ...]  # the letter-level codes decided on
    reason: str  # the privacy officer's written reason


@dataclass(frozen=True, kw_only=True)
class ReleaseRetried(LedgerEvent):
    """A privacy officer sent a decided batch whose release failed (its response could
    not be written) back to be released, with a written reason. What the release then
    does is recorded by its own events (disclosures, response sent, released)."""

    kind: ClassVar[str] = "release_retried"

    batch_id: str
    actor: str  # user id
    reason: str


@dataclass(frozen=True, kw_only=True)
class Disclosure(LedgerEvent):
    """One disclosure: the Form 5466-B fields, with the taxpayer as a pseudonym."""

    kind: ClassVar[str] = "disclosure"
    pseudonym_fields: ClassVar[tuple[str, ...]] = ("taxpayer",)
    digest_fields: ClassVar[tuple[str, ...]] = ("content_digest",)

    batch_id: str
    request_id: str
    taxpayer: str
    date: str  # YYYY-MM-DD of the disclosure
    recipient_agency: str
    authority: str  # e.g. "26 U.S.C. 6103(i)(2)"
    purpose: str  # the designated criminal statute / general purpose
    disclosed: tuple[str, ...] = ("last_known_address",)
    content_digest: str | None = None  # Pseudonymizer.digest of what was sent


@dataclass(frozen=True, kw_only=True)
class ResponseSent(LedgerEvent):
    kind: ClassVar[str] = "response_sent"
    digest_fields: ClassVar[tuple[str, ...]] = ("response_digest",)

    batch_id: str
    recipient_agency: str
    response_digest: str
    disclosed_count: int
    refused_count: int
    review_count: int


@dataclass(frozen=True, kw_only=True)
class ResponseReleased(LedgerEvent):
    """The response recorded by `response_sent` is in place in the output folder: the
    batch's disclosures were made. Until this event they were prepared, not made."""

    kind: ClassVar[str] = "response_released"
    digest_fields: ClassVar[tuple[str, ...]] = ("response_digest",)

    batch_id: str
    response_digest: str


@dataclass(frozen=True, kw_only=True)
class BatchAbandoned(LedgerEvent):
    """An incomplete batch will not be finished; nothing it prepared was released."""

    kind: ClassVar[str] = "batch_abandoned"

    batch_id: str
    reason: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class BatchVoided(LedgerEvent):
    """A released batch is withdrawn. Its disclosures were made and stay in the accounting."""

    kind: ClassVar[str] = "batch_voided"

    batch_id: str
    reason: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class BatchSuperseded(LedgerEvent):
    """A new batch of the same letter and request file replaces `batch_id`; a disclosure
    of one request about one taxpayer counts once across the two."""

    kind: ClassVar[str] = "batch_superseded"

    batch_id: str
    superseded_by: str
    reason: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class ConfigChanged(LedgerEvent):
    """A setting that decides batches (`law`, `policy` or `thresholds`) differs from the
    previous batch's in this store: appended with the batch it takes effect in
    (`batch_id`), before that batch's first inspection."""

    kind: ClassVar[str] = "config_changed"
    digest_fields: ClassVar[tuple[str, ...]] = ("old_digest", "new_digest")

    setting: str  # "law" | "policy" | "thresholds"
    old_digest: str | None  # the previous batch's; None: it recorded none
    new_digest: str | None  # None: no policy file any more
    actor: str
    batch_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ModelChanged(LedgerEvent):
    """The identity model differs from the previous batch's in this store: appended with
    the batch it takes effect in (`batch_id`), before that batch's first inspection."""

    kind: ClassVar[str] = "model_changed"
    digest_fields: ClassVar[tuple[str, ...]] = ("model_digest", "old_digest")

    model_digest: str
    library: str  # e.g. "splink 4.0.7"
    actor: str
    old_digest: str | None = None  # the previous batch's model; None: it recorded none
    batch_id: str | None = None


EVENT_TYPES: dict[str, type[LedgerEvent]] = {
    cls.kind: cls
    for cls in (
        LedgerOpened,
        Seal,
        BatchReceived,
        RecordScreened,
        BatchScreened,
        RecordsInspected,
        InspectionStarted,
        Decision,
        BatchDecided,
        ReviewAction,
        RecordViewed,
        LetterReviewed,
        ReleaseRetried,
        Disclosure,
        ResponseSent,
        ResponseReleased,
        BatchAbandoned,
        BatchVoided,
        BatchSuperseded,
        ConfigChanged,
        ModelChanged,
    )
}


def event_from_entry(entry: Mapping[str, Any]) -> LedgerEvent:
    """Rebuild an event from a decoded entry (lists become tuples)."""
    if entry.get("v") != ENTRY_VERSION:
        raise EntryError(f"unknown entry version {entry.get('v')!r}")
    cls = EVENT_TYPES.get(str(entry.get("kind")))
    if cls is None:
        raise EntryError(f"unknown entry kind {entry.get('kind')!r}")
    names = set(_field_names(cls))
    unknown = set(entry) - names - {"v", "kind"}
    if unknown:
        raise EntryError(f"{cls.kind} entry has unknown fields {sorted(unknown)}")
    values: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in entry.items() if k in names
    }
    try:
        return cls(**values)
    except TypeError as error:
        raise EntryError(f"{cls.kind} entry is incomplete: {error}") from None
