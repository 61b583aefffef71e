"""A256CBC-HS512 (RFC 7518 §5.2) and the keyvault stored-record format.

The only module that touches AES/HMAC primitives and derived key material.

Low level (RFC 7518 §5.2.2): K is 64 bytes, MAC_KEY = K[0:32], ENC_KEY = K[32:64];
C = AES-256-CBC(ENC_KEY, IV, PKCS#7(P)) with a fresh random 16-byte IV;
T = HMAC-SHA-512(MAC_KEY, A ‖ IV ‖ C ‖ AL)[0:32], AL = bit length of A as 64-bit BE.
`encrypt` returns IV ‖ C ‖ T.

Stored record:  0x01 ‖ key_version (4 B BE) ‖ IV ‖ C ‖ T
AAD:            0x01 ‖ key_version ‖ lp(account_id) ‖ lp(record_id) ‖ lp(platform) ‖ lp(purpose)
                lp(s) = len(utf8(s)) as 4 B BE ‖ utf8(s)
The header is inside the AAD, so it is authenticated (unlike Tink's key-id prefix),
and a blob moved to another account/record/platform/purpose or version fails.
Per-account data key: HKDF-SHA256(master[key_version], info=b"kv:v1:A256CBC-HS512:" + account_id).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, fields
from hmac import compare_digest

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from keyvault.keyring import Keyring

KEY_LEN = 64
IV_LEN = 16
TAG_LEN = 32
_BLOCK = 16
FORMAT_VERSION = 0x01
HEADER_LEN = 5
_HKDF_INFO_PREFIX = b"kv:v1:A256CBC-HS512:"
_MAX_FIELD_BYTES = 1024


class DecryptionError(Exception):
    """The one opaque error for any bad ciphertext or wrong context.

    It never says which check failed (length, tag, padding): distinct errors would
    be a padding/format oracle. The message is fixed and there is no cause chain.
    """

    MESSAGE = "decryption failed"

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


@dataclass(frozen=True, slots=True)
class Context:
    """What a record is bound to (the AAD). Not secret, like a KMS encryption context."""

    account_id: str
    record_id: str
    platform: str
    purpose: str

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"context.{f.name} must be a non-empty string")
            if len(value.encode("utf-8")) > _MAX_FIELD_BYTES:
                raise ValueError(f"context.{f.name} is longer than {_MAX_FIELD_BYTES} bytes")


# --- low level: A256CBC-HS512 -------------------------------------------------


def _split_key(key: bytes) -> tuple[bytes, bytes]:
    if len(key) != KEY_LEN:
        raise ValueError(f"A256CBC-HS512 key must be {KEY_LEN} bytes")
    return key[:32], key[32:]


def _compute_tag(mac_key: bytes, aad: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    h = crypto_hmac.HMAC(mac_key, hashes.SHA512())
    for part in (aad, iv, ciphertext, struct.pack(">Q", len(aad) * 8)):
        h.update(part)
    return h.finalize()[:TAG_LEN]


def encrypt(key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """A256CBC-HS512 encrypt with a fresh random IV; returns IV ‖ C ‖ T."""
    return _encrypt_with_iv(key, plaintext, aad, os.urandom(IV_LEN))


def _encrypt_with_iv(key: bytes, plaintext: bytes, aad: bytes, iv: bytes) -> bytes:
    # Fernet-style seam so tests can pin the IV without monkeypatching.
    # Production code must go through encrypt(): a reused IV leaks plaintext equality.
    mac_key, enc_key = _split_key(key)
    if len(iv) != IV_LEN:
        raise ValueError(f"IV must be {IV_LEN} bytes")
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    return iv + ciphertext + _compute_tag(mac_key, aad, iv, ciphertext)


def decrypt(key: bytes, data: bytes, aad: bytes = b"") -> bytes:
    """Inverse of encrypt(). Any failure raises DecryptionError, always the same one."""
    mac_key, enc_key = _split_key(key)
    data = bytes(data)
    ct_len = len(data) - IV_LEN - TAG_LEN
    if ct_len < _BLOCK or ct_len % _BLOCK:
        raise DecryptionError()
    iv, ciphertext, tag = data[:IV_LEN], data[IV_LEN:-TAG_LEN], data[-TAG_LEN:]
    # Encrypt-then-MAC: verify in constant time before touching CBC or padding.
    if not compare_digest(_compute_tag(mac_key, aad, iv, ciphertext), tag):
        raise DecryptionError()
    try:
        decryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        # Only reachable with a valid tag (i.e. a key holder built it); still opaque.
        raise DecryptionError() from None


# --- keys and the stored-record format ---------------------------------------


def derive_account_key(master_key: bytes, account_id: str) -> bytes:
    """64-byte per-account A256CBC-HS512 key (a tenant key, like Vault's `derived`)."""
    if len(master_key) != 32:
        raise ValueError("master key must be 32 bytes")
    # No salt: the master key is already uniformly random (RFC 5869 §3.1).
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_LEN,
        salt=None,
        info=_HKDF_INFO_PREFIX + account_id.encode("utf-8"),
    )
    return hkdf.derive(master_key)


def _header(key_version: int) -> bytes:
    return bytes([FORMAT_VERSION]) + key_version.to_bytes(4, "big")


def _aad(header: bytes, context: Context) -> bytes:
    parts = [header]
    for value in (context.account_id, context.record_id, context.platform, context.purpose):
        raw = value.encode("utf-8")
        parts.append(struct.pack(">I", len(raw)) + raw)  # length prefix: no field can bleed into the next
    return b"".join(parts)


def key_version_of(blob: bytes) -> int:
    """Key version in a record's clear header (rewrap jobs select on it).

    Raises DecryptionError if the blob is not even shaped like a record.
    """
    body_len = len(blob) - HEADER_LEN - IV_LEN - TAG_LEN
    if body_len < _BLOCK or body_len % _BLOCK or blob[0] != FORMAT_VERSION:
        raise DecryptionError()
    return int.from_bytes(blob[1:HEADER_LEN], "big")


def seal(keyring: Keyring, context: Context, plaintext: bytes) -> bytes:
    """Encrypt `plaintext` for `context` under the keyring's current version."""
    return _seal_with_iv(keyring, context, plaintext, os.urandom(IV_LEN))


def _seal_with_iv(keyring: Keyring, context: Context, plaintext: bytes, iv: bytes) -> bytes:
    version = keyring.current_version
    header = _header(version)
    key = derive_account_key(keyring.master_key(version), context.account_id)
    return header + _encrypt_with_iv(key, plaintext, _aad(header, context), iv)


def unseal(keyring: Keyring, context: Context, blob: bytes) -> bytes:
    """Decrypt a record sealed for exactly this `context`.

    Raises DecryptionError for anything wrong with the blob or context, and
    keyring.UnknownKeyVersion / keyring.KeyVersionRetired for the key version.
    The version errors are the only distinct ones, and they leak nothing: the
    version is in the clear header anyway. A tampered version that happens to
    name another usable key still fails the tag, because the header is in the AAD.
    """
    blob = bytes(blob)
    version = key_version_of(blob)
    key = derive_account_key(keyring.master_key(version), context.account_id)
    return decrypt(key, blob[HEADER_LEN:], _aad(blob[:HEADER_LEN], context))


def rewrap(keyring: Keyring, context: Context, blob: bytes) -> bytes:
    """Re-encrypt a record under the current version (fresh IV), like Vault's rewrap.

    The plaintext never leaves this function. Always re-encrypts, even if the
    blob is already current; callers select stale records with key_version_of().
    """
    return seal(keyring, context, unseal(keyring, context, blob))
