"""Cryptographic extension (translator/isa/crypto.py) against Unicorn.

keystone 0.9.2 cannot assemble the crypto instructions, so the snippets
are assembled with `aarch64-linux-gnu-as -march=armv8.4-a+crypto+...`
(`gas` below, cached per text); Unicorn runs them with the MAX cpu model.
Each form runs from random V registers (random bits, some registers equal
to their neighbour), and both code shapes are checked: the host-instruction
form (AES-NI, PCLMULQDQ) when this host has it, and the portable IR form
(S-box tables, xtime, shift/xor carry-less multiply) forced by clearing
crypto.HOST_AES / HOST_PCLMUL.

Unicorn agreed with the ARM pseudocode on every case here; the AES,
SHA-1 and SHA-256 results are further checked end to end by the
tests/fixtures/fpsimd_crypto.c fixture (FIPS-197 and FIPS-180 vectors
through arm_neon.h intrinsics) against qemu-aarch64.
"""
import functools
import os
import subprocess
import tempfile

import pytest

from tests.fpvals import CASES, check_flags, int_hook
from translator.isa import crypto

MARCH = "armv8.4-a+crypto+sha3+dotprod+rcpc+fp16"
N = max(40, CASES)          # states per form (EMU_FUZZ_CASES deepens it)


@functools.lru_cache(maxsize=None)
def _gas(text, march):
    with tempfile.TemporaryDirectory() as d:
        s, o = os.path.join(d, "a.s"), os.path.join(d, "a.o")
        with open(s, "w") as f:
            f.write(text.replace(";", "\n") + "\n")
        p = subprocess.run(["aarch64-linux-gnu-as", f"-march={march}", "-o", o, s],
                           capture_output=True, text=True)
        assert p.returncode == 0, f"aarch64-linux-gnu-as failed for {text!r}: {p.stderr}"
        raw = subprocess.run(["aarch64-linux-gnu-objcopy", "-O", "binary", "-j", ".text", o,
                              "/dev/stdout"], capture_output=True, check=True).stdout
    return tuple(int.from_bytes(raw[i:i + 4], "little") for i in range(0, len(raw), 4))


def gas(text, march=MARCH):
    """Assemble `text` (';'-separated) with binutils -> list of words."""
    return list(_gas(text, march))


CRYPTO = [
    ("aese", "aese v0.16b, v1.16b; aese v2.16b, v2.16b"),
    ("aesd", "aesd v0.16b, v1.16b; aesd v3.16b, v4.16b"),
    ("aesmc", "aesmc v0.16b, v1.16b; aesmc v2.16b, v2.16b"),
    ("aesimc", "aesimc v0.16b, v1.16b; aesimc v3.16b, v3.16b"),
    ("aes_round", "aese v0.16b, v1.16b; aesmc v0.16b, v0.16b; aesd v2.16b, v1.16b; aesimc v2.16b, v2.16b"),
    ("pmull_1q", "pmull v0.1q, v1.1d, v2.1d; pmull2 v3.1q, v4.2d, v5.2d; pmull v6.1q, v6.1d, v6.1d"),
    ("sha1c", "sha1c q0, s1, v2.4s; sha1c q3, s3, v3.4s"),
    ("sha1p", "sha1p q0, s1, v2.4s"),
    ("sha1m", "sha1m q0, s1, v2.4s; sha1m q4, s5, v4.4s"),
    ("sha1h", "sha1h s0, s1; sha1h s2, s2"),
    ("sha1su0", "sha1su0 v0.4s, v1.4s, v2.4s; sha1su0 v3.4s, v3.4s, v4.4s"),
    ("sha1su1", "sha1su1 v0.4s, v1.4s; sha1su1 v2.4s, v2.4s"),
    ("sha256h", "sha256h q0, q1, v2.4s; sha256h q3, q3, v4.4s"),
    ("sha256h2", "sha256h2 q0, q1, v2.4s; sha256h2 q3, q4, v3.4s"),
    ("sha256su0", "sha256su0 v0.4s, v1.4s; sha256su0 v2.4s, v2.4s"),
    ("sha256su1", "sha256su1 v0.4s, v1.4s, v2.4s; sha256su1 v3.4s, v4.4s, v3.4s"),
    ("sha512h", "sha512h q0, q1, v2.2d; sha512h q3, q3, v4.2d"),
    ("sha512h2", "sha512h2 q0, q1, v2.2d; sha512h2 q3, q4, v3.2d"),
    ("sha512su0", "sha512su0 v0.2d, v1.2d; sha512su0 v2.2d, v2.2d"),
    ("sha512su1", "sha512su1 v0.2d, v1.2d, v2.2d; sha512su1 v3.2d, v3.2d, v4.2d"),
    ("rax1", "rax1 v0.2d, v1.2d, v2.2d; rax1 v3.2d, v3.2d, v3.2d"),
    ("eor3_bcax", "eor3 v0.16b, v1.16b, v2.16b, v3.16b; bcax v4.16b, v5.16b, v6.16b, v7.16b; "
                  "bcax v8.16b, v8.16b, v8.16b, v9.16b"),
    ("xar", "xar v0.2d, v1.2d, v2.2d, #0; xar v3.2d, v4.2d, v5.2d, #63; xar v6.2d, v7.2d, v8.2d, #17"),
]


@pytest.mark.parametrize("name,text", CRYPTO, ids=[c[0] for c in CRYPTO])
def test_crypto(name, text):
    check_flags(gas(text), int_hook, cases=N)


PORTABLE = [
    ("aes_portable", "aese v10.16b, v11.16b; aesmc v12.16b, v10.16b; aesd v13.16b, v14.16b; "
                     "aesimc v15.16b, v13.16b"),
    ("pmull_portable", "pmull v10.1q, v11.1d, v12.1d; pmull2 v13.1q, v14.2d, v15.2d"),
]


@pytest.mark.parametrize("name,text", PORTABLE, ids=[c[0] for c in PORTABLE])
def test_portable_forms(name, text, monkeypatch):
    """The IR forms used on hosts without AES-NI / PCLMULQDQ.  (Distinct
    code from test_crypto, so no compiled region is reused.)"""
    monkeypatch.setattr(crypto, "HOST_AES", False)
    monkeypatch.setattr(crypto, "HOST_PCLMUL", False)
    check_flags(gas(text), int_hook, cases=N)


def test_sbox_tables():
    """The S-box derived in crypto.py is FIPS-197's (spot values, and a
    permutation whose inverse is the inverse table)."""
    assert crypto.SBOX[:4] == [0x63, 0x7C, 0x77, 0x7B] and crypto.SBOX[0xFF] == 0x16
    assert sorted(crypto.SBOX) == list(range(256))
    assert all(crypto.INV_SBOX[crypto.SBOX[i]] == i for i in range(256))


@pytest.mark.parametrize("word,what", [
    (0x4E684800, "AESE with size != 00 is unallocated"),
    (0x5E007000, "three-register SHA opcode 111 is unallocated"),
    (0x5E283800, "two-register SHA opcode 00011 is unallocated"),  # 0x5E281800 is SHA1SU1
    (0xCE60C000, "SM3PARTW1 (FEAT_SM3) is not implemented: SIGILL, HWCAP_SM3 clear"),
    (0xCEC08400, "SM4E (FEAT_SM4) is not implemented: SIGILL, HWCAP_SM4 clear"),
])
def test_unallocated_or_unadvertised(word, what):
    """Both engines must fail on the unallocated ones; Unicorn MAX
    implements SM3/SM4, so those are checked to be undefined on our side
    only (tests/test_hwcaps.py runs them as guest code too)."""
    if word in (0xCE60C000, 0xCEC08400):
        from translator import patterns
        assert patterns.decode(word)[0] is None, what
        return
    check_flags([word], cases=2, expect="undef")
