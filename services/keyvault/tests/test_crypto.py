"""Low-level A256CBC-HS512: RFC 7518 B.3, Wycheproof cases, tamper and IV properties."""

from __future__ import annotations

import pytest
from keyvault import crypto
from keyvault.crypto import DecryptionError


def h(s: str) -> bytes:
    return bytes.fromhex("".join(s.split()))


# RFC 7518 Appendix B.3 (AES_256_CBC_HMAC_SHA_512).
B3_K = h("""
    00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f
    20 21 22 23 24 25 26 27 28 29 2a 2b 2c 2d 2e 2f 30 31 32 33 34 35 36 37 38 39 3a 3b 3c 3d 3e 3f""")
B3_P = (
    b"A cipher system must not be required to be secret, and it must be able "
    b"to fall into the hands of the enemy without inconvenience"
)
B3_IV = h("1a f3 8c 2d c2 b9 6f fd d8 66 94 09 23 41 bc 04")
B3_A = b"The second principle of Auguste Kerckhoffs"
B3_C = h("""
    4a ff aa ad b7 8c 31 c5 da 4b 1b 59 0d 10 ff bd 3d d8 d5 d3 02 42 35 26 91 2d a0 37 ec bc c7 bd
    82 2c 30 1d d6 7c 37 3b cc b5 84 ad 3e 92 79 c2 e6 d1 2a 13 74 b7 7f 07 75 53 df 82 94 10 44 6b
    36 eb d9 70 66 29 6a e6 42 7e a7 5c 2e 08 46 a1 1a 09 cc f5 37 0d c8 0b fe cb ad 28 c7 3f 09 b3
    a3 b7 5e 66 2a 25 94 41 0a e4 96 b2 e2 e6 60 9e 31 e6 e0 2c c8 37 f0 53 d2 1f 37 ff 4f 51 95 0b
    be 26 38 d0 9d d7 a4 93 09 30 80 6d 07 03 b1 f6""")
B3_T = h("4d d3 b4 c0 88 a7 f4 5c 21 68 39 64 5b 20 12 bf 2e 62 69 a8 c5 6a 81 6d bc 1b 26 77 61 95 5b c5")


def test_rfc7518_b3_encrypt() -> None:
    out = crypto._encrypt_with_iv(B3_K, B3_P, B3_A, B3_IV)
    assert out == B3_IV + B3_C + B3_T


def test_rfc7518_b3_decrypt() -> None:
    assert crypto.decrypt(B3_K, B3_IV + B3_C + B3_T, B3_A) == B3_P


# Wycheproof testvectors_v1/a256cbc_hs512_test.json: (tcId, key, iv, aad, msg, ct, tag).
_K2 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"  # noqa: E501
WYCHEPROOF_VALID = [
    (
        2,
        "1a648e0419461afc9fc7d227309f248fb9b539c7a6e37b21ce317d64c44a07e3612cb634846512deb63e45720626aa4cdf382b597cae7c69fd7b335ceca88dd9",  # noqa: E501
        "d8f31a5718cf3112d17bd5b36424a3b8",
        "",
        "",
        "9eaa9835b09deeac7dc73f5c549af661",
        "2a753f48f0b78e636a0b9f3ba0d7c25e549a609bbf37c1c757b688b7d5d4f286",
    ),
    (
        18,
        "71c9a98aed32856cab7db5a8e6ba1d48fa200e45c5cc72515ae93b99199827f9f3537c12531f9856097db917125f827434c10bdf405a1f0fe54a030653e01700",  # noqa: E501
        "0877dcdfedf7682fe7c0db39e173e049",
        "",
        "754a366c6993ba3ab1917bd5afb317ef",
        "9ea4607de92dfd9c294ff9de355198b9cb1782f68f84b71fee6065ee37136320",
        "aa617d4216237b9143acec726cbf93486d1001c4b746fdae974bc121096cd996",
    ),
    (
        53,
        "f90f62ec647ec03908e685645f05207fc8c42749dc148024709f53bb88402e7bbadf599cac88401af90277c9b0ca5677c49e635c9c918303dc0c0a686093a486",  # noqa: E501
        "a014f961eca0f1fe76654637c2d774d9",
        "99adb48b43c331ae0bead0996b026eda0ebaba6ab7dab989afc19c31d7f5f91a652064e7d138210a7688e9c3cdf9817bded4f167c9632beaa46f52b43722a5ce",  # noqa: E501
        "a7b43cf61cf9d020e90e4534e2899e96f0fdf19a",
        "81458f3795e30c1a7991437640a591e42d48c76d4ec77e1e8bf2f99b6528ea6d",
        "f9a85d65a9e8a4b6283ae5c909432524f4d68b415b359c64daa33cd8949b90f0",
    ),
    (
        64,
        _K2,
        "00000000000000000000000000000000",
        "",
        "000102030405060708090a0b0c0d0e0f10111213",
        "a00f1ede67c6f803526f2e3c4ea929bc86ef07ccd8a17fd17cdd63b57bffb1d2",
        "9f2a4c578ca28e0c8dccb4fe50b3067ef3c9409e38a34256efba6a19f4de5309",
    ),
]
# tcIds 68-93 all modify this one valid ciphertext's tag (ModifiedTag, AUTH_BYPASS).
_MT_IV, _MT_MSG = "505152535455565758595a5b5c5d5e5f", "202122232425262728292a2b2c2d2e2f"
_MT_CT = "eb1bd95e4c87a60ed850b557902d5528cd831c08e98fe900e3089461b0afaa4d"
_MT_GOOD_TAG = "732a633aeb305f7f9f768d3bbef80301ff6dac20d7319954bcaf34521b3d8058"
WYCHEPROOF_MODIFIED_TAGS = [
    (68, "722a633aeb305f7f9f768d3bbef80301ff6dac20d7319954bcaf34521b3d8058"),  # bit 0
    (72, "732a63baeb305f7f9f768d3bbef80301ff6dac20d7319954bcaf34521b3d8058"),  # bit 31
    (83, "732a633aeb305f7f9f768d3bbef80301ff6dac20d7319954bcaf34521b3d8059"),  # bit 248
    (86, "732a633aeb305f7f9f768d3bbef80301ff6dac20d7319954bcaf34521b3d80d8"),  # bit 255
    (90, "8cd59cc514cfa080608972c44107fcfe009253df28ce66ab4350cbade4c27fa7"),  # all bits
    (91, "00" * 32),
    (92, "ff" * 32),
]


@pytest.mark.parametrize(("tc", "key", "iv", "aad", "msg", "ct", "tag"), WYCHEPROOF_VALID)
def test_wycheproof_valid(tc: int, key: str, iv: str, aad: str, msg: str, ct: str, tag: str) -> None:
    assert crypto._encrypt_with_iv(h(key), h(msg), h(aad), h(iv)) == h(iv + ct + tag), tc
    assert crypto.decrypt(h(key), h(iv + ct + tag), h(aad)) == h(msg), tc


def test_wycheproof_modified_tag_base_is_valid() -> None:
    data = h(_MT_IV + _MT_CT + _MT_GOOD_TAG)
    assert crypto._encrypt_with_iv(h(_K2), h(_MT_MSG), b"", h(_MT_IV)) == data
    assert crypto.decrypt(h(_K2), data) == h(_MT_MSG)


@pytest.mark.parametrize(("tc", "tag"), WYCHEPROOF_MODIFIED_TAGS)
def test_wycheproof_modified_tag_rejected(tc: int, tag: str) -> None:
    with pytest.raises(DecryptionError) as exc:
        crypto.decrypt(h(_K2), h(_MT_IV + _MT_CT + tag))
    assert str(exc.value) == DecryptionError.MESSAGE, tc


def _forge_bad_padding(last_byte: int) -> tuple[bytes, bytes]:
    """A ciphertext whose tag is valid but whose PKCS#7 padding is not.

    Bit-flips the block before the padding block (classic CBC malleability), then
    recomputes the tag with the MAC key, as only a key holder could.
    """
    key, aad = bytes(range(64)), b"aad"
    data = bytearray(crypto.encrypt(key, b"0123456789abcdef", aad))  # 2nd block is all 0x10
    data[16 + 15] ^= 0x10 ^ last_byte
    iv, ct = bytes(data[:16]), bytes(data[16:-32])
    return key, iv + ct + crypto._compute_tag(key[:32], aad, iv, ct)


@pytest.mark.parametrize("last_byte", [0x00, 0x11, 0xFF])
def test_bad_padding_with_valid_tag_gives_same_error(last_byte: int) -> None:
    key, forged = _forge_bad_padding(last_byte)
    with pytest.raises(DecryptionError) as padding_exc:
        crypto.decrypt(key, forged, b"aad")
    tampered = forged[:-1] + bytes([forged[-1] ^ 1])
    with pytest.raises(DecryptionError) as tag_exc:
        crypto.decrypt(key, tampered, b"aad")
    assert str(padding_exc.value) == str(tag_exc.value) == DecryptionError.MESSAGE
    assert type(padding_exc.value) is type(tag_exc.value) is DecryptionError
    # No chained ValueError from the padding layer to leak in a traceback.
    assert padding_exc.value.__cause__ is None and padding_exc.value.__suppress_context__


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 31, 32, 33, 1000])
def test_round_trip_sizes(size: int) -> None:
    key, msg = bytes(range(64, 128)), bytes(range(256)) * 4
    data = crypto.encrypt(key, msg[:size], b"ctx")
    assert len(data) == 16 + (size // 16 + 1) * 16 + 32
    assert crypto.decrypt(key, data, b"ctx") == msg[:size]


def _assert_opaque(key: bytes, data: bytes, aad: bytes) -> None:
    with pytest.raises(DecryptionError) as exc:
        crypto.decrypt(key, data, aad)
    assert str(exc.value) == DecryptionError.MESSAGE
    assert exc.value.args == (DecryptionError.MESSAGE,)


def test_every_byte_flip_truncation_and_extension_is_opaque() -> None:
    key, aad = bytes(range(64)), b"account"
    data = crypto.encrypt(key, b"sk-live-abcdefghijklmnop", aad)
    for i in range(len(data)):
        for mask in (0x01, 0x80, 0xFF):
            flipped = bytearray(data)
            flipped[i] ^= mask
            _assert_opaque(key, bytes(flipped), aad)
    for n in range(len(data)):
        _assert_opaque(key, data[:n], aad)
    for extra in (b"\x00", b"\x10" * 16, data[-32:], bytes(48)):
        _assert_opaque(key, data + extra, aad)


def test_wrong_aad_or_key_is_opaque() -> None:
    key, data = bytes(range(64)), crypto.encrypt(bytes(range(64)), b"secret", b"A")
    _assert_opaque(key, data, b"B")
    _assert_opaque(key, data, b"")
    _assert_opaque(bytes(64), data, b"A")


def test_no_iv_repeats_in_100k_encryptions() -> None:
    key = bytes(range(64))
    ivs = {crypto.encrypt(key, b"k")[:16] for _ in range(100_000)}
    assert len(ivs) == 100_000


def test_same_plaintext_encrypts_differently() -> None:
    key = bytes(range(64))
    assert crypto.encrypt(key, b"same", b"") != crypto.encrypt(key, b"same", b"")


def test_bad_key_or_iv_length_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        crypto.encrypt(bytes(32), b"x")
    with pytest.raises(ValueError):
        crypto._encrypt_with_iv(bytes(64), b"x", b"", bytes(12))
