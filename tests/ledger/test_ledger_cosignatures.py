"""Listing a checkpoint's witness cosignatures (`ledger.checkpoint.cosignatures`) and
finding the cosigned copies kept in a folder (`ledger.witness.cosigned_checkpoints`): what
the service's ledger page shows."""

from __future__ import annotations

from pathlib import Path

from ftigate.ledger.checkpoint import (
    COSIGNATURE_V1,
    Checkpoint,
    Note,
    NoteSignature,
    SignedCheckpoint,
    Signer,
    cosign,
    cosignatures,
    parse_checkpoint_body,
    sign_checkpoint,
)
from ftigate.ledger.witness import cosigned_checkpoints

ORIGIN = "ftigate.test/cosignatures"
WHEN = 1_790_000_000


def _signed(size: int, log: Signer) -> Note:
    return sign_checkpoint(Checkpoint(ORIGIN, size, bytes([size]) * 32), log).note


def test_the_log_signature_is_not_a_cosignature_and_each_witness_is_listed_with_its_time() -> None:
    log = Signer.generate(ORIGIN)
    w1, w2 = (Signer.generate(f"witness.example/w{i}", COSIGNATURE_V1) for i in (1, 2))
    note = _signed(5, log)
    signed = SignedCheckpoint(parse_checkpoint_body(note.text), note)
    one = cosign(signed, w1, timestamp=WHEN)
    both = cosign(SignedCheckpoint(signed.checkpoint, one), w2, timestamp=WHEN + 60)
    # A line of another shape is listed, never trusted, and has no time.
    odd = Note(
        both.text, (*both.signatures, NoteSignature("someone.example/x", b"\x01\x02\x03\x04", b"x" * 64))
    )

    listed = cosignatures(odd, log.verifier)
    assert [(c.name, c.key_id, c.timestamp, c.verified) for c in listed] == [
        ("witness.example/w1", w1.key_id.hex(), WHEN, None),
        ("witness.example/w2", w2.key_id.hex(), WHEN + 60, None),
        ("someone.example/x", "01020304", None, None),
    ]
    checked = cosignatures(odd, log.verifier, (w1.verifier,))
    assert [c.verified for c in checked] == [True, None, None]
    # The same name and key id over another time does not verify.
    forged = Note(
        both.text,
        tuple(
            NoteSignature(s.name, s.key_id, (WHEN + 1).to_bytes(8, "big") + s.signature[8:])
            if s.name == w1.name
            else s
            for s in both.signatures
        ),
    )
    assert [c.verified for c in cosignatures(forged, log.verifier, (w1.verifier,))] == [False, None]


def test_kept_cosigned_checkpoints_are_this_logs_largest_first(tmp_path: Path) -> None:
    log, other_log = Signer.generate(ORIGIN), Signer.generate("ftigate.test/another")
    witness = Signer.generate("witness.example/w1", COSIGNATURE_V1)
    for size in (3, 9, 4):
        note = _signed(size, log)
        cosigned = cosign(SignedCheckpoint(parse_checkpoint_body(note.text), note), witness, timestamp=WHEN)
        (tmp_path / f"head-{size}.cosigned").write_text(cosigned.serialize())
    (tmp_path / "another-log.cosigned").write_text(
        sign_checkpoint(Checkpoint("ftigate.test/another", 50, b"\x07" * 32), other_log).serialize()
    )
    (tmp_path / "notes.txt").write_text("not a checkpoint\n")
    (tmp_path / "sub").mkdir()
    found = cosigned_checkpoints(tmp_path, log.verifier)
    assert [c.checkpoint.size for c in found] == [9, 4, 3]
    assert cosigned_checkpoints(tmp_path / "missing", log.verifier) == []
