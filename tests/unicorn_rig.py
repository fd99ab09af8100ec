"""Differential rig: run the same code in Unicorn and through the JIT.

Owns: assembling (keystone) or taking raw words, random and edge-value
machine states, running both engines from the same state until the BRK #0
after the code, and a full comparison of X0-X30, SP, PC, NZCV, V0-V31,
FPCR/FPSR (when asked) and the data pages.  Semantics tests in
tests/test_isa_*.py build on `check`.

Speed (hundreds of states per form in the default run): one Unicorn
instance per process, its memory mapped once; each case restores the CPU
context saved when it was made (so nothing - registers, PSTATE, the
exclusive monitor - leaks from one case into the next), writes the
registers in one batch call and the data/stack pages, and rewrites the code
region only when the code differs from what is there (checked after every
run, so code that stores into its own page is rewritten for the next
case).  The JIT side (emu/snippet.py) keeps the translation and the page
mappings across states of the same code.
"""
import ctypes
import os
import random
import struct

import keystone
import unicorn
import unicorn.arm64_const as U
from unicorn.unicorn_py3.unicorn import uclib

from emu.cpustate import ExitReason
from emu.snippet import run_snippet, get_vregs, CODE_BASE, BRK0

DATA_BASE = 0x200000          # two RW pages of random bytes
DATA_SIZE = 0x2000
STACK_BASE = 0x300000         # SP points into the middle of this page pair
STACK_SIZE = 0x2000
CODE_SIZE = 0x10000
M64 = 0xFFFFFFFFFFFFFFFF

# Random states per form in a default run; EMU_FUZZ_CASES=N runs deeper (or shallower).
CASES = int(os.environ.get("EMU_FUZZ_CASES", "300"))

# 0, 1, -1 and the signed/unsigned extremes of every width (8, 16, 32, 64), also
# sign-extended, plus shift-sized values.
EDGE64 = [0, 1, 2, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF,
          0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0x100000000, 0xFFFFFFFF00000000, 63, 64, 31, 32,
          0xFFFFFFFF80000000, 0x8000000000000001, 0xFFFFFFFFFFFFFFFE,
          0x7F, 0x80, 0xFF, 0xFFFFFFFFFFFFFF80, 0x7FFF, 0x8000, 0xFFFF, 0xFFFFFFFFFFFF8000]

_ks = keystone.Ks(keystone.KS_ARCH_ARM64, keystone.KS_MODE_LITTLE_ENDIAN)
_asm_cache = {}


def asm(text, addr=CODE_BASE):
    """Assemble with keystone -> list of u32 words."""
    key = (text, addr)
    if key not in _asm_cache:
        enc, _ = _ks.asm(text, addr)
        b = bytes(enc)
        _asm_cache[key] = [int.from_bytes(b[i:i + 4], "little") for i in range(0, len(b), 4)]
    return list(_asm_cache[key])


def random_state(rng, data_regs=(), edge_prob=0.3, case=None):
    """A random register/flag state.  Registers in data_regs point into the
    data pages (so loads and stores have somewhere to go).

    With `case` (the state's index in a check) below len(EDGE64), X registers sweep
    the edge values instead: Xn = EDGE64[(case + 7n) % len], so every register sees
    every edge value once in the first states of a check, NZCV walking all 16 values."""
    regs = {}
    if case is not None and case < len(EDGE64):
        L = len(EDGE64)
        for n in range(31):
            regs[n] = EDGE64[(case + 7 * n) % L]
        nzcv = (case % 16) << 28
    else:
        for n in range(31):
            if rng.random() < edge_prob:
                regs[n] = rng.choice(EDGE64)
            else:
                regs[n] = rng.getrandbits(64)
        nzcv = rng.getrandbits(4) << 28
    for n in data_regs:
        regs[n] = DATA_BASE + 0x800 + rng.randrange(0, 0x800) // 16 * 16
    vregs = {n: rng.getrandbits(128) for n in range(32)}
    return {
        "regs": regs,
        "vregs": vregs,
        "nzcv": nzcv,
        "sp": STACK_BASE + 0x1000,
        "data": rng.randbytes(DATA_SIZE),
        "stack": rng.randbytes(STACK_SIZE),
        "case": case,
    }


def _xid(n):
    return U.UC_ARM64_REG_X0 + n if n < 29 else (U.UC_ARM64_REG_X29 if n == 29 else U.UC_ARM64_REG_X30)


# Batch register lists: scalars in 8-byte slots, Q registers in 16-byte slots after them.
_W_IDS = [_xid(n) for n in range(31)] + [U.UC_ARM64_REG_SP, U.UC_ARM64_REG_NZCV,
                                         U.UC_ARM64_REG_FPCR, U.UC_ARM64_REG_FPSR]
_R_IDS = [_xid(n) for n in range(31)] + [U.UC_ARM64_REG_SP, U.UC_ARM64_REG_PC,
                                         U.UC_ARM64_REG_NZCV, U.UC_ARM64_REG_FPSR]
_NS = len(_W_IDS)
assert len(_R_IDS) == _NS
_SLOTS = struct.Struct(f"<{_NS}Q64Q")


class _Engine:
    """The process's Unicorn instance and its batch buffers."""

    def __init__(self):
        uc = self.uc = unicorn.Uc(unicorn.UC_ARCH_ARM64, unicorn.UC_MODE_ARM)
        try:
            uc.ctl_set_cpu_model(unicorn.arm64_const.UC_CPU_ARM64_MAX)
        except Exception:
            pass
        uc.mem_map(CODE_BASE, CODE_SIZE)
        uc.mem_map(DATA_BASE, DATA_SIZE)
        uc.mem_map(STACK_BASE, STACK_SIZE)
        # enable FP/SIMD at EL0 (CPACR_EL1.FPEN = 3)
        uc.reg_write(U.UC_ARM64_REG_CPACR_EL1, 3 << 20)
        self.trap = None
        uc.hook_add(unicorn.UC_HOOK_INTR, self._on_exception)
        self.ctx = uc.context_save()
        self.image = None                  # the code region's bytes as last written
        self.handle = uc._uch
        self.bufs = []
        for ids in (_W_IDS, _R_IDS):
            buf = (ctypes.c_uint64 * (_NS + 64))()
            base = ctypes.addressof(buf)
            reglist = (ctypes.c_int * (_NS + 32))(*ids, *range(U.UC_ARM64_REG_Q0, U.UC_ARM64_REG_Q0 + 32))
            ptrs = (ctypes.c_void_p * (_NS + 32))(*[base + 8 * i for i in range(_NS)],
                                                   *[base + 8 * _NS + 16 * n for n in range(32)])
            self.bufs.append((buf, reglist, ptrs))

    def _on_exception(self, uc, intno, _user):
        """A CPU exception (SVC, BRK, UDEF, abort): stop there, as our JIT exits there."""
        self.trap = (intno, uc.reg_read(U.UC_ARM64_REG_PC))
        uc.emu_stop()

    def run(self, words, st, fpcr):
        uc = self.uc
        code = b"".join((w & 0xFFFFFFFF).to_bytes(4, "little") for w in list(words) + [BRK0])
        image = code + bytes(CODE_SIZE - len(code))
        if image != self.image:
            uc.mem_write(CODE_BASE, image)
            uc.ctl_remove_cache(CODE_BASE, CODE_BASE + CODE_SIZE)
            self.image = image
        uc.context_restore(self.ctx)
        uc.mem_write(DATA_BASE, st["data"])
        uc.mem_write(STACK_BASE, st["stack"])
        regs = st["regs"]
        x = [regs.get(n, 0) & M64 for n in range(31)]
        q = []
        for n in range(32):
            v = st["vregs"].get(n, 0)
            q.append(v & M64)
            q.append((v >> 64) & M64)
        buf, reglist, ptrs = self.bufs[0]
        _SLOTS.pack_into(buf, 0, *x, st["sp"] & M64, st["nzcv"] & 0xFFFFFFFF, fpcr & 0xFFFFFFFF, 0, *q)
        status = uclib.uc_reg_write_batch(self.handle, reglist, ptrs, _NS + 32)
        if status != unicorn.UC_ERR_OK:
            raise unicorn.UcError(status)
        err = None
        self.trap = None
        try:
            uc.emu_start(CODE_BASE, CODE_BASE + 4 * len(words), count=10000)
        except unicorn.UcError as e:
            err = e
        buf, reglist, ptrs = self.bufs[1]
        status = uclib.uc_reg_read_batch(self.handle, reglist, ptrs, _NS + 32)
        if status != unicorn.UC_ERR_OK:
            raise unicorn.UcError(status)
        s = _SLOTS.unpack_from(buf, 0)
        # a store into the code region: rewrite it before the next case
        if bytes(uc.mem_read(CODE_BASE, CODE_SIZE)) != image:
            self.image = None
        return {
            "x": list(s[:31]),
            "sp": s[31],
            "pc": s[32],
            "nzcv": s[33] & 0xF0000000,
            "v": [s[_NS + 2 * n] | (s[_NS + 2 * n + 1] << 64) for n in range(32)],
            "fpsr": s[34] & 0xFFFFFFFF,
            "data": bytes(uc.mem_read(DATA_BASE, DATA_SIZE)),
            "stack": bytes(uc.mem_read(STACK_BASE, STACK_SIZE)),
            "error": err,
            "trap": self.trap,
        }


_engine = None


def run_unicorn(words, st, fpcr=0):
    global _engine
    if _engine is None:
        _engine = _Engine()
    return _engine.run(words, st, fpcr)


def run_jit(words, st, fpcr=0):
    r = run_snippet(words, regs=st["regs"], sp=st["sp"], nzcv=st["nzcv"], vregs=st["vregs"],
                    fpcr=fpcr, pages=[(DATA_BASE, st["data"]), (STACK_BASE, st["stack"])])
    cpu, mem = r.cpu, r.mem
    return {
        "x": list(cpu.x),
        "sp": cpu.sp,
        "pc": cpu.pc,
        "nzcv": cpu.nzcv,
        "v": get_vregs(cpu),
        "fpsr": cpu.fpsr,
        "data": mem.read(DATA_BASE, DATA_SIZE),
        "stack": mem.read(STACK_BASE, STACK_SIZE),
        "reason": r.reason,
        "info": r.info,
    }


# QEMU exception numbers Unicorn passes to its interrupt hook, and the JIT exit that
# corresponds to each: after either, the whole state is compared (PC at the BRK or the
# undefined word, past the SVC).
EXCP_UDEF, EXCP_SWI, EXCP_PREFETCH_ABORT, EXCP_DATA_ABORT, EXCP_BKPT = 1, 2, 3, 4, 7
TRAP_OF = {ExitReason.SYSCALL: EXCP_SWI, ExitReason.BRK: EXCP_BKPT,
           ExitReason.UNDEF: EXCP_UDEF, ExitReason.HLT: EXCP_UDEF}
FAULTS = (ExitReason.FAULT_READ, ExitReason.FAULT_WRITE, ExitReason.FAULT_EXEC, ExitReason.ALIGN)


def termination(words, u, j):
    """How the two engines stopped: (diffs, stop).  stop=False: compare the whole state
    next (both reached the final BRK #0, or both took the same exception: SVC, BRK #imm,
    an undefined instruction).  Memory and alignment faults agree when both engines fault
    (Unicorn's PC after a memory fault is not precise, so nothing more is compared)."""
    end = CODE_BASE + 4 * len(words)
    j_done = j["reason"] == ExitReason.BRK and j["pc"] == end and j["info"] == 0
    trap = u.get("trap")
    u_done = u["error"] is None and trap is None
    if j_done and u_done:
        return [], False
    if trap is not None and not j_done and TRAP_OF.get(j["reason"]) == trap[0]:
        return [], False
    if not j_done and j["reason"] in FAULTS and (
            u["error"] is not None or (trap is not None and trap[0] in (EXCP_PREFETCH_ABORT,
                                                                        EXCP_DATA_ABORT))):
        return [], True
    what = (f"exception {trap[0]} at {trap[1]:#x}" if trap is not None
            else str(u["error"]) if u["error"] is not None else f"done at {u['pc']:#x}")
    return [f"termination: unicorn {what}, jit {j['reason']!r} at {j['pc']:#x} "
            f"info={j['info']:#x}"], True


def compare(words, st, text="", fpcr=0, check_fpsr=False, check_v=True):
    """Run both engines; return a list of mismatch descriptions (empty = equal)."""
    u = run_unicorn(words, st, fpcr)
    j = run_jit(words, st, fpcr)
    diffs, stop = termination(words, u, j)
    if stop:
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


def check(text_or_words, cases=None, seed=1, data_regs=(), fpcr=0, check_fpsr=False,
          state_hook=None):
    """Fuzz one instruction (or sequence) over `cases` random states; assert equal."""
    words = asm(text_or_words) if isinstance(text_or_words, str) else list(text_or_words)
    assert words, f"nothing assembled for {text_or_words!r}"
    rng = random.Random(f"{seed}:{text_or_words}")
    cases = CASES if cases is None else cases
    for k in range(cases):
        st = random_state(rng, data_regs, case=k)
        if state_hook:
            state_hook(rng, st)
        diffs = compare(words, st, fpcr=fpcr, check_fpsr=check_fpsr)
        assert not diffs, f"{text_or_words!r} case {k}: " + "; ".join(diffs[:6])
