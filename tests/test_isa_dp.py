"""Integer data processing, branches and the EL0 system basics against Unicorn.

Covers translator/isa/dp_reg.py (every form), dp_imm.py, branch.py and the
NZCV / hint / barrier part of system.py.  Each form runs EMU_FUZZ_CASES
random states (edge values included) through Unicorn and the JIT; state hooks
steer operands to the interesting corners (equal operands for Z, INT_MIN/-1
and x/0 for division, small values for CLZ/CLS ...).  Sweeps over raw
encodings use a few cases per encoding.  Reserved encodings must be undefined
in both engines (and SIGILL-class UNDEF in ours).  A few results are also
checked against independent references (ARM AddWithCarry in Python, the
published CRC-32 / CRC-32C check values), so a bug shared with Unicorn's
QEMU cannot hide.
"""
import itertools
import os
import random
import zlib

import pytest

from emu.cpustate import ExitReason
from emu.snippet import run_snippet, CODE_BASE
from tests.unicorn_rig import asm, check

FUZZ = int(os.environ.get("EMU_FUZZ_CASES", "30"))
SWEEP = max(2, FUZZ // 10)          # cases per encoding in raw-encoding sweeps
M64 = (1 << 64) - 1

EDGE = [0, 1, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, M64, 0xFFFFFFFF,
        0x80000000, 0x7FFFFFFF, 0x100000000, 0xFFFFFFFF00000000,
        0xFFFFFFFF7FFFFFFF, 0x00000000FFFFFFFE]


# -- state hooks -------------------------------------------------------------

def pairs_hook(rng, st):
    """Relate X2 (and X3) to X1: equal, negated, off by one, edge values."""
    r = st["regs"]
    k = rng.randrange(8)
    if k == 0:
        r[2] = r[1]
    elif k == 1:
        r[2] = -r[1] & M64
    elif k == 2:
        r[2] = (r[1] + rng.choice((1, -1))) & M64
    elif k == 3:
        r[1], r[2] = rng.choice(EDGE), rng.choice(EDGE)
    elif k == 4:     # same low word, different high word (W forms)
        r[2] = (r[1] & 0xFFFFFFFF) | (rng.getrandbits(32) << 32)
    elif k == 5:
        r[2] = ~r[1] & M64
    r[3] = rng.choice((r[1], r[2], rng.choice(EDGE), r[3]))


def div_hook(rng, st):
    """Dividends around INT_MIN, divisors 0 / -1 in both widths."""
    r = st["regs"]
    if rng.random() < 0.7:
        r[1] = rng.choice((0x8000000000000000, 0x80000000, 0xFFFFFFFF80000000,
                           r[1], 0x7FFFFFFFFFFFFFFF, 0, 7))
        r[2] = rng.choice((0, M64, 0xFFFFFFFF, 0xFFFFFFFF00000000, 1, 0x100000000,
                           r[2], rng.getrandbits(5), -rng.getrandbits(5) & M64))


def bits_hook(rng, st):
    """Values with many leading zeros or ones (CLZ/CLS), in both widths."""
    r = st["regs"]
    v = rng.getrandbits(64) >> rng.randrange(65)
    if rng.random() < 0.5:
        v = ~v & M64
    if rng.random() < 0.3:
        v &= 0xFFFFFFFF
    r[1] = v


def zero_hook(rng, st):
    """X1 zero, zero in the low word only, or random (CBZ/CBNZ)."""
    st["regs"][1] = rng.choice((0, 0x100000000, 0xFFFFFFFF00000000, 1, st["regs"][1]))


def nzcv_cycle():
    """Hook that walks NZCV through all 16 values, then random."""
    counter = itertools.count()

    def hook(rng, st):
        k = next(counter)
        st["nzcv"] = (k % 16) << 28
    return hook


def fuzz(form, cases=None, hook=pairs_hook, **kw):
    check(form, cases=FUZZ if cases is None else cases, state_hook=hook, **kw)


def undefined(word):
    """The word is UNDEF in our JIT and faults in Unicorn too."""
    r = run_snippet([word])
    assert r.reason == ExitReason.UNDEF and r.cpu.pc == CODE_BASE, (hex(word), r.reason)
    check([word], cases=2)


# -- dp_reg: add/subtract ---------------------------------------------------

ADDSUB_SHIFTED = [
    "add x0, x1, x2", "add w0, w1, w2, lsl #31", "add x0, x1, x2, lsr #63",
    "add w0, w1, w2, asr #7", "add x0, xzr, x2, lsl #12",
    "adds x0, x1, x2, lsl #1", "adds w0, w1, w2", "adds x0, x1, x2, asr #63",
    "adds w0, w1, w2, lsr #16",
    "sub x0, x1, x2, asr #3", "sub w0, w1, w2, lsl #5",
    "subs x0, x1, x2", "subs w0, w1, w2", "subs x0, x1, x2, lsr #1",
    "subs w0, w1, w2, asr #31", "subs x1, x1, x1",
    "cmp x1, x2, lsl #63", "cmn w1, w2", "neg x0, x1, lsl #2", "negs w0, w1",
]

ADDSUB_EXTENDED = [
    "add x0, sp, w1, uxtw #2", "add sp, x1, x2, uxtx #4", "add wsp, w1, w2, uxtw",
    "add w0, w1, w2, uxtb", "add x0, x1, w2, sxth #1", "adds x0, x1, w2, sxtb",
    "adds w0, wsp, w2, uxth #3", "adds x0, sp, x1", "sub sp, sp, x1, uxtx #4",
    "sub x0, x1, w2, sxtw #4", "sub w0, w1, w2, sxtb #2", "subs x0, sp, x1",
    "subs w0, w1, w2, uxtw #4", "subs x0, x1, x2, sxtx #3", "cmp x1, w2, uxth #1",
    "cmn w1, w2, sxtw", "cmp sp, x2, uxtx #1", "add x0, x1, x2, uxtx",
]

ADC = ["adc x0, x1, x2", "adc w0, w1, w2", "adcs x0, x1, x2", "adcs w0, w1, w2",
       "sbc x0, x1, x2", "sbc w0, w1, w2", "sbcs x0, x1, x2", "sbcs w0, w1, w2",
       "ngc x0, x1", "ngcs w0, w1", "adcs x0, x1, x1", "sbcs w1, w1, w1"]


@pytest.mark.parametrize("form", ADDSUB_SHIFTED + ADDSUB_EXTENDED + ADC)
def test_add_sub(form):
    fuzz(form)


# -- dp_reg: logical ---------------------------------------------------------

LOGICAL = [
    "and x0, x1, x2", "and w0, w1, w2, lsl #3", "bic x0, x1, x2, lsr #9",
    "bic w0, w1, w2, ror #31", "orr x0, x1, x2, asr #17", "orr w0, w1, w2, lsr #1",
    "orn x0, x1, x2, ror #63", "orn w0, w1, w2", "eor x0, x1, x2, lsl #63",
    "eor w0, w1, w2, asr #31", "eon x0, x1, x2, ror #7", "eon w0, w1, w2, lsr #3",
    "ands x0, x1, x2", "ands w0, w1, w2, ror #16", "ands x0, x1, x2, asr #63",
    "bics x0, x1, x2, ror #7", "bics w0, w1, w2, lsl #1", "bics x0, x1, x1",
    "mov x0, x1", "mov w0, w1", "mvn w0, w1, ror #3", "mvn x0, x1",
    "tst x1, x2, asr #5", "tst w1, w2",
]


@pytest.mark.parametrize("form", LOGICAL)
def test_logical(form):
    fuzz(form)


# -- dp_reg: conditional compare / select -------------------------------------

CCMP = [
    "ccmp x1, x2, #5, eq", "ccmp w1, w2, #0, ne", "ccmp x1, #31, #15, hs",
    "ccmp w1, #0, #8, lt", "ccmp x1, x1, #2, mi", "ccmp w1, #1, #4, vs",
    "ccmn x1, x2, #2, gt", "ccmn w1, w2, #4, le", "ccmn x1, #7, #10, hi",
    "ccmn w1, #31, #1, al", "ccmp x1, x2, #3, nv", "ccmn x1, x2, #9, ls",
]

CSEL = [
    "csel x0, x1, x2, eq", "csel w0, w1, w2, ne", "csel x0, x1, x2, nv",
    "csinc x0, x1, x2, hs", "csinc w0, w1, w2, lo", "csinv x0, x1, x2, mi",
    "csinv w0, w1, w2, pl", "csneg x0, x1, x2, lt", "csneg w0, w1, w2, vc",
    "cset w0, ne", "csetm x0, hs", "cinc x0, x1, eq", "cinv x0, x1, vc",
    "cneg w0, w1, mi", "csel w0, w1, w2, al", "csinc x0, xzr, xzr, gt",
]


@pytest.mark.parametrize("form", CCMP + CSEL)
def test_conditional(form):
    fuzz(form)


# -- dp_reg: 1, 2 and 3 source ------------------------------------------------

DP1 = ["rbit x0, x1", "rbit w0, w1", "rev16 x0, x1", "rev16 w0, w1", "rev32 x0, x1",
       "rev x0, x1", "rev w0, w1", "clz x0, x1", "clz w0, w1", "cls x0, x1", "cls w0, w1"]


@pytest.mark.parametrize("form", DP1)
def test_dp1(form):
    fuzz(form, hook=bits_hook)


DIV = ["udiv x0, x1, x2", "udiv w0, w1, w2", "sdiv x0, x1, x2", "sdiv w0, w1, w2"]

SHIFTV = ["lslv x0, x1, x2", "lslv w0, w1, w2", "lsrv x0, x1, x2", "lsrv w0, w1, w2",
          "asrv x0, x1, x2", "asrv w0, w1, w2", "rorv x0, x1, x2", "rorv w0, w1, w2",
          "lsl x0, x1, x2", "ror w0, w1, w2"]

CRC = ["crc32b w0, w1, w2", "crc32h w0, w1, w2", "crc32w w0, w1, w2",
       "crc32x w0, w1, x2", "crc32cb w0, w1, w2", "crc32ch w0, w1, w2",
       "crc32cw w0, w1, w2", "crc32cx w0, w1, x2", "crc32b w1, w1, w1"]


def shift_hook(rng, st):
    """Shift amounts: small, near the width, and large (mod width)."""
    r = st["regs"]
    r[2] = rng.choice((rng.randrange(70), rng.getrandbits(64), 31, 32, 63, 64, 0))


@pytest.mark.parametrize("form", DIV)
def test_div(form):
    fuzz(form, hook=div_hook, cases=max(FUZZ, 40))


@pytest.mark.parametrize("form", SHIFTV)
def test_shiftv(form):
    fuzz(form, hook=shift_hook)


@pytest.mark.parametrize("form", CRC)
def test_crc32(form):
    fuzz(form, hook=None)


DP3 = ["madd x0, x1, x2, x3", "madd w0, w1, w2, w3", "msub x0, x1, x2, x3",
       "msub w0, w1, w2, w3", "mul x0, x1, x2", "mneg w0, w1, w2",
       "smaddl x0, w1, w2, x3", "smsubl x0, w1, w2, x3", "umaddl x0, w1, w2, x3",
       "umsubl x0, w1, w2, x3", "smull x0, w1, w2", "umull x0, w1, w2",
       "smnegl x0, w1, w2", "umnegl x0, w1, w2", "smulh x0, x1, x2", "umulh x0, x1, x2"]


@pytest.mark.parametrize("form", DP3)
def test_dp3(form):
    fuzz(form)


# -- dp_reg: reserved encodings -----------------------------------------------

def _a(text, set_bits=0, clear_bits=0):
    """Assemble one instruction and flip bits to reach a reserved neighbour."""
    return (asm(text)[0] | set_bits) & ~clear_bits


RESERVED = {
    "add_shift3": _a("add x0, x1, x2", set_bits=3 << 22),         # shift == 3
    "add_w_imm6_32": _a("add w0, w1, w2", set_bits=32 << 10),     # imm6 >= 32
    "and_w_imm6_32": _a("and w0, w1, w2", set_bits=32 << 10),
    "add_ext_imm3_5": _a("add x0, x1, w2, uxtw", set_bits=5 << 10),
    "add_ext_opt1": _a("add x0, x1, w2, uxtw", set_bits=1 << 22),
    "csel_s": _a("csel x0, x1, x2, eq", set_bits=1 << 29),
    "csel_op2_2": _a("csel x0, x1, x2, eq", set_bits=2 << 10),
    "ccmp_s0": _a("ccmp x1, x2, #0, ne", clear_bits=1 << 29),
    "ccmp_o2": _a("ccmp x1, x2, #0, ne", set_bits=1 << 10),
    "ccmp_o3": _a("ccmp x1, #3, #0, ne", set_bits=1 << 4),
    "rev_w_opc3": _a("rev x0, x1", clear_bits=1 << 31),            # REV64 with sf = 0
    "dp2_opc0_w": _a("udiv w0, w1, w2", clear_bits=2 << 10),       # 2-source opcode 0
    "dp2_opc4_w": _a("udiv w0, w1, w2", set_bits=4 << 10, clear_bits=2 << 10),  # opcode 4
    "crc32x_w": _a("crc32x w0, w1, x2", clear_bits=1 << 31),
    "crc32b_x": _a("crc32b w0, w1, w2", set_bits=1 << 31),
    "smulh_o0": _a("smulh x0, x1, x2", set_bits=1 << 15),
    "smaddl_w": _a("smaddl x0, w1, w2, x3", clear_bits=1 << 31),
    "dp3_op31_3": _a("smaddl x0, w1, w2, x3", set_bits=2 << 21),   # op31 = 011
    "dp3_op54": _a("madd x0, x1, x2, x3", set_bits=1 << 29),
}


@pytest.mark.parametrize("name", RESERVED)
def test_dp_reg_reserved(name):
    undefined(RESERVED[name])


# -- independent references (not Unicorn) ---------------------------------------

def awc(x, y, carry, w):
    """ARM AddWithCarry -> (result, nzcv bits) straight from the pseudocode."""
    m = (1 << w) - 1
    x, y = x & m, y & m
    sx = x - (1 << w) if x >> (w - 1) else x
    sy = y - (1 << w) if y >> (w - 1) else y
    usum = x + y + carry
    ssum = sx + sy + carry
    r = usum & m
    sr = r - (1 << w) if r >> (w - 1) else r
    n, z = r >> (w - 1), int(r == 0)
    cf, vf = int(r != usum), int(sr != ssum)
    return r, (n << 3) | (z << 2) | (cf << 1) | vf


FLAG_EDGE = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x7FFFFFFFFFFFFFFF,
             0x8000000000000000, M64]


def test_add_with_carry_reference():
    """ADCS/SBCS in both widths against AddWithCarry written from the ARM ARM."""
    code = asm("msr nzcv, x9; adcs x3, x1, x2; mrs x10, nzcv;"
               "msr nzcv, x9; sbcs x4, x1, x2; mrs x11, nzcv;"
               "msr nzcv, x9; adcs w5, w1, w2; mrs x12, nzcv;"
               "msr nzcv, x9; sbcs w6, w1, w2; mrs x13, nzcv")
    for x, y, carry in itertools.product(FLAG_EDGE, FLAG_EDGE, (0, 1)):
        r = run_snippet(code, regs={1: x, 2: y, 9: carry << 29})
        assert r.reason == ExitReason.BRK
        got = r.cpu.x
        for dst, fl, w, sub in ((3, 10, 64, 0), (4, 11, 64, 1), (5, 12, 32, 0), (6, 13, 32, 1)):
            yy = ~y if sub else y
            res, nzcv = awc(x, yy, carry, w)
            assert (got[dst], got[fl] >> 28) == (res, nzcv), (x, y, carry, w, sub)


def _crc_run(code_text, data, init):
    """Feed `data` through one CRC instruction form from X1 (accumulator W0)."""
    code = asm(code_text)
    acc = init
    step = {"b": 1, "h": 2, "w": 4, "x": 8}[code_text.split()[0][-1]]
    for i in range(0, len(data), step):
        r = run_snippet(code, regs={0: acc, 1: int.from_bytes(data[i:i + step], "little")})
        acc = r.cpu.x[0]
    return acc


def test_crc32_reference():
    """CRC-32 and CRC-32C check values of b'123456789' (and zlib on random data)."""
    msg = b"123456789"
    assert _crc_run("crc32b w0, w0, w1", msg, M64 & 0xFFFFFFFF) ^ 0xFFFFFFFF == 0xCBF43926
    assert _crc_run("crc32cb w0, w0, w1", msg, 0xFFFFFFFF) ^ 0xFFFFFFFF == 0xE3069283
    data = random.Random(7).randbytes(16)
    ref = zlib.crc32(data)
    for form in ("crc32h w0, w0, w1", "crc32w w0, w0, w1", "crc32x w0, w0, x1"):
        assert _crc_run(form, data, 0xFFFFFFFF) ^ 0xFFFFFFFF == ref, form


def test_div_reference():
    """ARM division: x/0 = 0 and INT_MIN/-1 = INT_MIN, no trap."""
    code = asm("sdiv x3, x1, x2; udiv x4, x1, x2; sdiv w5, w6, w7; udiv w8, w6, w7")
    for x, y, wx, wy, want in (
            (0x8000000000000000, M64, 0x80000000, 0xFFFFFFFF,
             (0x8000000000000000, 0, 0x80000000, 0)),
            (12345, 0, 77, 0, (0, 0, 0, 0)),
            (M64 - 6, 2, 0xFFFFFFF9, 2, (M64 - 2, 0x7FFFFFFFFFFFFFFC, 0xFFFFFFFD, 0x7FFFFFFC))):
        r = run_snippet(code, regs={1: x, 2: y, 6: wx, 7: wy})
        assert r.reason == ExitReason.BRK
        assert (r.cpu.x[3], r.cpu.x[4], r.cpu.x[5], r.cpu.x[8]) == want


# -- dp_imm -----------------------------------------------------------------------

def _adr_word(op, imm, rd=0):
    imm &= (1 << 21) - 1
    return (op << 31) | ((imm & 3) << 29) | (0b10000 << 24) | ((imm >> 2) << 5) | rd


ADR_WORDS = [(op, imm) for op in (0, 1) for imm in
             (0, 4, -4, 0xFFFFF, -0x100000, 0x123, -0x777, 3)]


def test_adr_adrp():
    """ADR/ADRP with forward, backward, extreme and unaligned offsets."""
    for op, imm in ADR_WORDS:
        check([_adr_word(op, imm, rd=imm & 31 if imm & 31 != 31 else 0)], cases=SWEEP)
    check("adr x0, fwd; nop; fwd: nop", cases=SWEEP)
    check("back: nop; adr x5, back", cases=SWEEP)


ADD_IMM = [
    "add x0, x1, #4095", "add w0, w1, #1, lsl #12", "adds x0, x1, #0",
    "adds w0, w1, #4095", "adds x0, x1, #1, lsl #12", "sub x0, x1, #1",
    "subs x0, x1, #1, lsl #12", "subs w0, w1, #0x800", "subs w0, w1, #0",
    "cmp x1, #0", "cmn w1, #1", "cmp sp, #4", "mov x0, sp", "add sp, sp, #16",
    "sub sp, x1, #8", "adds x0, sp, #8", "add wsp, w1, #3", "mov sp, x1",
]

LOG_IMM = [
    "and x0, x1, #0xff", "and w0, w1, #0x80000001", "orr x0, x1, #0x5555555555555555",
    "orr w0, wzr, #0xf0f0f0f0", "eor x0, x1, #0xfffffffffffffffe",
    "eor w0, w1, #0x3ffffffc", "ands x0, x1, #0x8000000000000000", "ands w0, w1, #1",
    "tst x1, #0x7", "and sp, x1, #0xfffffffffffffff0", "mov x0, #0x00ff00ff00ff00ff",
    "eor wsp, w1, #0xffff",
]

MOVW = [
    "movz x0, #0x1234, lsl #48", "movz w0, #0xffff, lsl #16", "movz x0, #0",
    "movn x0, #5, lsl #32", "movn w0, #0", "movn w0, #0x1234, lsl #16",
    "movk x1, #0xbeef, lsl #16", "movk w1, #0x1234, lsl #16", "movk x1, #0xffff",
    "movk x1, #1, lsl #48", "mov x0, #-2", "mov w0, #0x12340000",
]

BITFIELD = [
    "asr x0, x1, #63", "asr w0, w1, #5", "lsl x0, x1, #1", "lsl w0, w1, #31",
    "lsr x0, x1, #32", "lsr w0, w1, #0", "sxtb x0, w1", "sxth w0, w1", "sxtw x0, w1",
    "uxtb w0, w1", "uxth w0, w1", "bfi x0, x1, #60, #4", "bfi w0, w1, #0, #32",
    "bfxil x0, x1, #3, #10", "bfxil w0, w1, #31, #1", "bfc x0, #3, #4",
    "sbfx w0, w1, #5, #27", "sbfx x0, x1, #63, #1", "ubfx x0, x1, #0, #64",
    "ubfx w0, w1, #7, #9", "sbfiz x0, x1, #3, #10", "ubfiz w0, w1, #3, #10",
    "sbfiz w0, w1, #31, #1",
]

EXTR = ["extr x0, x1, x2, #5", "extr w0, w1, w2, #31", "ror x0, x1, #63",
        "extr x0, x1, x2, #0", "ror w0, w1, #1", "extr w0, w1, w2, #0"]


@pytest.mark.parametrize("form", ADD_IMM + LOG_IMM + MOVW + BITFIELD + EXTR)
def test_dp_imm(form):
    fuzz(form)


def test_logical_imm_sweep():
    """Random valid and reserved (N, immr, imms) for AND/ORR/EOR/ANDS, both widths."""
    rng = random.Random(11)
    for _ in range(24):
        sf, opc = rng.randrange(2), rng.randrange(4)
        nb = rng.randrange(2) if sf else 0
        word = ((sf << 31) | (opc << 29) | (0b100100 << 23) | (nb << 22)
                | (rng.randrange(64) << 16) | (rng.randrange(64) << 10) | (2 << 5) | 1)
        check([word], cases=SWEEP)


def test_bitfield_sweep():
    """Random SBFM/BFM/UBFM immr/imms in both widths (incl. imms < immr)."""
    rng = random.Random(12)
    for _ in range(30):
        sf, opc = rng.randrange(2), rng.randrange(3)
        top = 64 if sf else 32
        word = ((sf << 31) | (opc << 29) | (0b100110 << 23) | (sf << 22)
                | (rng.randrange(top) << 16) | (rng.randrange(top) << 10) | (2 << 5) | 3)
        check([word], cases=SWEEP)


DP_IMM_RESERVED = {
    "movw_opc1": _a("movn x0, #1", set_bits=1 << 29),              # opc = 01
    "movz_w_hw2": _a("movz w0, #0", set_bits=2 << 21),             # 32-bit, hw = 2
    "bfm_opc3": _a("bfxil x0, x1, #0, #4", set_bits=2 << 29),      # opc = 11
    "sbfm_n_mismatch": _a("sbfx x0, x1, #0, #8", clear_bits=1 << 22),
    "sbfm_w_immr32": _a("sbfx w0, w1, #0, #8", set_bits=32 << 16),
    "sbfm_w_n1": _a("sbfx w0, w1, #0, #8", set_bits=1 << 22),
    "extr_w_imms32": _a("extr w0, w1, w2, #0", set_bits=32 << 10),
    "extr_n_mismatch": _a("extr x0, x1, x2, #0", clear_bits=1 << 22),
    "log_imm_ones": _a("and x0, x1, #1", set_bits=0x3F << 10),     # all-ones element
    "log_imm_w_n1": _a("and w0, w1, #1", set_bits=1 << 22),
}


@pytest.mark.parametrize("name", DP_IMM_RESERVED)
def test_dp_imm_reserved(name):
    undefined(DP_IMM_RESERVED[name])


# -- branches -------------------------------------------------------------------------

CONDS = ["eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc",
         "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"]


@pytest.mark.parametrize("cc", CONDS)
def test_b_cond(cc):
    check(f"b.{cc} skip; movz x0, #1; skip: nop", cases=max(16, FUZZ // 2),
          state_hook=nzcv_cycle())


BRANCHES = [
    "b skip; movz x0, #1; skip: nop",
    "bl skip; movz x0, #1; skip: nop",
    "b fwd; back: movz x1, #7; b done; fwd: b back; done: nop",
    "movz x0, #5; loop: subs x0, x0, #1; add x2, x2, #3; b.ne loop",
    "adr x1, skip; br x1; movz x0, #1; skip: nop",
    "adr x1, skip; blr x1; movz x0, #1; skip: nop",
    "adr x30, skip; blr x30; movz x0, #1; skip: nop",
    "adr x30, skip; ret; movz x0, #1; skip: nop",
    "adr x3, skip; ret x3; movz x0, #1; skip: nop",
    "bl fn; movz x5, #9; b done; fn: movz x4, #3; ret; done: nop",
]


@pytest.mark.parametrize("form", BRANCHES)
def test_branch(form):
    check(form, cases=max(4, FUZZ // 4))


CBZ_TBZ = [
    "cbz x1, skip; movz x0, #1; skip: nop", "cbz w1, skip; movz x0, #1; skip: nop",
    "cbnz x1, skip; movz x0, #1; skip: nop", "cbnz w1, skip; movz x0, #1; skip: nop",
    "tbz x1, #0, skip; movz x0, #1; skip: nop", "tbz w1, #31, skip; movz x0, #1; skip: nop",
    "tbz x1, #32, skip; movz x0, #1; skip: nop", "tbnz x1, #63, skip; movz x0, #1; skip: nop",
    "tbnz w1, #3, skip; movz x0, #1; skip: nop", "tbnz x1, #40, skip; movz x0, #1; skip: nop",
    "movz x1, #4; loop: sub x1, x1, #1; cbnz x1, loop",
]


@pytest.mark.parametrize("form", CBZ_TBZ)
def test_cbz_tbz(form):
    fuzz(form, hook=zero_hook)


# -- system: NZCV, hints, barriers ------------------------------------------------------

SYSTEM = [
    "mrs x0, nzcv", "msr nzcv, x1", "msr nzcv, x1; mrs x0, nzcv",
    "msr nzcv, x1; cset x0, eq; cset x2, hs; cset x3, mi; cset x4, vs",
    "nop; yield; wfe; sev; sevl; hint #34; hint #6",
    "dmb ish; dmb ishld; dsb sy; isb; clrex",
]


@pytest.mark.parametrize("form", SYSTEM)
def test_system(form):
    fuzz(form, hook=None)
