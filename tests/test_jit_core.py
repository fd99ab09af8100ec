"""The executor itself: native chaining, self-modifying code, undefined
instructions, exits.  Final states are compared with Unicorn."""
import random

from emu.cpustate import ExitReason
from emu.snippet import run_snippet, CODE_BASE
from unicorn_rig import asm, random_state, run_unicorn, compare


LOOP = """
        movz x0, #2000
        movz x1, #0
    top:
        add x1, x1, #3
        b mid
    mid:
        sub x0, x0, #1
        cbnz x0, top
    """


def test_blocks_in_one_region_branch_directly():
    # Two blocks jumping to each other 2000 times inside one region: the
    # dispatcher is entered a handful of times, not once per block.
    r = run_snippet(asm(LOOP), batch=True)
    assert r.reason == ExitReason.BRK
    assert r.cpu.x[1] == 6000
    assert r.cpu.n_lookups < 10, r.cpu.n_lookups


def test_separate_regions_chain_through_link_slots():
    # One block per region: after the first pass the link slots carry the
    # 4000 block transitions; the dispatcher patched each slot once.
    r = run_snippet(asm(LOOP), batch=False)
    assert r.reason == ExitReason.BRK
    assert r.cpu.x[1] == 6000
    assert r.cpu.n_links >= 3, r.cpu.n_links
    assert r.cpu.n_lookups < 10, r.cpu.n_lookups


def test_loop_result_matches_unicorn():
    text = """
        movz x0, #300
    top:
        add x1, x1, x0
        eor x2, x2, x1, lsl #3
        subs x0, x0, #1
        b.ne top
    """
    words = asm(text)
    rng = random.Random(5)
    for _ in range(5):
        st = random_state(rng)
        assert compare(words, st) == []


def test_undefined_instruction_exits_with_word_and_pc():
    words = asm("movz x0, #1") + [0x00000000]   # UDF #0
    r = run_snippet(words)
    assert r.reason == ExitReason.UNDEF
    assert r.info == 0
    assert r.cpu.pc == CODE_BASE + 4
    assert r.cpu.x[0] == 1          # the instruction before it completed


def test_unallocated_encoding_is_undef():
    r = run_snippet([0xFFFFFFFF])
    assert r.reason == ExitReason.UNDEF
    assert r.info == 0xFFFFFFFF and r.cpu.pc == CODE_BASE


def test_self_modifying_code_runs_the_new_instruction():
    # Run `movz x0,#1` once, then overwrite it with `movz x0,#2` and run it
    # again: the stale translation must not be used (Unicorn agrees).
    new = asm("movz x0, #2")[0]
    text = f"""
        movz x3, #2
        adr x4, patch
    again:
    patch:
        movz x0, #1
        add x5, x5, x0
        movz w6, #{new & 0xFFFF}
        movk w6, #{new >> 16}, lsl #16
        str w6, [x4]
        sub x3, x3, #1
        cbnz x3, again
    """
    words = asm(text)
    r = run_snippet(words, code_writable=True, regs={5: 0})
    assert r.reason == ExitReason.BRK, (r.reason, hex(r.info))
    st = random_state(random.Random(1))
    st["regs"][5] = 0
    u = run_unicorn(words, st)
    assert u["error"] is None
    assert u["x"][5] == 3 == r.cpu.x[5]
    assert u["x"][0] == 2 == r.cpu.x[0]
