"""Interesting floating-point bit patterns and the differential check of the
FP/AdvSIMD tests (shared by test_isa_fp.py, test_isa_simd.py and others).

`check_flags` compares everything the rig's `check` does, the whole FPSR
included (IOC DZC OFC UFC IXC IDC QC; fpsr_mask narrows it, the default is
all of it), with no tolerance.  V registers are
compared exactly (FZ flushes a result that is tiny before rounding even
when it rounds up to MinNormal, as ARM does).  `check_qemu` is the same
check with qemu-aarch64 7.2 as the oracle.

States: CASES per check (EMU_FUZZ_CASES, default 300).  The hooks first sweep
the edge values through every lane of every register (FP: signalling and quiet
NaNs with payloads, infinities, denormals, +-0, min/max normal, values near
overflow and around integer limits; integer: 0, 1, 2, -1, -2, MIN, MAX, MIN+1
and shift counts of each lane width), then draw registers from banks of random
lanes made once per process (mixing edges with random values).
"""
import random
import struct

from tests.unicorn_rig import asm, random_state, run_jit, termination, CASES  # noqa: F401
from tests.unicorn_rig import FPSR_ALL
from tests.unicorn_rig import run_unicorn  # noqa: F401  (kept for importers; calls go through the module)
from tests import unicorn_rig

IOC, DZC, OFC, UFC, IXC, IDC, QC = 1, 2, 4, 8, 16, 128, 1 << 27
DN, FZ = 1 << 25, 1 << 24


def _d(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def _s(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


EDGE = {
    64: [0, 1 << 63, _d(1.0), _d(-1.0), _d(0.5), _d(-0.5), _d(1.5), _d(2.5), _d(-2.5), _d(3.5),
         0x7FF0000000000000, 0xFFF0000000000000,                       # +-inf
         0x7FF8000000000000, 0xFFF8000000000000, 0x7FF80000DEADBEEF,   # qNaN (payloads)
         0x7FF0000000000001, 0xFFF4000000000000, 0x7FF00000000ABCDE,   # sNaN
         1, 0x000FFFFFFFFFFFFF, 0x8000000000000001, 0x0008000000000000,  # denormals
         0x0010000000000000, 0x8010000000000000, 0x7FEFFFFFFFFFFFFF,    # min/max normal
         _d(2.0 ** 31), _d(-2.0 ** 31), _d(2.0 ** 31 - 0.5), _d(-2.0 ** 31 - 1), _d(2.0 ** 32),
         _d(2.0 ** 63), _d(-2.0 ** 63), _d(2.0 ** 64), _d(4294967295.5), _d(1e300), _d(-1e-300),
         _d(65504.0), _d(65520.0), _d(2.0 ** -24), _d(2.0 ** -25), _d(3 * 2.0 ** -26),
         _d(2.0 ** -14), _d(6.1e-5), _d(0.1), _d(1.0 / 3),
         0x7FEFFFFFFFFFFFFE, 0xFFEFFFFFFFFFFFFF, 0x7FE0000000000000,     # near overflow
         0x7FF7FFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0x800FFFFFFFFFFFFF],   # max payloads, -max denormal
    32: [0, 1 << 31, _s(1.0), _s(-1.0), _s(0.5), _s(-0.5), _s(1.5), _s(2.5), _s(-2.5), _s(3.5),
         0x7F800000, 0xFF800000,
         0x7FC00000, 0xFFC00000, 0x7FC0BEEF,
         0x7F800001, 0xFFA00000, 0x7F812345,
         1, 0x007FFFFF, 0x80000001, 0x00400000,
         0x00800000, 0x80800000, 0x7F7FFFFF,
         _s(2.0 ** 31), _s(-2.0 ** 31), _s(2147483520.0), _s(2.0 ** 32), _s(2.0 ** 63),
         _s(-2.0 ** 63), _s(2.0 ** 64), _s(65504.0), _s(65520.0), _s(2.0 ** -24),
         _s(2.0 ** -25), _s(3 * 2.0 ** -26), _s(2.0 ** -14), _s(0.1), _s(1e30),
         0x7F7FFFFE, 0xFF7FFFFF, 0x7F000000,                           # near overflow
         0x7FBFFFFF, 0xFFFFFFFF, 0x807FFFFF],                          # max payloads, -max denormal
    16: [0, 0x8000, 0x3C00, 0xBC00, 0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7E55, 0x7C01, 0xFD00,
         0x0001, 0x03FF, 0x8001, 0x0400, 0x7BFF, 0x3800, 0x4100, 0xC100,
         0xFBFF, 0x7800, 0x7DFF, 0xFFFF, 0x83FF, 0x7BFE],
}


def fp_value(rng, bits):
    """One interesting bit pattern of the given width."""
    r = rng.random()
    if r < 0.4:
        return rng.choice(EDGE[bits])
    mb = {16: 10, 32: 23, 64: 52}[bits]
    eb = bits - 1 - mb
    bias = (1 << (eb - 1)) - 1
    sign = rng.getrandbits(1)
    if r < 0.6 and bits != 16:          # small integers and halves
        v = rng.randrange(-300, 300) / rng.choice((1, 2, 4))
        return _d(v) if bits == 64 else _s(v)
    span = min(40, bias - 1)
    e = bias + rng.randrange(-span, span + 1)
    return (sign << (bits - 1)) | (e << mb) | rng.getrandbits(mb)


def fp_hook(bits):
    """state_hook: fill every `bits`-wide lane of every V register.

    The first len(EDGE[bits]) states of a check sweep the edge values: lane i of
    register n in state k holds EDGE[bits][(k + 5n + i) % len] (each lane of each
    register sees every edge value once, against a different one in the neighbouring
    registers); later states draw each register from a bank of random ones (40% edge
    lanes, small integers and halves, values of every magnitude)."""
    edges = EDGE[bits]
    lanes = 128 // bits

    def hook(rng, st):
        k = st.get("case")
        v = st["vregs"]
        if k is not None and k < len(edges):
            for n in range(32):
                v[n] = _sweep_reg(edges, bits, k + 5 * n)
        else:
            bank = _bank("fp", bits)
            for n in range(32):
                v[n] = rng.choice(bank)
            if rng.random() < 0.2:          # a few fresh lanes too
                n = rng.randrange(32)
                v[n] = sum(fp_value(rng, bits) << (i * bits) for i in range(lanes))
        _copy_neighbours(rng, st, 0.15)
    return hook


def _sweep_reg(edges, bits, j):
    L = len(edges)
    return sum(edges[(j + i) % L] << (i * bits) for i in range(128 // bits))


_banks = {}
BANK = 1024


def _bank(kind, bits):
    """BANK random register values of one lane kind and width, made once per process
    from a fixed seed (drawing whole registers from it is ~100x cheaper than making
    every lane per state)."""
    key = (kind, bits)
    if key not in _banks:
        rng = random.Random(f"bank:{kind}:{bits}")
        lanes = 128 // bits
        gen = (lambda: fp_value(rng, bits)) if kind == "fp" else (lambda: _int_lane(rng, bits))
        _banks[key] = [sum(gen() << (i * bits) for i in range(lanes)) for _ in range(BANK)]
    return _banks[key]


def _copy_neighbours(rng, st, prob):
    """Make some registers equal to the previous one (x op x cases, and
    operands that hit the same edge value in the same lane)."""
    for n in range(1, 32):
        if rng.random() < prob:
            st["vregs"][n] = st["vregs"][n - 1]


def int_edges(e):
    """Integer lane edge values of width e: 0, 1, 2, -1, -2, INT_MIN, INT_MAX, INT_MIN+1,
    and the shift counts +-e, +-(e-1), e+1 (as e-bit two's complement)."""
    m = (1 << e) - 1
    return [0, 1, 2, m, m - 1, 1 << (e - 1), (1 << (e - 1)) - 1, (1 << (e - 1)) + 1,
            e, -e & m, e - 1, -(e - 1) & m, e + 1]


INT_EDGES = {e: int_edges(e) for e in (8, 16, 32, 64)}


def _int_lane(rng, e):
    m = (1 << e) - 1
    r = rng.random()
    if r < 0.35:
        return rng.getrandbits(e)
    if r < 0.75:
        return rng.choice(INT_EDGES[e])
    return rng.randrange(-e - 3, e + 4) & m


def int_hook(rng, st):
    """V registers get lanes (mostly of one width per case) filled with
    integer edge values (0, 1, -1, MIN, MAX ...), small signed shift counts
    and random bits; some registers repeat their neighbour.  The first
    4 * 13 states of a check sweep the edges of each width through every lane
    (as fp_hook does)."""
    k = st.get("case")
    v = st["vregs"]
    if k is not None and k < 4 * 13:
        e = (8, 16, 32, 64)[k % 4]
        for n in range(32):
            v[n] = _sweep_reg(INT_EDGES[e], e, k // 4 + 3 * n)
        _copy_neighbours(rng, st, 0.1)
        return
    case_e = rng.choice((8, 16, 32, 64))
    for n in range(32):
        e = case_e if rng.random() < 0.8 else rng.choice((8, 16, 32, 64))
        v[n] = rng.choice(_bank("int", e))
    _copy_neighbours(rng, st, 0.3)


def _diff(u, j, fpsr_mask, fpcr=0, words=()):
    diffs, stop = termination(words, u, j)
    if stop:
        return diffs
    skip, edges = unicorn_rig.fault_leeway(words, u, j)
    for n in range(31):
        if u["x"][n] != j["x"][n] and ("x", n) not in skip:
            diffs.append(f"x{n}: unicorn={u['x'][n]:#x} jit={j['x'][n]:#x}")
    for k in ("sp", "pc", "nzcv"):
        if u[k] != j[k]:
            diffs.append(f"{k}: unicorn={u[k]:#x} jit={j[k]:#x}")
    for n in range(32):
        if u["v"][n] != j["v"][n] and ("v", n) not in skip:
            diffs.append(f"v{n}: unicorn={u['v'][n]:#034x} jit={j['v'][n]:#034x}")
    if (u["fpsr"] ^ j["fpsr"]) & fpsr_mask:
        diffs.append(f"fpsr&{fpsr_mask:#x}: unicorn={u['fpsr']:#x} jit={j['fpsr']:#x}")
    for k in ("data", "stack"):
        if not unicorn_rig.same_memory(u[k], j[k], edges):
            diffs.append(f"{k} memory differs")
    return diffs


def check_flags(text_or_words, hook=None, fpcr=0, fpsr_mask=FPSR_ALL, cases=None, seed=1,
                expect=None):
    """Like unicorn_rig.check (the whole FPSR compared; `expect` as there), with V registers
    filled by `hook`."""
    words = asm(text_or_words) if isinstance(text_or_words, str) else list(text_or_words)
    assert words, f"nothing assembled for {text_or_words!r}"
    rng = random.Random(f"{seed}:{text_or_words}:{fpcr}")
    for k in range(CASES if cases is None else cases):
        st = random_state(rng, case=k)
        if hook:
            hook(rng, st)
        u = unicorn_rig.run_unicorn(words, st, fpcr)
        j = run_jit(words, st, fpcr)
        wrong = unicorn_rig.expect_mismatch(expect, words, u, j)
        diffs = [wrong] if wrong else _diff(u, j, fpsr_mask, fpcr, words)
        assert not diffs, f"{text_or_words!r} fpcr={fpcr:#x} case {k}: " + "; ".join(diffs[:6])


def check_qemu(text_or_words, hook=None, fpcr=0, fpsr_mask=FPSR_ALL, cases=None, seed=1,
               data_regs=(), expect=None):
    """Like check_flags with qemu-aarch64 7.2 as the oracle (tests/unicorn_rig.py
    run_qemu_batch): for forms Unicorn 2.1 cannot run.  All states go to one qemu process."""
    words = asm(text_or_words) if isinstance(text_or_words, str) else list(text_or_words)
    assert words, f"nothing assembled for {text_or_words!r}"
    rng = random.Random(f"qemu:{seed}:{text_or_words}:{fpcr}")
    states = []
    for k in range(CASES if cases is None else cases):
        st = random_state(rng, data_regs, case=k)
        if hook:
            hook(rng, st)
        states.append(st)
    qs = unicorn_rig.run_qemu_batch(words, states, fpcr)
    for k, (st, q) in enumerate(zip(states, qs)):
        j = run_jit(words, st, fpcr)
        wrong = unicorn_rig.expect_mismatch(expect, words, q, j, "qemu-aarch64")
        diffs = [wrong] if wrong else _diff(q, j, fpsr_mask, fpcr, words)
        assert not diffs, (f"{text_or_words!r} fpcr={fpcr:#x} case {k} (oracle qemu-aarch64): "
                           + "; ".join(diffs[:6]))
