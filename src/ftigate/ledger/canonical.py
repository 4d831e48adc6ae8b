"""RFC 8785 (JCS) canonical JSON for ledger entries.

The ``rfc8785`` package is the reference. It costs about 15 microseconds for a
typical entry, which alone would cap appends near 60,000 events/s, so entries
that fall in a subset where the standard library's encoder provably emits the
same bytes take a fast path:

- object keys are ASCII (JCS sorts keys by UTF-16 code units; for ASCII that
  is the code point order ``sort_keys`` uses);
- values are str, bool, None, lists, dicts and integers within +-(2**53 - 1)
  (JCS writes numbers as ECMAScript doubles; exact in that range, and
  ``rfc8785`` refuses larger ones);
- strings contain no lone surrogates (not valid UTF-8).

Python's ``json`` escapes exactly what JCS escapes in that subset: ``"``,
``\\``, the short forms ``\\b \\f \\n \\r \\t`` and other controls below
U+0020 as lower-case ``\\u00xx``, and writes everything else literally with
``ensure_ascii=False``. Anything outside the subset (floats, huge integers,
non-ASCII keys) goes through ``rfc8785``. A property test checks the two agree.
"""

from __future__ import annotations

import json
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

import rfc8785

_MAX_SAFE_INTEGER = 2**53 - 1
_encoder = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)
_c_encoder = (
    None
    if c_make_encoder is None
    else c_make_encoder(None, _encoder.default, encode_basestring, None, ":", ",", True, False, False)
)
"""The C encoder ``_encoder.encode`` builds anew on every call, built once (a fifth of the
cost of writing a ledger entry); no circular-reference markers, so calls from several
threads share it safely (an entry is a tree of fields, never circular)."""


def _encode(value: Any) -> str:
    if _c_encoder is None:  # an interpreter without the C accelerator
        return _encoder.encode(value)
    return "".join(_c_encoder(value, 0))


_SCALARS = frozenset({str, bool, type(None)})


def _fast_path_ok(value: Any) -> bool:
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is int:
        return -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER
    if kind is list or kind is tuple:
        return all(type(item) is str or _fast_path_ok(item) for item in value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                return False
            if type(item) not in _SCALARS and not _fast_path_ok(item):
                return False
        return True
    return False


def _entry_fast_path_ok(entry: dict[str, Any]) -> bool:
    """Top level of an entry: field names are ASCII identifiers; most values are str.
    A key is checked before its value is let through: a non-ASCII key with a scalar value
    once took the fast path, sorted by code point where JCS sorts by UTF-16 code units
    (U+10000 before U+E000)."""
    for key, item in entry.items():
        if type(key) is not str or not key.isascii():
            return False
        if type(item) in _SCALARS or (type(item) is tuple and not item):
            continue
        if not _fast_path_ok(item):
            return False
    return True


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of a JSON-compatible value."""
    fast = _entry_fast_path_ok(value) if type(value) is dict else _fast_path_ok(value)
    if fast:
        try:
            return _encode(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: let the reference implementation refuse it
    return rfc8785.dumps(value)


def encode_in_jcs_subset(value: Any) -> bytes:
    """The fast encoder alone, for callers that validated the subset themselves."""
    return _encode(value).encode("utf-8")


def reference_canonical_json(value: Any) -> bytes:
    """The ``rfc8785`` package's output, for tests and for verifiers who prefer it."""
    return rfc8785.dumps(value)


class _OutsideSubset(ValueError):
    """A decoded value the fast encoder may not write as RFC 8785 does (a float, an
    integer beyond 2**53, NaN or an infinity)."""


def _safe_int(text: str) -> int:
    value = int(text)
    if -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
        return value
    raise _OutsideSubset


def _outside(_text: str) -> Any:
    raise _OutsideSubset


_subset_decoder = json.JSONDecoder(parse_float=_outside, parse_int=_safe_int, parse_constant=_outside)


def decode_canonical(data: bytes) -> tuple[Any, bool]:
    """The JSON value ``data`` holds and whether ``data`` is its RFC 8785 form, for a
    verifier that decodes every stored entry anyway. Raises ``ValueError`` as
    ``json.loads`` does.

    ASCII text decoded without floats, large integers or NaN holds only values of the
    fast path's subset (its keys are ASCII), so the value is re-encoded without walking
    it first (:func:`canonical_json` walks it, a third of the cost of checking a leaf);
    anything else takes :func:`canonical_json` itself. The answer is the same either way
    (a test checks both paths). A value RFC 8785 cannot write is not canonical."""
    if data.isascii():
        try:
            value = _subset_decoder.decode(data.decode("ascii"))
        except _OutsideSubset:
            pass
        else:
            try:
                return value, _encode(value).encode("utf-8") == data
            except UnicodeEncodeError:
                pass  # an escaped lone surrogate: the reference implementation decides
    value = json.loads(data)
    try:
        return value, canonical_json(value) == data
    except rfc8785.CanonicalizationError:  # no RFC 8785 form (an integer beyond 2**53, NaN)
        return value, False
