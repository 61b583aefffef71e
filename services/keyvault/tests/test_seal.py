"""Stored-record format: context binding, per-account keys, rotation and rewrap."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from keyvault import crypto, keyring
from keyvault.crypto import Context, DecryptionError
from keyvault.keyring import Keyring, KeyVersionRetired, UnknownKeyVersion

CTX = Context(account_id="acct-42", record_id="rec-1", platform="openai", purpose="api_key")
SECRET = b"sk-test-0123456789"


def ring_from_keys(tmp_path: Path, keys: dict[int, tuple[bytes, str]], current: int) -> Keyring:
    """Build a keyring with known key bytes through the public file format."""
    doc = {
        "format": 1,
        "current": current,
        "keys": {str(v): {"key": base64.b64encode(k).decode(), "status": s} for v, (k, s) in keys.items()},
    }
    path = tmp_path / "keyring.json"
    path.write_text(json.dumps(doc))
    return keyring.load(path)


def ref_hkdf_sha256(ikm: bytes, info: bytes, length: int) -> bytes:
    """Independent RFC 5869 HKDF (no salt) from the standard library, to cross-check."""
    prk = hmac.new(b"\x00" * 32, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out, counter = out + block, counter + 1
    return out[:length]


def test_reference_hkdf_matches_rfc5869_case_3() -> None:
    okm = ref_hkdf_sha256(b"\x0b" * 22, b"", 42)
    assert okm.hex() == (
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
    )


def test_account_key_derivation() -> None:
    master = bytes(range(32))
    key = crypto.derive_account_key(master, "acct-1")
    assert len(key) == 64
    assert key == ref_hkdf_sha256(master, b"kv:v1:A256CBC-HS512:acct-1", 64)
    assert key == crypto.derive_account_key(master, "acct-1")
    assert key != crypto.derive_account_key(master, "acct-2")
    assert key != crypto.derive_account_key(bytes(32), "acct-1")
    many = {crypto.derive_account_key(master, f"acct-{i}") for i in range(1000)}
    assert len(many) == 1000


def test_round_trip() -> None:
    ring = Keyring.generate()
    for plaintext in (b"", b"x", SECRET, bytes(range(256)) * 10):
        assert crypto.unseal(ring, CTX, crypto.seal(ring, CTX, plaintext)) == plaintext


def test_record_layout_matches_spec(tmp_path: Path) -> None:
    master = bytes(range(100, 132))
    ring = ring_from_keys(tmp_path, {3: (master, "active")}, current=3)
    blob = crypto.seal(ring, CTX, SECRET)
    assert blob[:5] == b"\x01\x00\x00\x00\x03"
    assert crypto.key_version_of(blob) == 3
    # Rebuild key and AAD by hand from the documented format; the low-level layer must agree.
    aad = blob[:5] + b"".join(
        len(f.encode()).to_bytes(4, "big") + f.encode() for f in ("acct-42", "rec-1", "openai", "api_key")
    )
    key = ref_hkdf_sha256(master, b"kv:v1:A256CBC-HS512:acct-42", 64)
    assert crypto.decrypt(key, blob[5:], aad) == SECRET


def test_golden_record_still_opens(tmp_path: Path) -> None:
    # Pinned once: if this fails, records already stored in the field would stop opening.
    ring = ring_from_keys(tmp_path, {7: (bytes(range(32)), "active")}, current=7)
    golden = bytes.fromhex(
        "0100000007a0a1a2a3a4a5a6a7a8a9aaabacadaeaffabf4f1e73958a5b74177c7e08d0e38d41206cb2c3abd03ec4"
        "6b6d5627221f7e86e442cfc7a4772a132252ea9e4c9932c9f7bbcfc15d070f1b0b8e2cc8f7438d"
    )
    assert crypto.unseal(ring, CTX, golden) == SECRET
    assert crypto._seal_with_iv(ring, CTX, SECRET, bytes(range(0xA0, 0xB0))) == golden


@pytest.mark.parametrize("field", ["account_id", "record_id", "platform", "purpose"])
def test_changing_any_context_field_fails(field: str) -> None:
    ring = Keyring.generate()
    blob = crypto.seal(ring, CTX, SECRET)
    other = dataclasses.replace(CTX, **{field: getattr(CTX, field) + "x"})
    with pytest.raises(DecryptionError, match=f"^{DecryptionError.MESSAGE}$"):
        crypto.unseal(ring, other, blob)


def test_fields_cannot_bleed_into_each_other() -> None:
    # Without length prefixes ("ab","c") and ("a","bc") would give the same AAD.
    ring = Keyring.generate()
    a = Context("acct", "ab", "c", "api_key")
    blob = crypto.seal(ring, a, SECRET)
    with pytest.raises(DecryptionError):
        crypto.unseal(ring, Context("acct", "a", "bc", "api_key"), blob)


def test_blob_copied_to_another_account_fails() -> None:
    ring = Keyring.generate()
    blob_a = crypto.seal(ring, CTX, SECRET)
    with pytest.raises(DecryptionError):
        crypto.unseal(ring, dataclasses.replace(CTX, account_id="acct-43"), blob_a)


def test_every_flip_truncation_extension_of_sealed_blob() -> None:
    ring = Keyring.generate()  # holds only version 1
    blob = crypto.seal(ring, CTX, SECRET)
    messages = set()
    for i in range(len(blob)):
        for mask in (0x01, 0x80, 0xFF):
            bad = bytearray(blob)
            bad[i] ^= mask
            # Bytes 1-4 are the clear key version: the one documented distinct error.
            expected = UnknownKeyVersion if 1 <= i <= 4 else DecryptionError
            with pytest.raises(expected) as exc:
                crypto.unseal(ring, CTX, bytes(bad))
            assert type(exc.value) is expected
            if expected is DecryptionError:
                messages.add(str(exc.value))
    for n in range(len(blob)):
        with pytest.raises(DecryptionError) as exc:
            crypto.unseal(ring, CTX, blob[:n])
        messages.add(str(exc.value))
    for extra in (b"\x00", bytes(16), blob[-32:]):
        with pytest.raises(DecryptionError) as exc:
            crypto.unseal(ring, CTX, blob + extra)
        messages.add(str(exc.value))
    assert messages == {DecryptionError.MESSAGE}


def test_version_swapped_to_another_active_key_fails_tag() -> None:
    ring = Keyring.generate().rotated()  # versions 1 and 2, both active
    blob = crypto.seal(ring, CTX, SECRET)
    assert crypto.key_version_of(blob) == 2
    forged = blob[:1] + (1).to_bytes(4, "big") + blob[5:]
    with pytest.raises(DecryptionError):
        crypto.unseal(ring, CTX, forged)


def test_rotation_then_rewrap(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    ring = keyring.generate_new_file(path)
    blobs = {
        f"rec-{i}": crypto.seal(ring, dataclasses.replace(CTX, record_id=f"rec-{i}"), b"k%d" % i)
        for i in range(5)
    }
    ring = keyring.rotate(path)
    assert ring.current_version == 2
    for i, (rid, blob) in enumerate(blobs.items()):  # old records open before the rewrap job
        assert crypto.key_version_of(blob) == 1
        assert crypto.unseal(ring, dataclasses.replace(CTX, record_id=rid), blob) == b"k%d" % i
    rewrapped = {
        rid: crypto.rewrap(ring, dataclasses.replace(CTX, record_id=rid), b) for rid, b in blobs.items()
    }
    ring = keyring.retire(path, 1)
    for i, (rid, blob) in enumerate(rewrapped.items()):
        assert crypto.key_version_of(blob) == 2
        assert crypto.unseal(ring, dataclasses.replace(CTX, record_id=rid), blob) == b"k%d" % i
    # After retirement the un-rewrapped originals fail clearly, not as tampering.
    with pytest.raises(KeyVersionRetired, match="key version 1 is retired"):
        crypto.unseal(ring, CTX, blobs["rec-0"])
    with pytest.raises(KeyVersionRetired):
        crypto.rewrap(ring, CTX, blobs["rec-0"])


def test_rewrap_rechecks_context_and_refreshes_iv() -> None:
    ring = Keyring.generate()
    blob = crypto.seal(ring, CTX, SECRET)
    again = crypto.rewrap(ring, CTX, blob)
    assert again != blob and crypto.unseal(ring, CTX, again) == SECRET
    with pytest.raises(DecryptionError):
        crypto.rewrap(ring, dataclasses.replace(CTX, account_id="other"), blob)


def test_unknown_version_is_distinct() -> None:
    ring = Keyring.generate()
    blob = crypto.seal(Keyring.generate().rotated().rotated(), CTX, SECRET)  # version 3
    with pytest.raises(UnknownKeyVersion, match="unknown key version 3"):
        crypto.unseal(ring, CTX, blob)


@pytest.mark.parametrize(
    "kwargs",
    [{"account_id": ""}, {"record_id": 5}, {"platform": None}, {"purpose": "x" * 1025}],
)
def test_context_validation(kwargs: dict[str, object]) -> None:
    fields = {"account_id": "a", "record_id": "r", "platform": "p", "purpose": "api_key"} | kwargs
    with pytest.raises(ValueError):
        Context(**fields)  # type: ignore[arg-type]


def test_context_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CTX.account_id = "other"  # type: ignore[misc]
