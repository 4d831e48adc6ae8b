"""The bulk paths of the ledger (a batch's inspections, pseudonyms, privacy checks and
verify's decoding) against the value-by-value paths they stand in for: the same events,
bytes and verdicts. Each compares with the slow path kept beside it, or with the
standard library (``hmac``, ``json``), as the naive reference."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.ledger.canonical import canonical_json, decode_canonical
from ftigate.ledger.committed import (
    DecisionItem,
    ScreeningItem,
    _check_each,
    _check_recordable,
)
from ftigate.ledger.events import EncodedEntry, EntryError, Pseudonymizer, RecordsInspected, new_event_ids
from ftigate.ledger.merkle import HashTree, leaf_hash, node_hash

BATCH = "b" * 32
HEX64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
# mostly what a search records, sometimes what an entry must refuse
PSEUDONYM = HEX64 | st.sampled_from(["A" * 64, "a" * 63, "g" * 64, "123-45-6789", "a" * 65])
REQUEST_ID = st.text(max_size=12) | st.sampled_from(["R-1", "123456789", "ref 123 45 6789", "\ud800"])


def _verdict(build: object) -> object:
    try:
        return build()  # type: ignore[operator]
    except EntryError:
        return "refused"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(REQUEST_ID, st.lists(PSEUDONYM, max_size=4).map(tuple)), max_size=6))
def test_inspections_encoded_in_bulk_are_the_bytes_of_the_events_made_one_by_one(searches: list[tuple[str, tuple[str, ...]]]) -> None:  # fmt: skip
    request_ids = [request_id for request_id, _ in searches]
    taxpayers = [read for _, read in searches]
    joined = [None if not read else '","'.join(read) for read in taxpayers]
    encoded = _verdict(lambda: RecordsInspected.encode_searches(BATCH, request_ids, joined))

    def one_by_one() -> list[bytes]:
        return [
            RecordsInspected(batch_id=BATCH, request_id=request_id, taxpayers=read).canonical()
            for request_id, read in searches
        ]

    if encoded == "refused":  # some event, made or written, refuses too
        with pytest.raises(EntryError):
            one_by_one()
        return
    assert isinstance(encoded, list) and len(encoded) == len(searches)
    for entry, request_id, read in zip(encoded, request_ids, taxpayers, strict=True):
        at = json.loads(entry.data)["at"]
        event = RecordsInspected(event_id=entry.event_id, at=at, batch_id=BATCH, request_id=request_id, taxpayers=read)
        assert (entry.kind, entry.data) == (event.kind, event.canonical())
        assert canonical_json(json.loads(entry.data)) == entry.data
        assert rfc8785.dumps(json.loads(entry.data)) == entry.data


def test_inspections_encoded_in_bulk_refuse_what_each_event_refuses() -> None:
    good, other = "a" * 64, "0" * 64
    cases = [
        (["R-1", "SSN 123-45-6789"], [None, None], "shaped like a TIN"),
        (["R-1"], ["A" * 64], "64 hex"),
        (["R-1"], [good + '","' + "a" * 63], "64 hex"),
        (["R-1"], [good + '"," ' + other[1:]], "64 hex"),
        (["R-1"], [good + '",' + other + "0"], "64 hex"),  # a separator out of place
        (["R-1"], [good + '","'], "64 hex"),
        (["R-1"], ['","' + good], "64 hex"),
        (["R-1"], [good + "é" + other[:63]], "64 hex"),
        (["R-1", "R-2"], [None], "2 request ids, 1 pseudonym"),
        (["R-1 \"quoted\" \\ \u00e9\n"], [good], None),
    ]
    for request_ids, read, message in cases:
        if message is None:  # text JSON escapes, and text it writes as it is
            assert RecordsInspected.encode_searches(BATCH, request_ids, read)
            continue
        with pytest.raises(EntryError, match=message) as caught:
            RecordsInspected.encode_searches(BATCH, request_ids, read)
        assert "6789" not in str(caught.value)
    with pytest.raises(EntryError, match="not valid Unicode"):
        RecordsInspected.encode_searches(BATCH, ["R-" + chr(0xD800)], [good])
    with pytest.raises(EntryError, match="shaped like a TIN"):
        RecordsInspected.encode_searches("123456789", ["R-1"], [None])
    with pytest.raises(EntryError, match="must be text"):
        RecordsInspected.encode_searches(BATCH, [7], [good])  # type: ignore[list-item]
    with pytest.raises(EntryError, match="recorded as events"):
        EncodedEntry("disclosure", "e" * 32, b"{}")  # it has a table row the store would skip
    joined = '","'.join([good, other, "f" * 64])
    (entry,) = RecordsInspected.encode_searches(BATCH, ["R-1"], [joined])
    assert json.loads(entry.data)["taxpayers"] == [good, other, "f" * 64]


def test_bulk_event_ids_are_each_new_and_of_the_usual_shape() -> None:
    ids = new_event_ids(1000)
    assert len(set(ids)) == 1000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert ids == sorted(ids, key=lambda i: i[:14])  # stamped in the order they were made


@pytest.mark.parametrize("key_size", [32, 63, 64, 65, 100])
def test_pseudonyms_are_hmac_sha256_of_the_tin(key_size: int) -> None:
    key = bytes(range(key_size))
    pseudonyms = Pseudonymizer(key)
    tins = ["123456789", "000000000", "987654321"]
    want = [hmac.new(key, tin.encode("ascii"), hashlib.sha256).hexdigest() for tin in tins]
    assert [pseudonyms.taxpayer(tin) for tin in tins] == want
    assert pseudonyms.taxpayers(tins) == want
    assert pseudonyms.taxpayers(["123-45-6789", "123456789"]) == [want[0], want[0]]
    with pytest.raises(EntryError, match="9 digits"):
        pseudonyms.taxpayers(["123456789", "12345678"])
    with pytest.raises(EntryError, match="9 digits"):
        pseudonyms.taxpayers(["١٢٣٤٥٦٧٨٩"])  # digits, but not ASCII ones: refused as one by one


TEXT = st.text(max_size=6) | st.sampled_from(["123456789", "a 123-45-6789", "NO_MATCH"])
SCREENING = st.builds(
    ScreeningItem, st.just(BATCH), TEXT, TEXT, st.lists(TEXT, max_size=2).map(tuple),
    st.lists(TEXT, max_size=2).map(tuple),
)  # fmt: skip
DECISION = st.builds(
    DecisionItem, st.just(BATCH), TEXT, TEXT, st.lists(TEXT, max_size=2).map(tuple),
    st.none() | TEXT, st.none() | PSEUDONYM, st.none() | PSEUDONYM,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(SCREENING, max_size=5) | st.lists(DECISION, max_size=5))
def test_a_batchs_privacy_check_has_the_verdict_of_checking_each_value(items: list[ScreeningItem] | list[DecisionItem]) -> None:  # fmt: skip
    kind = "screening" if items and isinstance(items[0], ScreeningItem) else "decision"

    def verdict(check: object) -> str:
        try:
            check(kind, items)  # type: ignore[operator]
        except EntryError as error:
            return str(error)
        return "recordable"

    assert verdict(_check_recordable) == verdict(_check_each)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**60), max_value=2**60) | st.text(max_size=5)
    | st.floats(allow_nan=False),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=8,
)  # fmt: skip


def _reference(data: bytes) -> tuple[object, bool]:
    """verify's check as it was: decode, then compare with the reference encoding."""
    value = json.loads(data)
    try:
        return value, rfc8785.dumps(value) == data
    except rfc8785.CanonicalizationError:
        return value, False


@settings(max_examples=300, deadline=None)
@given(JSON, st.sampled_from(["canonical", "spaced", "unsorted", "escaped", "float"]))
def test_decoding_an_entry_tells_canonical_bytes_as_the_reference_does(value: object, form: str) -> None:
    if form == "canonical":
        try:
            data = canonical_json(value)
        except (rfc8785.CanonicalizationError, UnicodeEncodeError):
            return
    elif form == "spaced":
        data = json.dumps(value, sort_keys=True).encode("utf-8", "surrogatepass")
    elif form == "unsorted":
        data = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
    elif form == "escaped":
        data = json.dumps(value, separators=(",", ":"), sort_keys=True).encode("ascii")
    else:
        data = json.dumps({"v": value, "f": 1.0}, separators=(",", ":"), sort_keys=True).encode("ascii")
    try:
        want = _reference(data)
    except ValueError:
        with pytest.raises(ValueError):
            decode_canonical(data)
        return
    got = decode_canonical(data)
    assert got[1] == want[1]
    assert json.dumps(got[0], sort_keys=True) == json.dumps(want[0], sort_keys=True)


@pytest.mark.parametrize(
    ("data", "canonical"),
    [
        (b'{"a":1,"b":[true,null,"x"]}', True),
        (b'{"b":1,"a":2}', False),
        (b'{"a": 1}', False),
        (b'{"a":1.0}', False),  # RFC 8785 writes 1
        (b'{"a":9007199254740993}', False),  # beyond 2**53: no RFC 8785 form
        (b"[NaN]", False),
        ('{"é":"ü"}'.encode(), True),
        (b'"\\u00e9"', False),  # RFC 8785 writes the character itself
    ],
)
def test_decoding_an_entry_table(data: bytes, canonical: bool) -> None:
    assert decode_canonical(data)[1] is canonical


@given(st.integers(min_value=0, max_value=70))
def test_the_tree_built_by_levels_has_the_naive_roots(size: int) -> None:
    leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(size)]

    def naive(hashes: list[bytes]) -> bytes:  # RFC 9162 2.1.1, literally
        if len(hashes) == 1:
            return hashes[0]
        k = 1 << ((len(hashes) - 1).bit_length() - 1)
        return node_hash(naive(hashes[:k]), naive(hashes[k:]))

    tree = HashTree.from_concatenated(b"".join(leaves))
    for n in range(1, size + 1):
        assert tree.root(n) == naive(leaves[:n])
