"""Block discovery (translator/decoder.py) against capstone, the independent decoder.

The decoder ends blocks where the decode table says so and no longer asks capstone per word;
that is only sound while every word the table decodes and capstone classifies as a branch,
call, return or interrupt is also a block end in the table.  Checked here on every word of
the AArch64 glibc the cross toolchain ships (a real mix of compiler output and hand-written
assembly: ~280,000 decoded words)."""
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from translator import decoder, patterns, isa  # noqa: F401  (isa fills the decode table)

LIBC = Path("/usr/aarch64-linux-gnu/lib/libc.so.6")


def _text_words(path):
    with open(path, "rb") as f:
        data = ELFFile(f).get_section_by_name(".text").data()
    return [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data) - 3, 4)]


def test_table_block_ends_cover_capstones_branch_groups(aarch64_cc):
    if not LIBC.exists():
        pytest.fail(f"{LIBC} is missing (package libc6-arm64-cross, installed by .ci/setup)",
                    pytrace=False)
    words = _text_words(LIBC)
    decoded = 0
    for w in set(words):
        pat, _ = patterns.decode(w)
        if pat is None:
            continue
        decoded += 1
        _, _, ends = decoder.capstone_ends(w)
        if ends and not pat.ends_block:
            assert False, f"{w:#010x} ({pat.name}): capstone ends a block here, the table does not"
    assert decoded > 50000, f"only {decoded} distinct words decoded: is {LIBC} AArch64 code?"


def test_block_stops_at_the_first_branch_and_at_undecodable_words():
    # add x0, x0, #1; b .+8; nop   -> the block is the add and the b
    words = {0x1000: 0x91000400, 0x1004: 0x14000002, 0x1008: 0xD503201F}
    block = decoder.decode_block(words.get, 0x1000)
    assert [i.addr for i in block] == [0x1000, 0x1004]
    assert block[1].pattern.ends_block and block[1].text().startswith("b")
    # a word the table does not decode (an SVE add: SVE is not advertised) ends the block
    # and is its last instruction; capstone still names it for the SIGILL diagnostic
    words = {0x2000: 0xD503201F, 0x2004: 0x04000000, 0x2008: 0xD503201F}
    block = decoder.decode_block(words.get, 0x2000)
    assert [i.addr for i in block] == [0x2000, 0x2004] and block[1].pattern is None
    assert block[1].text() == "add z0.b, p0/m, z0.b, z0.b"
    # the end of executable memory ends it too
    assert [i.addr for i in decoder.decode_block({0x3000: 0xD503201F}.get, 0x3000)] == [0x3000]
