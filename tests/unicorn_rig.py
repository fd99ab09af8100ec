"""Differential rig: run the same code in Unicorn and through the JIT.

Owns: assembling (keystone) or taking raw words, random and edge-value
machine states, running both engines from the same state until the BRK #0
after the code, and a full comparison of X0-X30, SP, PC, NZCV, V0-V31,
FPCR/FPSR (when asked) and the data pages.  Semantics tests in
tests/test_isa_*.py build on `check`.
"""
import random

import keystone
import unicorn
import unicorn.arm64_const as U

from emu.cpustate import ExitReason
from emu.snippet import run_snippet, CODE_BASE, BRK0

DATA_BASE = 0x200000          # two RW pages of random bytes
DATA_SIZE = 0x2000
STACK_BASE = 0x300000         # SP points into the middle of this page pair
STACK_SIZE = 0x2000

EDGE64 = [0, 1, 2, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF,
          0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0x100000000, 0xFFFFFFFF00000000, 63, 64, 31, 32]

_ks = keystone.Ks(keystone.KS_ARCH_ARM64, keystone.KS_MODE_LITTLE_ENDIAN)


def asm(text, addr=CODE_BASE):
    """Assemble with keystone -> list of u32 words."""
    enc, _ = _ks.asm(text, addr)
    b = bytes(enc)
    return [int.from_bytes(b[i:i + 4], "little") for i in range(0, len(b), 4)]


def random_state(rng, data_regs=(), edge_prob=0.3):
    """A random register/flag state.  Registers in data_regs point into the
    data pages (so loads and stores have somewhere to go)."""
    regs = {}
    for n in range(31):
        if rng.random() < edge_prob:
            regs[n] = rng.choice(EDGE64)
        else:
            regs[n] = rng.getrandbits(64)
    for n in data_regs:
        regs[n] = DATA_BASE + 0x800 + rng.randrange(0, 0x800) // 16 * 16
    vregs = {n: rng.getrandbits(128) for n in range(32)}
    return {
        "regs": regs,
        "vregs": vregs,
        "nzcv": rng.getrandbits(4) << 28,
        "sp": STACK_BASE + 0x1000,
        "data": rng.randbytes(DATA_SIZE),
        "stack": rng.randbytes(STACK_SIZE),
    }


def run_unicorn(words, st, fpcr=0):
    uc = unicorn.Uc(unicorn.UC_ARCH_ARM64, unicorn.UC_MODE_ARM)
    try:
        uc.ctl_set_cpu_model(unicorn.arm64_const.UC_CPU_ARM64_MAX)
    except Exception:
        pass
    code = b"".join(w.to_bytes(4, "little") for w in list(words) + [BRK0])
    uc.mem_map(CODE_BASE, 0x10000)
    uc.mem_write(CODE_BASE, code)
    uc.mem_map(DATA_BASE, DATA_SIZE)
    uc.mem_write(DATA_BASE, st["data"])
    uc.mem_map(STACK_BASE, STACK_SIZE)
    uc.mem_write(STACK_BASE, st["stack"])
    # enable FP/SIMD at EL0 (CPACR_EL1.FPEN = 3)
    uc.reg_write(U.UC_ARM64_REG_CPACR_EL1, 3 << 20)
    for n, v in st["regs"].items():
        uc.reg_write(U.UC_ARM64_REG_X0 + n if n < 29 else (U.UC_ARM64_REG_X29 if n == 29 else U.UC_ARM64_REG_X30), v)
    for n, v in st["vregs"].items():
        uc.reg_write(U.UC_ARM64_REG_Q0 + n, v)
    uc.reg_write(U.UC_ARM64_REG_SP, st["sp"])
    uc.reg_write(U.UC_ARM64_REG_NZCV, st["nzcv"])
    uc.reg_write(U.UC_ARM64_REG_FPCR, fpcr)
    uc.reg_write(U.UC_ARM64_REG_FPSR, 0)
    end = CODE_BASE + 4 * len(words)
    err = None
    try:
        uc.emu_start(CODE_BASE, end, count=10000)
    except unicorn.UcError as e:
        err = e
    out = {
        "x": [uc.reg_read(U.UC_ARM64_REG_X0 + n if n < 29 else (U.UC_ARM64_REG_X29 if n == 29 else U.UC_ARM64_REG_X30)) for n in range(31)],
        "sp": uc.reg_read(U.UC_ARM64_REG_SP),
        "pc": uc.reg_read(U.UC_ARM64_REG_PC),
        "nzcv": uc.reg_read(U.UC_ARM64_REG_NZCV) & 0xF0000000,
        "v": [uc.reg_read(U.UC_ARM64_REG_Q0 + n) for n in range(32)],
        "fpsr": uc.reg_read(U.UC_ARM64_REG_FPSR),
        "data": bytes(uc.mem_read(DATA_BASE, DATA_SIZE)),
        "stack": bytes(uc.mem_read(STACK_BASE, STACK_SIZE)),
        "error": err,
    }
    return out


def run_jit(words, st, fpcr=0):
    r = run_snippet(words, regs=st["regs"], sp=st["sp"], nzcv=st["nzcv"], vregs=st["vregs"],
                    fpcr=fpcr, pages=[(DATA_BASE, st["data"]), (STACK_BASE, st["stack"])])
    cpu, mem = r.cpu, r.mem
    return {
        "x": list(cpu.x),
        "sp": cpu.sp,
        "pc": cpu.pc,
        "nzcv": cpu.nzcv,
        "v": [cpu.get_v(n) for n in range(32)],
        "fpsr": cpu.fpsr,
        "data": mem.read(DATA_BASE, DATA_SIZE),
        "stack": mem.read(STACK_BASE, STACK_SIZE),
        "reason": r.reason,
        "info": r.info,
    }


def compare(words, st, text="", fpcr=0, check_fpsr=False, check_v=True):
    """Run both engines; return a list of mismatch descriptions (empty = equal)."""
    u = run_unicorn(words, st, fpcr)
    j = run_jit(words, st, fpcr)
    diffs = []
    if u["error"] is not None or j["reason"] != ExitReason.BRK:
        # Both must fault (or be undefined) together to agree.
        if not (u["error"] is not None and j["reason"] != ExitReason.BRK):
            diffs.append(f"termination: unicorn={u['error']} jit={j['reason']!r} info={j['info']:#x}")
        return diffs
    for n in range(31):
        if u["x"][n] != j["x"][n]:
            diffs.append(f"x{n}: unicorn={u['x'][n]:#x} jit={j['x'][n]:#x}")
    for k in ("sp", "nzcv"):
        if u[k] != j[k]:
            diffs.append(f"{k}: unicorn={u[k]:#x} jit={j[k]:#x}")
    if u["pc"] != j["pc"]:
        diffs.append(f"pc: unicorn={u['pc']:#x} jit={j['pc']:#x}")
    if check_v:
        for n in range(32):
            if u["v"][n] != j["v"][n]:
                diffs.append(f"v{n}: unicorn={u['v'][n]:#034x} jit={j['v'][n]:#034x}")
    if check_fpsr and u["fpsr"] != j["fpsr"]:
        diffs.append(f"fpsr: unicorn={u['fpsr']:#x} jit={j['fpsr']:#x}")
    for k in ("data", "stack"):
        if u[k] != j[k]:
            first = next(i for i in range(len(u[k])) if u[k][i] != j[k][i])
            diffs.append(f"{k} memory differs first at +{first:#x}")
    return diffs


def check(text_or_words, cases=50, seed=1, data_regs=(), fpcr=0, check_fpsr=False,
          state_hook=None):
    """Fuzz one instruction (or sequence) over `cases` random states; assert equal."""
    words = asm(text_or_words) if isinstance(text_or_words, str) else list(text_or_words)
    assert words, f"nothing assembled for {text_or_words!r}"
    rng = random.Random(f"{seed}:{text_or_words}")
    for k in range(cases):
        st = random_state(rng, data_regs)
        if state_hook:
            state_hook(rng, st)
        diffs = compare(words, st, fpcr=fpcr, check_fpsr=check_fpsr)
        assert not diffs, f"{text_or_words!r} case {k}: " + "; ".join(diffs[:6])
