"""Ledger entries: canonical JSON, pseudonyms, privacy guards, key files."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.ledger.canonical import canonical_json, reference_canonical_json
from ftigate.ledger.events import (
    EVENT_TYPES,
    BatchAbandoned,
    BatchReceived,
    BatchSuperseded,
    BatchVoided,
    Decision,
    Disclosure,
    EntryError,
    InspectionStarted,
    LetterReviewed,
    Pseudonymizer,
    RecordScreened,
    RecordViewed,
    ReleaseRetried,
    ResponseReleased,
    event_from_entry,
    file_digest,
    normalise_tin,
)
from ftigate.ledger.keys import (
    KeyFileError,
    generate_keys,
    load_pseudonymizer,
    load_signer,
)

KEY = Pseudonymizer(bytes(range(32)))
TIN = "123-45-6789"


def test_pseudonym_is_hmac_of_normalised_tin() -> None:
    import hashlib
    import hmac

    expected = hmac.new(bytes(range(32)), b"123456789", hashlib.sha256).hexdigest()
    assert KEY.taxpayer(TIN) == KEY.taxpayer("123456789") == KEY.taxpayer(" 123 45 6789") == (expected)
    assert Pseudonymizer(b"\x01" * 32).taxpayer(TIN) != expected


def test_bad_tin_error_does_not_echo_the_input() -> None:
    with pytest.raises(EntryError) as caught:
        normalise_tin("12345678X")
    assert "12345678" not in str(caught.value)


def disclosure(**changes: object) -> Disclosure:
    values: dict[str, object] = {
        "batch_id": "b-2026-0001",
        "request_id": "R-17",
        "taxpayer": KEY.taxpayer(TIN),
        "date": "2026-03-02",
        "recipient_agency": "ICE",
        "authority": "26 U.S.C. 6103(i)(2)",
        "purpose": "8 U.S.C. 1253(a)(1)",
        "content_digest": KEY.digest("1 Main St, Springfield, IL 62701"),
    }
    values.update(changes)
    return Disclosure(**values)  # type: ignore[arg-type]


def test_entry_is_canonical_json_and_round_trips() -> None:
    event = disclosure(event_id="e1", at="2026-03-02T10:00:00.000000Z")
    data = event.canonical()
    assert data == rfc8785.dumps(event.to_entry())
    assert data.startswith(b'{"at":"2026-03-02T10:00:00.000000Z","authority"')
    decoded = json.loads(data)
    assert decoded["kind"] == "disclosure" and decoded["v"] == 1
    assert event_from_entry(decoded) == event


def test_entry_holds_no_clear_identity() -> None:
    data = disclosure().canonical().decode()
    assert "123456789" not in data and "123-45-6789" not in data
    assert "Main St" not in data


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (lambda: disclosure(taxpayer=TIN), "must be a taxpayer pseudonym"),
        (lambda: disclosure(taxpayer="123456789"), "must be a taxpayer pseudonym"),
        (lambda: disclosure(purpose="taxpayer 123-45-6789"), "shaped like a TIN"),
        (lambda: disclosure(request_id="123456789"), "shaped like a TIN"),
        (lambda: disclosure(content_digest="1 Main St"), "SHA-256 hex"),
        (
            lambda: RecordScreened(
                batch_id="b", request_id="r", outcome="refuse", reasons=("SSN 123 45 6789",)
            ),
            "shaped like a TIN",
        ),
        (
            lambda: BatchReceived(
                batch_id="b",
                requesting_agency="ICE",
                letter_digest=file_digest(b"x"),
                files={"requests.csv": "not a digest"},
                record_count=1,
            ),
            "SHA-256 hex",
        ),
    ],
)
def test_privacy_guards_refuse_clear_values(event: object, message: str) -> None:
    with pytest.raises(EntryError, match=message) as caught:
        event().canonical()  # type: ignore[operator]
    assert "6789" not in str(caught.value)


def test_every_kind_round_trips() -> None:
    samples = [
        BatchReceived(
            batch_id="b",
            requesting_agency="ICE",
            letter_digest=file_digest(b"l"),
            files={"r.csv": file_digest(b"r")},
            record_count=3,
        ),
        Decision(
            batch_id="b",
            request_id="r",
            decision="disclose",
            match_probability="0.9991",
            taxpayer=KEY.taxpayer(TIN),
            reasons=(),
        ),
        disclosure(),
        InspectionStarted(batch_id="b", request_ids=("r1", "r2")),
        ResponseReleased(batch_id="b", response_digest=file_digest(b"response")),
        BatchAbandoned(batch_id="b", reason="killed during scoring", actor="A100"),
        BatchVoided(batch_id="b", reason="sent to the wrong office", actor="A100"),
        BatchSuperseded(batch_id="b", superseded_by="c", reason="processed again", actor="system"),
        RecordViewed(batch_id="b", request_id="r1", viewer="officer-1", taxpayers=(KEY.taxpayer(TIN),)),
        LetterReviewed(
            batch_id="b", reviewer="privacy-1", action="refuse",
            reasons=("LETTER_OFFICERS_IMPLAUSIBLE",), reason="three officers cannot work 60,000 cases",
        ),
        ReleaseRetried(batch_id="b", actor="privacy-1", reason="the data folder was full; space freed"),
    ]
    for event in samples:
        assert event_from_entry(json.loads(event.canonical())) == event
    assert len(EVENT_TYPES) == 21


def test_event_from_entry_refuses_unknown_shapes() -> None:
    with pytest.raises(EntryError, match="unknown entry kind"):
        event_from_entry({"v": 1, "kind": "nope"})
    with pytest.raises(EntryError, match="unknown fields"):
        event_from_entry({**disclosure().to_entry(), "extra": 1})
    with pytest.raises(EntryError, match="version"):
        event_from_entry({**disclosure().to_entry(), "v": 2})


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(JSON_VALUES)
def test_fast_canonical_json_equals_rfc8785(value: object) -> None:
    try:
        want = reference_canonical_json(value)
    except Exception as error:  # the reference refuses e.g. integers above 2**53
        with pytest.raises(type(error)):
            canonical_json(value)
        return
    assert canonical_json(value) == want


def test_non_ascii_keys_sort_by_utf16_code_units() -> None:
    """JCS orders keys by UTF-16 code units: U+10000 (a surrogate pair, D800 DC00) comes
    before U+E000, the reverse of code point order; found by the property test above."""
    value = {"\ue000": None, "\U00010000": None}
    assert canonical_json(value) == reference_canonical_json(value) == '{"\U00010000":null,"\ue000":null}'.encode()


def test_canonical_json_edge_cases() -> None:
    for value in [
        {"b": 1, "a": [True, None, '\u2028\x00\x1f"\\/é😀']},
        {"é": 1, "z": 2, "\U0001f600": 3, "\ufb33": 4},
        {"n": 2**53 - 1},
        {"f": 1.5e300},
    ]:
        assert canonical_json(value) == rfc8785.dumps(value)


def test_keygen_writes_0600_files_and_refuses_to_overwrite(tmp_path: Path) -> None:
    pseudonym, signing = tmp_path / "k" / "p.key", tmp_path / "k" / "s.key"
    keys = generate_keys("test.example/log", pseudonym, signing)
    for path in (pseudonym, signing):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signer(signing).verifier.vkey() == keys.verification_key
    assert load_pseudonymizer(pseudonym).taxpayer(TIN) != KEY.taxpayer(TIN)
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        generate_keys("test.example/log", pseudonym, tmp_path / "other")
    os.chmod(pseudonym, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_pseudonymizer(pseudonym)
    with pytest.raises(KeyFileError, match="does not exist"):
        load_signer(tmp_path / "missing")


def test_records_inspected_takes_pseudonyms_only() -> None:
    from ftigate.ledger.events import RecordsInspected

    ok = RecordsInspected(
        batch_id="b", request_id="r", taxpayers=(KEY.taxpayer(TIN), KEY.taxpayer("987654321"))
    )
    assert json.loads(ok.canonical())["taxpayers"] == list(ok.taxpayers)
    with pytest.raises(EntryError, match="must be a taxpayer pseudonym"):
        RecordsInspected(batch_id="b", request_id="r", taxpayers=("Jane Roe",))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"match_probability": 0.5}, "record decimals as strings"),
        ({"reasons": ["A"]}, "got list"),
        ({"reasons": ("A", 1)}, "got tuple"),
    ],
)
def test_values_outside_the_json_subset_are_refused(changes: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"batch_id": "b", "request_id": "r", "decision": "refuse"}
    with pytest.raises(EntryError, match=message):
        Decision(**{**values, **changes})  # type: ignore[arg-type]
    with pytest.raises(EntryError, match="beyond 2"):
        BatchReceived(
            batch_id="b",
            requesting_agency="x",
            letter_digest=file_digest(b""),
            files={},
            record_count=2**60,
        )


@settings(max_examples=300, deadline=None)
@given(st.text(), st.lists(st.text(max_size=8), max_size=3), st.text(max_size=10))
def test_event_encoding_equals_rfc8785(request_id: str, reasons: list[str], name: str) -> None:
    try:
        screened = RecordScreened(
            batch_id="b", request_id=request_id, outcome="refuse", reasons=tuple(reasons)
        )
        batch = BatchReceived(
            batch_id="b",
            requesting_agency="x",
            letter_digest=file_digest(b""),
            files={name: file_digest(b"")},
            record_count=1,
        )
    except EntryError:
        return  # TIN-shaped text is refused before it is ever encoded
    for event in (screened, batch):
        try:
            want = rfc8785.dumps(event.to_entry())
        except Exception:
            with pytest.raises(EntryError):
                event.canonical()
            continue
        assert event.canonical() == want
