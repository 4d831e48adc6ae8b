"""C2SP signed-note, tlog-checkpoint and tlog-cosignature: vectors and strict parsing."""

from __future__ import annotations

import base64
import hashlib

import pytest
from ledger_vectors import (
    NOTE_SIGNATURE,
    NOTE_TEXT,
    NOTE_VKEY,
    TESSERA_CHECKPOINT_1,
    TESSERA_LEAVES,
    TESSERA_SKEY,
    TESSERA_VKEY,
)

from ftigate.ledger.checkpoint import (
    COSIGNATURE_V1,
    ED25519,
    Checkpoint,
    CheckpointError,
    NoteFormatError,
    SignatureError,
    Signer,
    cosign,
    key_id,
    open_checkpoint,
    parse_checkpoint_body,
    parse_note,
    parse_skey,
    parse_vkey,
    sign_checkpoint,
    verify_cosignature,
    verify_note,
)
from ftigate.ledger.merkle import HashTree, leaf_hash

ORIGIN = "example.com/log/testdata"


def test_tessera_checkpoint_verifies_and_matches_the_leaves() -> None:
    log_key = parse_vkey(TESSERA_VKEY)
    signed = open_checkpoint(TESSERA_CHECKPOINT_1, log_key)
    assert signed.checkpoint.origin == ORIGIN
    assert signed.checkpoint.size == 1
    assert signed.checkpoint.root_hash == HashTree([leaf_hash(TESSERA_LEAVES[0])]).root()


def test_resigning_reproduces_the_tessera_checkpoint_byte_for_byte() -> None:
    signer = parse_skey(TESSERA_SKEY)
    assert signer.verifier == parse_vkey(TESSERA_VKEY)
    assert signer.skey() == TESSERA_SKEY
    checkpoint = Checkpoint(ORIGIN, 1, leaf_hash(TESSERA_LEAVES[0]))
    assert sign_checkpoint(checkpoint, signer).serialize() == TESSERA_CHECKPOINT_1


def test_key_id_is_the_documented_hash() -> None:
    verifier = parse_vkey(TESSERA_VKEY)
    # python3 -c "import hashlib,base64;k=base64.b64decode('AeHT...')[1:];
    #   print(hashlib.sha256(b'example.com/log/testdata\n\x01'+k).hexdigest()[:8])"
    expected = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + verifier.public_key).digest()[:4]
    assert verifier.key_id == expected == bytes.fromhex("33d7b496")
    assert verifier.vkey() == TESSERA_VKEY
    assert key_id(ORIGIN, COSIGNATURE_V1, verifier.public_key) != expected


def test_c2sp_signed_note_example() -> None:
    note = parse_note(f"{NOTE_TEXT}\n\u2014 example.com/foo {NOTE_SIGNATURE}\n")
    assert note.text == NOTE_TEXT
    assert verify_note(note, [parse_vkey(NOTE_VKEY)])[0].name == "example.com/foo"


def test_unknown_keys_are_ignored_but_one_known_key_must_verify() -> None:
    stranger = Signer.generate("stranger.example/key")
    signed = sign_checkpoint(Checkpoint(ORIGIN, 1, b"\x11" * 32), parse_skey(TESSERA_SKEY))
    extra = f"\u2014 stranger.example/key {base64.b64encode(b'abcd' + b'x' * 64).decode()}\n"
    opened = open_checkpoint(signed.serialize() + extra, parse_vkey(TESSERA_VKEY))
    assert opened.checkpoint.size == 1
    with pytest.raises(SignatureError, match="no signature from a trusted key"):
        open_checkpoint(signed.serialize(), Signer.generate(ORIGIN).verifier)
    with pytest.raises(SignatureError, match="no signature from a trusted key"):
        verify_note(parse_note(signed.serialize()), [stranger.verifier])


def forge(text: str) -> str:
    """The Tessera checkpoint with its size changed, original signature kept."""
    return text.replace("\n1\n", "\n2\n", 1)


BAD_NOTES = [
    (
        "forged size under the old signature",
        forge(TESSERA_CHECKPOINT_1),
        SignatureError,
        "does not verify",
    ),
    (
        "signature bit flipped",
        TESSERA_CHECKPOINT_1.replace("M9e0lhr9", "M9e0lhr8"),
        SignatureError,
        "does not verify",
    ),
    ("no blank line", TESSERA_CHECKPOINT_1.replace("\n\n", "\n"), NoteFormatError, "no blank line"),
    (
        "no signatures",
        TESSERA_CHECKPOINT_1.split("\u2014")[0],
        NoteFormatError,
        "no signature lines",
    ),
    ("missing final newline", TESSERA_CHECKPOINT_1[:-1], NoteFormatError, "does not end"),
    (
        "hyphen instead of em dash",
        TESSERA_CHECKPOINT_1.replace("\u2014", "-"),
        NoteFormatError,
        "does not start",
    ),
    (
        "carriage return",
        TESSERA_CHECKPOINT_1.replace("\n1\n", "\r\n1\n"),
        NoteFormatError,
        r"U\+000D",
    ),
    (
        "leading zero in size",
        TESSERA_CHECKPOINT_1.replace("\n1\n", "\n01\n"),
        NoteFormatError,
        "leading zeros",
    ),
    (
        "negative size",
        TESSERA_CHECKPOINT_1.replace("\n1\n", "\n-1\n"),
        NoteFormatError,
        "not a decimal",
    ),
    (
        "root not base64",
        TESSERA_CHECKPOINT_1.replace("0Nc2", "0Nc!"),
        NoteFormatError,
        "not standard base64",
    ),
    (
        "root of 31 bytes",
        TESSERA_CHECKPOINT_1.replace(
            "0Nc2CrefWKseHj/mStd+LqC8B+NrX0btIiPt2SmN+ek=", base64.b64encode(b"x" * 31).decode()
        ),
        NoteFormatError,
        "31 bytes",
    ),
    (
        "empty extension line",
        TESSERA_CHECKPOINT_1.replace("+ek=\n", "+ek=\n\n\n", 1),
        NoteFormatError,
        "extension lines must not be empty",
    ),
    (
        "only two body lines",
        f"{ORIGIN}\n1\n\n\u2014 x abcdefgh\n",
        NoteFormatError,
        "needs origin, size and root",
    ),
    (
        "key name with plus",
        TESSERA_CHECKPOINT_1.replace("\u2014 example.com/log/testdata", "\u2014 example+com"),
        NoteFormatError,
        "without spaces or '\\+'",
    ),
    (
        "signature too short",
        f"{ORIGIN}\n1\n{'A' * 43}=\n\n\u2014 {ORIGIN} AAAA\n",
        NoteFormatError,
        "too short",
    ),
]


@pytest.mark.parametrize(
    ("desc", "text", "error", "message"), BAD_NOTES, ids=[b[0] for b in BAD_NOTES]
)
def test_bad_checkpoints_are_refused(
    desc: str, text: str, error: type[CheckpointError], message: str
) -> None:
    with pytest.raises(error, match=message):
        open_checkpoint(text, parse_vkey(TESSERA_VKEY))


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(NoteFormatError, match="UTF-8"):
        parse_note(TESSERA_CHECKPOINT_1.encode() + b"\xff")


def test_checkpoint_body_roundtrip_with_extensions() -> None:
    checkpoint = Checkpoint("ftigate.example/ledger", 42, b"\x07" * 32, ("batch abc", "x"))
    assert parse_checkpoint_body(checkpoint.body()) == checkpoint


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("example.com/foo+530d903a", "must be <name>"),
        ("example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "hex digits"),
        ("example.com/foo+00000000+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "does not match"),
        ("example.com/foo+530d903a+" + base64.b64encode(b"\x01" + b"k" * 31).decode(), "32 bytes"),
        ("example.com/foo+530d903a+" + base64.b64encode(b"\x09" + b"k" * 32).decode(), "0x09"),
    ],
)
def test_bad_vkeys_are_refused(text: str, message: str) -> None:
    with pytest.raises(NoteFormatError, match=message):
        parse_vkey(text)


def test_sign_checkpoint_refuses_a_key_named_otherwise() -> None:
    with pytest.raises(CheckpointError, match="differs from the checkpoint origin"):
        sign_checkpoint(Checkpoint("other.example", 0, b"\x00" * 32), parse_skey(TESSERA_SKEY))


def test_cosignature_roundtrip_and_tampering() -> None:
    log = parse_skey(TESSERA_SKEY)
    witness = Signer.generate("witness.example/w1", COSIGNATURE_V1)
    assert (
        witness.key_id
        == hashlib.sha256(b"witness.example/w1\n\x04" + witness.verifier.public_key).digest()[:4]
    )
    signed = sign_checkpoint(Checkpoint(ORIGIN, 1, leaf_hash(TESSERA_LEAVES[0])), log)
    note = cosign(signed, witness, timestamp=1_679_315_147)
    reparsed = parse_note(note.serialize())
    assert verify_cosignature(reparsed, witness.verifier) == 1_679_315_147
    # The log signature still verifies beside the cosignature.
    assert open_checkpoint(note.serialize(), log.verifier).checkpoint.size == 1
    # vkey of type 0x04 round-trips.
    assert parse_vkey(witness.verifier.vkey()) == witness.verifier

    other = Signer.generate("witness.example/w1", COSIGNATURE_V1)
    with pytest.raises(SignatureError, match="no cosignature by witness"):
        verify_cosignature(reparsed, other.verifier)
    changed_time = note.serialize().replace(
        base64.b64encode(note.signatures[-1].key_id + note.signatures[-1].signature).decode(),
        base64.b64encode(
            note.signatures[-1].key_id
            + (1_679_315_148).to_bytes(8, "big")
            + note.signatures[-1].signature[8:]
        ).decode(),
    )
    with pytest.raises(SignatureError, match="does not verify"):
        verify_cosignature(parse_note(changed_time), witness.verifier)
    with pytest.raises(CheckpointError, match="0x04"):
        cosign(signed, Signer.generate("w", ED25519))
