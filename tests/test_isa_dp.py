"""Integer data processing, branches and the EL0 system basics against Unicorn.

Covers translator/isa/dp_reg.py (every form), dp_imm.py, branch.py and the
NZCV / hint / barrier part of system.py.  Each test runs one short sequence
holding a few variants of one form (distinct destination registers; the
flags of every flag-setting variant but the last are captured with MRS into
X20..X28) over EMU_FUZZ_CASES random states with edge values, through
Unicorn and the JIT.  One sequence per form keeps the LLVM compile per case
(the dominant cost) shared by its variants.  State hooks steer operands to the
interesting corners: equal/negated operands for Z and C, INT_MIN/-1 and x/0
for division, long runs of leading zeros/ones for CLZ/CLS, all 16 NZCV values
for conditions.  Raw-encoding sweeps cover the immediate decoders; reserved
encodings must be UNDEF in ours and fault in Unicorn.  A few results are
also checked against references that are not Unicorn (AddWithCarry written
from the ARM pseudocode, the published CRC-32/CRC-32C check values, zlib),
so a bug shared with Unicorn's QEMU cannot hide.
"""
import itertools
import random
import zlib

import pytest

from emu.cpustate import ExitReason
from emu.snippet import run_snippet, CODE_BASE
from tests.unicorn_rig import asm, check, CASES

FUZZ = CASES                        # EMU_FUZZ_CASES, default 300
SWEEP = max(2, FUZZ // 10)          # cases per sequence in raw-encoding sweeps
M64 = (1 << 64) - 1

EDGE = [0, 1, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, M64, 0xFFFFFFFF,
        0x80000000, 0x7FFFFFFF, 0x100000000, 0xFFFFFFFF00000000,
        0xFFFFFFFF7FFFFFFF, 0x00000000FFFFFFFE]


def with_flags(*insns):
    """Join variants; after each flag setter but the last, MRS NZCV into X20+."""
    assert len(insns) <= 10
    out = []
    for k, ins in enumerate(insns):
        out.append(ins)
        if k < len(insns) - 1:
            out.append(f"mrs x{20 + k}, nzcv")
    return "; ".join(out)


# -- state hooks -----------------------------------------------------------------

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


def cond_hook():
    """pairs_hook plus NZCV (and X15, its copy for MSR) walking all 16 values."""
    counter = itertools.count()

    def hook(rng, st):
        pairs_hook(rng, st)
        flags = (next(counter) % 16) << 28
        st["nzcv"] = flags
        st["regs"][15] = flags | rng.getrandbits(28)
    return hook


def div_hook(rng, st):
    """Dividends around INT_MIN, divisors 0 / -1 in both widths."""
    r = st["regs"]
    if rng.random() < 0.7:
        r[1] = rng.choice((0x8000000000000000, 0x80000000, 0xFFFFFFFF80000000,
                           r[1], 0x7FFFFFFFFFFFFFFF, 0, 7))
        r[2] = rng.choice((0, M64, 0xFFFFFFFF, 0xFFFFFFFF00000000, 1, 0x100000000,
                           r[2], rng.getrandbits(5), -rng.getrandbits(5) & M64))


def _leading(rng):
    v = rng.getrandbits(64) >> rng.randrange(65)
    if rng.random() < 0.5:
        v = ~v & M64
    if rng.random() < 0.3:
        v &= 0xFFFFFFFF
    return v


def bits_hook(rng, st):
    """X1, X2 with long runs of leading zeros or ones (CLZ/CLS), both widths."""
    st["regs"][1] = _leading(rng)
    st["regs"][2] = _leading(rng)


def shift_hook(rng, st):
    """Shift amounts in X2, X3: small, near the width, and large (mod width)."""
    r = st["regs"]
    for n in (2, 3):
        r[n] = rng.choice((rng.randrange(70), rng.getrandbits(64), 31, 32, 63, 64, 0))


def zero_hook(rng, st):
    """X1 zero, zero in the low word only, or random (CBZ/CBNZ)."""
    st["regs"][1] = rng.choice((0, 0x100000000, 0xFFFFFFFF00000000, 1, st["regs"][1]))


def nzcv_cycle():
    """Hook that walks NZCV through all 16 values."""
    counter = itertools.count()

    def hook(rng, st):
        st["nzcv"] = (next(counter) % 16) << 28
    return hook


def runs_clean(form):
    """Our JIT runs `form` to the final BRK (so agreement is not two faults)."""
    r = run_snippet(asm(form) if isinstance(form, str) else form, sp=0x1000)
    assert r.reason == ExitReason.BRK, (form, r.reason, hex(r.info))


def fuzz(form, cases=None, hook=pairs_hook, **kw):
    runs_clean(form)
    check(form, cases=FUZZ if cases is None else cases, state_hook=hook, **kw)


def undefined(word):
    """The word is UNDEF in our JIT (PC at it) and in Unicorn too."""
    r = run_snippet([word])
    assert r.reason == ExitReason.UNDEF and r.cpu.pc == CODE_BASE, (hex(word), r.reason)
    check([word], cases=1, expect="undef")


def _a(text, set_bits=0, clear_bits=0):
    """Assemble one instruction and flip bits to reach a reserved neighbour."""
    return (asm(text)[0] | set_bits) & ~clear_bits


# -- dp_reg --------------------------------------------------------------------------

DP_REG = {
    "add_sreg": "add x4, x1, x2; add w5, w1, w2, lsl #31; add x6, x1, x2, lsr #63;"
                "add w7, w1, w2, asr #7; add x8, xzr, x2, lsl #12; neg x9, x1, lsl #2",
    "adds_sreg": with_flags("adds x4, x1, x2, lsl #1", "adds w5, w1, w2",
                            "adds x6, x1, x2, asr #63", "adds w7, w1, w2, lsr #16",
                            "cmn w1, w2", "cmn x1, x2", "adds x8, x1, x1"),
    "sub_sreg": "sub x4, x1, x2, asr #3; sub w5, w1, w2, lsl #5; neg w6, w2, lsr #3;"
                "sub x7, x1, x2",
    "subs_sreg": with_flags("subs x4, x1, x2", "subs w5, w1, w2", "subs x6, x1, x2, lsr #1",
                            "subs w7, w1, w2, asr #31", "cmp x1, x2, lsl #63", "negs w8, w1",
                            "cmp w1, w2", "subs x9, x1, x1"),
    "subs_w_last": "subs w0, w1, w2",
    "add_ereg": "add x4, sp, w1, uxtw #2; add w5, w1, w2, uxtb; add x6, x1, w2, sxth #1;"
                "add x7, x1, x2, uxtx; add w8, wsp, w2, sxtw #3; sub x9, x1, w2, sxtw #4;"
                "sub w10, w1, w2, sxtb #2; sub x11, sp, w2, uxth; add x12, x1, w2, sxtw",
    "adds_ereg": with_flags("adds x4, x1, w2, sxtb", "adds w5, wsp, w2, uxth #3",
                            "adds x6, sp, x1", "cmn w1, w2, sxtw", "adds x7, x1, w2, uxtw #4"),
    "subs_ereg": with_flags("subs x4, sp, x1", "subs w5, w1, w2, uxtw #4",
                            "subs x6, x1, x2, sxtx #3", "cmp x1, w2, uxth #1",
                            "cmp sp, x2, uxtx #1", "subs w7, w1, w2, sxth"),
    "ereg_sp_dest": "add sp, x1, x2, uxtx #4; mov x4, sp; add wsp, w1, w2, uxtw; mov x5, sp;"
                    "sub sp, sp, x1, uxtx #4",
    "adc_sbc": "adc x4, x1, x2; adc w5, w1, w2; sbc x6, x1, x2; sbc w7, w1, w2;"
               "ngc x8, x1; ngc w9, w2",
    "adcs_sbcs": with_flags("adcs x4, x1, x2", "adcs w5, w1, w2", "sbcs x6, x1, x2",
                            "sbcs w7, w1, w2", "ngcs w8, w1", "adcs x9, x1, x1",
                            "sbcs w1, w1, w1"),
    "and_bic": "and x4, x1, x2; and w5, w1, w2, lsl #3; bic x6, x1, x2, lsr #9;"
               "bic w7, w1, w2, ror #31; and x8, x1, x2, asr #40",
    "orr_orn": "orr x4, x1, x2, asr #17; orr w5, w1, w2, lsr #1; orn x6, x1, x2, ror #63;"
               "orn w7, w1, w2; mov x8, x1; mov w9, w2; mvn w10, w1, ror #3; mvn x11, x2",
    "eor_eon": "eor x4, x1, x2, lsl #63; eor w5, w1, w2, asr #31; eon x6, x1, x2, ror #7;"
               "eon w7, w1, w2, lsr #3",
    "ands_bics": with_flags("ands x4, x1, x2", "ands w5, w1, w2, ror #16",
                            "ands x6, x1, x2, asr #63", "bics x7, x1, x2, ror #7",
                            "bics w8, w1, w2, lsl #1", "tst x1, x2, asr #5", "tst w1, w2",
                            "bics x9, x1, x1"),
    "dp1_rev": "rbit x4, x1; rbit w5, w1; rev16 x6, x1; rev16 w7, w1; rev32 x8, x1;"
               "rev x9, x1; rev w10, w1",
    "dp1_count": "clz x4, x1; clz w5, w1; cls x6, x1; cls w7, w1; cls x8, x2; clz x9, x2;"
                 "cls w10, w2; clz w11, w2",
    "shiftv": "lslv x4, x1, x2; lslv w5, w1, w2; lsrv x6, x1, x2; lsrv w7, w1, w2;"
              "asrv x8, x1, x2; asrv w9, w1, w2; rorv x10, x1, x2; rorv w11, w1, w2;"
              "lsl x12, x1, x3; ror w13, w1, w3; asr x14, x1, x3; lsr w16, w1, w3",
    "crc32": "crc32b w4, w1, w2; crc32h w5, w1, w2; crc32w w6, w1, w2; crc32x w7, w1, x2",
    "crc32c": "crc32cb w4, w1, w2; crc32ch w5, w1, w2; crc32cw w6, w1, w2;"
              "crc32cx w7, w1, x2; crc32b w1, w1, w1",
    "madd_msub": "madd x4, x1, x2, x3; madd w5, w1, w2, w3; msub x6, x1, x2, x3;"
                 "msub w7, w1, w2, w3; mul x8, x1, x2; mneg w9, w1, w2",
    "long_mul": "smaddl x4, w1, w2, x3; smsubl x5, w1, w2, x3; umaddl x6, w1, w2, x3;"
                "umsubl x7, w1, w2, x3; smull x8, w1, w2; umull x9, w1, w2;"
                "smnegl x10, w1, w2; umnegl x11, w1, w2",
    "mulh": "smulh x4, x1, x2; umulh x5, x1, x2; smulh x6, x1, x1; umulh x7, x2, x2",
}

DP_REG_HOOKS = {"dp1_rev": bits_hook, "dp1_count": bits_hook, "shiftv": shift_hook}


@pytest.mark.parametrize("form", DP_REG)
def test_dp_reg(form):
    fuzz(DP_REG[form], hook=DP_REG_HOOKS.get(form, pairs_hook))


def test_div():
    """UDIV/SDIV in both widths, steered to x/0 and INT_MIN/-1."""
    fuzz("udiv x4, x1, x2; udiv w5, w1, w2; sdiv x6, x1, x2; sdiv w7, w1, w2",
         hook=div_hook, cases=max(FUZZ, 40))


CCMP = {
    # each variant sees the NZCV in X15 (cycled through all 16 values)
    "ccmp": ["ccmp x1, x2, #5, eq", "ccmp w1, w2, #0, ne", "ccmp x1, #31, #15, hs",
             "ccmp w1, #0, #8, lt", "ccmp x1, x1, #2, mi", "ccmp w1, #1, #4, vs",
             "ccmp x1, x2, #3, nv", "ccmp w1, w2, #6, lo"],
    "ccmn": ["ccmn x1, x2, #2, gt", "ccmn w1, w2, #4, le", "ccmn x1, #7, #10, hi",
             "ccmn w1, #31, #1, al", "ccmn x1, x2, #9, ls", "ccmn w1, #0, #13, pl",
             "ccmn x1, x2, #11, vc", "ccmn w1, w2, #7, ge"],
}


@pytest.mark.parametrize("form", CCMP)
def test_ccmp(form):
    text = "; ".join(f"msr nzcv, x15; {ins}; mrs x{20 + k}, nzcv"
                     for k, ins in enumerate(CCMP[form]))
    fuzz(text, hook=cond_hook(), cases=max(FUZZ, 16))


CSEL = {
    "csel_csinc": "csel x4, x1, x2, eq; csel w5, w1, w2, ne; csel x6, x1, x2, nv;"
                  "csel w7, w1, w2, al; csinc x8, x1, x2, hs; csinc w9, w1, w2, lo;"
                  "csinc x10, xzr, xzr, gt; cset w11, ne; cinc x12, x1, eq",
    "csinv_csneg": "csinv x4, x1, x2, mi; csinv w5, w1, w2, pl; csetm x6, hs; cinv x7, x1, vc;"
                   "csneg x8, x1, x2, lt; csneg w9, w1, w2, vc; cneg w10, w1, mi;"
                   "csneg x11, x1, x2, hi; csinv x12, x1, x2, le; csel x13, x1, x2, ge;"
                   "csel x14, x1, x2, ls; csel x16, x1, x2, vs",
}


@pytest.mark.parametrize("form", CSEL)
def test_csel(form):
    fuzz(CSEL[form], hook=cond_hook(), cases=max(FUZZ, 16))


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
    "dp2_opc4_w": _a("udiv w0, w1, w2", set_bits=4 << 10, clear_bits=2 << 10),
    "crc32x_w": _a("crc32x w0, w1, x2", clear_bits=1 << 31),
    "crc32b_x": _a("crc32b w0, w1, w2", set_bits=1 << 31),
    "smulh_o0": _a("smulh x0, x1, x2", set_bits=1 << 15),
    "smaddl_w": _a("smaddl x0, w1, w2, x3", clear_bits=1 << 31),
    "dp3_op31_3": _a("smaddl x0, w1, w2, x3", set_bits=2 << 21),   # op31 = 011
    "dp3_op54": _a("madd x0, x1, x2, x3", set_bits=1 << 29),
}


def test_dp_reg_reserved():
    """Reserved neighbours of the dp_reg forms are undefined."""
    for word in RESERVED.values():
        undefined(word)


# -- independent references (not Unicorn) ---------------------------------------------

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


# Per width: zero, one, INT_MAX, INT_MIN, all ones (32-bit ones carry junk above bit 31).
FLAG_EDGE = {32: [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xDEADBEEF00000001],
             64: [0, 1, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, M64, 0xFFFFFFFF]}


@pytest.mark.parametrize("w", (32, 64))
def test_add_with_carry_reference(w):
    """ADCS/SBCS (carry 0 and 1) and ADDS/SUBS/CMN against AddWithCarry from the ARM ARM."""
    r = "x" if w == 64 else "w"
    ops = []        # (text, dst, flags reg, subtract, carry in)
    for k, (mnem, sub, cin) in enumerate((("adcs", 0, 0), ("sbcs", 1, 0), ("adcs", 0, 1),
                                          ("sbcs", 1, 1), ("adds", 0, 0), ("subs", 1, 1))):
        dst = 3 + 2 * k
        pre = f"msr nzcv, x{19 + cin}; " if mnem in ("adcs", "sbcs") else ""
        ops.append((f"{pre}{mnem} {r}{dst}, {r}1, {r}2; mrs x{dst + 1}, nzcv", dst, dst + 1, sub, cin))
    code = asm("; ".join(op[0] for op in ops))
    for x, y in itertools.product(FLAG_EDGE[w], FLAG_EDGE[w]):
        res_run = run_snippet(code, regs={1: x, 2: y, 19: 0, 20: 1 << 29})
        assert res_run.reason == ExitReason.BRK
        for text, d, fl, sub, cin in ops:
            res, nzcv = awc(x, ~y if sub else y, cin, w)
            got = (res_run.cpu.x[d], res_run.cpu.x[fl])
            assert got == (res, nzcv << 28), (hex(x), hex(y), text)


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
    """CRC-32 and CRC-32C check values of b'123456789', and zlib on random data."""
    msg = b"123456789"
    assert _crc_run("crc32b w0, w0, w1", msg, 0xFFFFFFFF) ^ 0xFFFFFFFF == 0xCBF43926
    assert _crc_run("crc32cb w0, w0, w1", msg, 0xFFFFFFFF) ^ 0xFFFFFFFF == 0xE3069283
    data = random.Random(7).randbytes(16)
    ref = zlib.crc32(data)
    for form in ("crc32h w0, w0, w1", "crc32w w0, w0, w1", "crc32x w0, w0, x1"):
        assert _crc_run(form, data, 0xFFFFFFFF) ^ 0xFFFFFFFF == ref, form
    c8 = _crc_run("crc32cx w0, w0, x1", msg[:8], 0xFFFFFFFF)
    assert _crc_run("crc32cb w0, w0, w1", msg[8:], c8) ^ 0xFFFFFFFF == 0xE3069283


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


# -- dp_imm ---------------------------------------------------------------------------

def _adr_word(op, imm, rd):
    imm &= (1 << 21) - 1
    return (op << 31) | ((imm & 3) << 29) | (0b10000 << 24) | ((imm >> 2) << 5) | rd


def test_adr_adrp():
    """ADR/ADRP with forward, backward, extreme and unaligned offsets."""
    for op in (0, 1):
        imms = (0, 4, -4, 0xFFFFF, -0x100000, 0x123, -0x777, 3)
        words = [_adr_word(op, imm, 4 + k) for k, imm in enumerate(imms)]
        runs_clean(words)
        check(words, cases=FUZZ)
    check("adr x4, fwd; nop; fwd: nop; back: nop; adr x5, back", cases=FUZZ)


DP_IMM = {
    "add_imm": "add x4, x1, #4095; add w5, w1, #1, lsl #12; sub x6, x1, #1; mov x7, sp;"
               "add x8, sp, #16; sub w9, w1, #0x800; add w10, wsp, #7",
    "adds_imm": with_flags("adds x4, x1, #0", "adds w5, w1, #4095", "adds x6, x1, #1, lsl #12",
                           "cmn w1, #1", "adds x7, sp, #8", "cmn x1, #1"),
    "subs_imm": with_flags("subs x4, x1, #1, lsl #12", "subs w5, w1, #0x800", "subs w6, w1, #0",
                           "cmp x1, #0", "cmp sp, #4", "cmp x1, #1", "cmp w1, #1"),
    "sp_imm": "add sp, sp, #16; mov x4, sp; sub sp, x1, #8; mov x5, sp; add wsp, w1, #3;"
              "mov x6, sp; mov sp, x2",
    "log_imm": "and x4, x1, #0xff; and w5, w1, #0x80000001; orr x6, x1, #0x5555555555555555;"
               "orr w7, wzr, #0xf0f0f0f0; eor x8, x1, #0xfffffffffffffffe;"
               "eor w9, w1, #0x3ffffffc; mov x10, #0x00ff00ff00ff00ff",
    "ands_imm": with_flags("ands x4, x1, #0x8000000000000000", "ands w5, w1, #1", "tst x1, #0x7",
                           "ands w6, w1, #0xffff0000", "tst w1, #0x80000000"),
    "log_imm_sp": "and sp, x1, #0xfffffffffffffff0; mov x4, sp; eor wsp, w1, #0xffff",
    "movz_movn": "movz x4, #0x1234, lsl #48; movz w5, #0xffff, lsl #16; movz x6, #0;"
                 "movn x7, #5, lsl #32; movn w8, #0; movn w9, #0x1234, lsl #16;"
                 "mov x10, #-2; mov w11, #0x12340000",
    "movk": "movk x1, #0xbeef, lsl #16; movk w2, #0x1234, lsl #16; movk x3, #0xffff;"
            "movk x4, #1, lsl #48; movk x4, #2, lsl #32; movk w5, #7",
    "shift_imm": "asr x4, x1, #63; asr w5, w1, #5; lsl x6, x1, #1; lsl w7, w1, #31;"
                 "lsr x8, x1, #32; lsr w9, w1, #0; asr x10, x1, #0; lsl x11, x1, #63",
    "extend": "sxtb x4, w1; sxth w5, w1; sxtw x6, w1; uxtb w7, w1; uxth w8, w1; sxtb w9, w1;"
              "sxth x10, w1",
    "bfi_bfxil": "bfi x4, x1, #60, #4; bfi w5, w1, #0, #32; bfxil x6, x1, #3, #10;"
                 "bfxil w7, w1, #31, #1; bfc x8, #3, #4; bfi w9, w1, #31, #1;"
                 "bfxil x10, x1, #0, #64",
    "bitfield_extract": "sbfx w4, w1, #5, #27; sbfx x5, x1, #63, #1; ubfx x6, x1, #0, #64;"
                        "ubfx w7, w1, #7, #9; sbfiz x8, x1, #3, #10; ubfiz w9, w1, #3, #10;"
                        "sbfiz w10, w1, #31, #1; ubfiz x11, x1, #40, #24",
    "extr": "extr x4, x1, x2, #5; extr w5, w1, w2, #31; ror x6, x1, #63; extr x7, x1, x2, #0;"
            "ror w8, w1, #1; extr w9, w1, w2, #0; extr x10, x1, x1, #32",
}


@pytest.mark.parametrize("form", DP_IMM)
def test_dp_imm(form):
    fuzz(DP_IMM[form])


def _log_imm_reserved(sf, nb, imms):
    """Reserved per DecodeBitMasks (written independently of translator/isa/common.py)."""
    if not sf and nb:
        return True
    length = ((nb << 6) | (~imms & 0x3F)).bit_length() - 1
    if length < 1:
        return True
    levels = (1 << length) - 1
    return imms & levels == levels


def test_logical_imm_sweep():
    """Random valid (N, immr, imms) for AND/ORR/EOR/ANDS, both widths, 6 per sequence."""
    rng = random.Random(11)
    for _ in range(6):
        words = []
        while len(words) < 6:
            sf, opc, nb = rng.randrange(2), rng.randrange(4), rng.randrange(2)
            immr, imms = rng.randrange(64), rng.randrange(64)
            if _log_imm_reserved(sf, nb, imms):
                continue
            words.append((sf << 31) | (opc << 29) | (0b100100 << 23) | (nb << 22)
                         | (immr << 16) | (imms << 10) | (1 << 5) | (4 + len(words)))
        runs_clean(words)
        check(words, cases=SWEEP)


def test_bitfield_sweep():
    """Random SBFM/BFM/UBFM immr/imms in both widths (incl. imms < immr), 6 per sequence."""
    rng = random.Random(12)
    for _ in range(6):
        words = []
        for k in range(6):
            sf, opc = rng.randrange(2), rng.randrange(3)
            top = 64 if sf else 32
            words.append((sf << 31) | (opc << 29) | (0b100110 << 23) | (sf << 22)
                         | (rng.randrange(top) << 16) | (rng.randrange(top) << 10)
                         | (1 << 5) | (4 + k))
        runs_clean(words)
        check(words, cases=SWEEP)


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


def test_dp_imm_reserved():
    """Reserved neighbours of the dp_imm forms are undefined."""
    for word in DP_IMM_RESERVED.values():
        undefined(word)


# -- branches --------------------------------------------------------------------------

CONDS = ["eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc",
         "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"]


@pytest.mark.parametrize("cc", CONDS)
def test_b_cond(cc):
    """B.cond under all 16 NZCV values."""
    runs_clean(f"b.{cc} skip; movz x0, #1; skip: nop")
    check(f"b.{cc} skip; movz x0, #1; skip: nop", cases=FUZZ, state_hook=nzcv_cycle())


BRANCHES = {
    "b": "b skip; movz x0, #1; skip: nop",
    "bl": "bl skip; movz x0, #1; skip: nop",
    "b_back": "b fwd; back: movz x1, #7; b done; fwd: b back; done: nop",
    "loop": "movz x0, #5; loop: subs x0, x0, #1; add x2, x2, #3; b.ne loop",
    "br": "adr x1, skip; br x1; movz x0, #1; skip: nop",
    "blr": "adr x1, skip; blr x1; movz x0, #1; skip: nop",
    "blr_x30": "adr x30, skip; blr x30; movz x0, #1; skip: nop",
    "ret": "adr x30, skip; ret; movz x0, #1; skip: nop",
    "ret_x3": "adr x3, skip; ret x3; movz x0, #1; skip: nop",
    "call_ret": "bl fn; movz x5, #9; b done; fn: movz x4, #3; ret; done: nop",
}


@pytest.mark.parametrize("form", BRANCHES)
def test_branch(form):
    runs_clean(BRANCHES[form])
    check(BRANCHES[form], cases=FUZZ)


CBZ_TBZ = {
    "cbz_cbnz": "cbz x1, l1; movz x4, #1; l1: cbz w1, l2; movz x5, #1;"
                "l2: cbnz x1, l3; movz x6, #1; l3: cbnz w1, l4; movz x7, #1; l4: nop",
    "tbz_tbnz": "tbz x1, #0, l1; movz x4, #1; l1: tbz w1, #31, l2; movz x5, #1;"
                "l2: tbz x1, #32, l3; movz x6, #1; l3: tbnz x1, #63, l4; movz x7, #1;"
                "l4: tbnz w1, #3, l5; movz x8, #1; l5: tbnz x1, #40, l6; movz x9, #1; l6: nop",
    "cbnz_loop": "movz x1, #4; loop: sub x1, x1, #1; cbnz x1, loop",
}


@pytest.mark.parametrize("form", CBZ_TBZ)
def test_cbz_tbz(form):
    fuzz(CBZ_TBZ[form], hook=zero_hook)


def test_udf_hlt_undefined():
    """UDF #imm and HLT #imm are undefined at EL0 (SIGILL), PC at the instruction."""
    undefined(0x00001234)           # UDF #0x1234
    undefined(0xD4400000 | 7 << 5)  # HLT #7


# -- system: NZCV, hints, barriers ---------------------------------------------------------

SYSTEM = {
    "nzcv": "mrs x4, nzcv; msr nzcv, x1; mrs x5, nzcv; cset x6, eq; cset x7, hs; cset x8, mi;"
            "cset x9, vs; msr nzcv, x2",
    "hints": "nop; yield; wfe; sev; sevl; hint #34; hint #6; hint #127",
    "barriers": asm("dmb ish; dmb ishld; dsb sy; isb; clrex") + [0xD50330FF],  # ... SB
}


@pytest.mark.parametrize("form", SYSTEM)
def test_system(form):
    fuzz(SYSTEM[form], hook=None)


# -- exception-generating instructions and SYS (cache maintenance, DC ZVA) ----------------------
# Unicorn's interrupt hook stops at the exception (tests/unicorn_rig.py `termination`): after
# SVC both engines must stop past it, after BRK #imm, HLT and UDF at the instruction, with the
# whole state equal.

def _svc(imm):
    return 0xD4000001 | (imm << 5)


def _brk(imm):
    return 0xD4200000 | (imm << 5)


EXCEPTIONS = {
    "svc": asm("add x0, x1, x2; mrs x4, nzcv") + [_svc(0)] + asm("add x3, x4, x5"),
    "svc_imm": [_svc(0xFFFF)] + asm("movz x0, #1"),
    "svc_after_flags": asm("adds x0, x1, x2; csinc x6, x1, x2, mi") + [_svc(0x1234)],
    "brk_imm": asm("movz x0, #1") + [_brk(0x3E8)] + asm("movz x1, #2"),
    "brk_max": asm("subs x3, x1, x2") + [_brk(0xFFFF)],
    "brk_zero_early": asm("add x0, x1, x2") + [_brk(0)] + asm("movz x1, #2"),
    "hlt": asm("eor x0, x1, x2") + [0xD4400000 | (7 << 5)] + asm("movz x1, #2"),
    "hlt_max": [0xD4400000 | (0xFFFF << 5)],
    "udf": asm("orr x0, x1, x2") + [0x00001234] + asm("movz x1, #2"),
    "udf_zero": [0x00000000],
}


@pytest.mark.parametrize("form", EXCEPTIONS)
def test_exception_instructions(form):
    check(EXCEPTIONS[form], cases=FUZZ, state_hook=pairs_hook)


SYS_OPS = {
    # DC CVAU, IC IVAU, DC CIVAC, DC CVAC, DC CVAP, DC CVADP (no-ops for user code), DC ZVA
    "cache_maintenance": asm("dc cvau, x2; ic ivau, x3; dc civac, x4; dc cvac, x5")
                         + [0xD50B7C21, 0xD50B7D26, 0xD50B7520 | 7],
    "dc_zva": asm("dc zva, x1; dc zva, x2; add x3, x1, #0x45; dc zva, x3; ldr x4, [x1]"),
}


@pytest.mark.parametrize("form", SYS_OPS)
def test_sys(form):
    check(SYS_OPS[form], cases=FUZZ, data_regs=(1, 2, 3, 4, 5, 6, 7))


# -- random encodings of every dp_imm / dp_reg row (tests/test_isa_simd.py encoding_sweep) ------

from tests.test_isa_simd import row_chunks, encoding_sweep  # noqa: E402

DP_ROWS = row_chunks(("dp_imm", "dp_reg"))


@pytest.mark.parametrize("rows", [c[1] for c in DP_ROWS], ids=[c[0] for c in DP_ROWS])
def test_encoding_sweep(rows):
    encoding_sweep(rows)
