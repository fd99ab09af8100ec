"""Differential rig: run the same code in Unicorn and through the JIT.

Owns: assembling (keystone) or taking raw words, random and edge-value
machine states, running both engines from the same state until the BRK #0
after the code, and a full comparison of X0-X30, SP, PC, NZCV, V0-V31,
the whole FPSR (every cumulative flag: IOC DZC OFC UFC IXC IDC QC, no tolerance)
and the data pages.  Semantics tests in
tests/test_isa_*.py build on `check`.

States: CASES per check (EMU_FUZZ_CASES, default 300; a larger value is the
deeper run).  The first len(EDGE64) states of a check sweep the X registers
through EDGE64 (0, 1, -1, INT_MIN/INT_MAX of 8, 16, 32 and 64 bits, sign-
extended forms, shift-sized values) with NZCV walking all 16 values; the rest
are random with edge values mixed in.

How a run ends (`termination`): both at the final BRK #0; or both at the same
CPU exception (Unicorn's interrupt hook stops it: SVC past the instruction,
BRK #imm, HLT and undefined instructions at it), after which the whole state is
compared too; or both at a memory/alignment fault of the same kind (read, write,
fetch, alignment) and address (`fault_mismatch`), after which the state is compared
but for what the architecture leaves UNKNOWN (`fault_leeway`).

Speed (hundreds of states per form in the default run): one Unicorn
instance per process, its memory mapped once; each case restores the CPU
context saved when it was made (so nothing - registers, PSTATE, the
exclusive monitor - leaks from one case into the next), writes the
registers in one batch call and the data/stack pages, and rewrites the code
region only when the code differs from what is there (checked after every
run, so code that stores into its own page is rewritten for the next
case).  The JIT side (emu/snippet.py) keeps the translation and the page
mappings across states of the same code; the states rotate through SHAPES:
tier 1 and tier 2 (instcombine/GVN, codegen O2), each one block per region and
as the multi-block regions `emu run` builds.

qemu-aarch64 7.2 is the second oracle (run_qemu_batch, at the end of this
file) for forms Unicorn cannot run or gets wrong.
"""
import ctypes
import os
import random
import re
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
        self.fault = None                  # (access type, address) of the first bad access
        uc.hook_add(unicorn.UC_HOOK_INTR, self._on_exception)
        uc.hook_add(unicorn.UC_HOOK_MEM_INVALID, self._on_bad_access)
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

    def _on_bad_access(self, uc, access, address, size, value, _user):
        if self.fault is None:
            self.fault = (access, address)
        return False                       # not handled: the access faults

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
        self.trap = self.fault = None
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
            "fault": self.fault,
        }


_engine = None


def unicorn_runs(words):
    """Does Unicorn run `words` to the end from a plain state?  (A probe for the claim that a
    form is beyond it; not a differential case.)"""
    u = _Engine().run(words, random_state(random.Random(0)), 0)
    return u["error"] is None and u["trap"] is None


def run_unicorn(words, st, fpcr=0):
    global _engine
    if _engine is None:
        _engine = _Engine()
    return _engine.run(words, st, fpcr)


# The shapes of translated code each check rotates through, by state number: (tier, batch).
# Tier 1 one block per region; tier 2 (the optimised code hot loops get); and both with the
# multi-block regions `emu run` builds (batch: a region takes in the blocks its code reaches).
SHAPES = (("auto", False), (2, False), ("auto", True), (2, True))


def run_jit(words, st, fpcr=0):
    """Our JIT from state st, in the shape SHAPES gives its state number."""
    case = st.get("case")
    tier, batch = SHAPES[case % len(SHAPES)] if case is not None else SHAPES[0]
    r = run_snippet(words, regs=st["regs"], sp=st["sp"], nzcv=st["nzcv"], vregs=st["vregs"],
                    fpcr=fpcr, pages=[(DATA_BASE, st["data"]), (STACK_BASE, st["stack"])],
                    tier=tier, batch=batch)
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
UC_MEMORY_FAULTS = {unicorn.UC_ERR_READ_UNMAPPED, unicorn.UC_ERR_WRITE_UNMAPPED,
                    unicorn.UC_ERR_FETCH_UNMAPPED, unicorn.UC_ERR_READ_PROT,
                    unicorn.UC_ERR_WRITE_PROT, unicorn.UC_ERR_FETCH_PROT}


def termination(words, u, j):
    """How the two engines stopped: (diffs, stop).  stop=False: compare the whole state
    next (both reached the final BRK #0; both took the same exception: SVC, BRK #imm, an
    undefined instruction; both stopped at a memory or alignment fault, whose state is
    precise in both: PC at the faulting instruction, registers and memory as before it)."""
    end = CODE_BASE + 4 * len(words)
    j_done = j["reason"] == ExitReason.BRK and j["pc"] == end and j["info"] == 0
    trap = u.get("trap")
    u_done = u["error"] is None and trap is None
    if j_done and u_done:
        return [], False
    if trap is not None and not j_done and TRAP_OF.get(j["reason"]) == trap[0]:
        return [], False
    if not j_done and j["reason"] in FAULTS and (
            getattr(u["error"], "errno", None) in UC_MEMORY_FAULTS
            or (trap is not None and trap[0] in (EXCP_PREFETCH_ABORT, EXCP_DATA_ABORT))):
        wrong = fault_mismatch(words, u, j)
        return ([wrong], True) if wrong else ([], False)
    what = (f"exception {trap[0]} at {trap[1]:#x}" if trap is not None
            else str(u["error"]) if u["error"] is not None else f"done at {u['pc']:#x}")
    return [f"termination: unicorn {what}, jit {j['reason']!r} at {j['pc']:#x} "
            f"info={j['info']:#x}"], True


# The kind of a fault: JIT exit reason -> Unicorn's invalid-access types for it (None: no
# access reached memory; an alignment fault is an exception before the access).
_UC_KINDS = {
    ExitReason.FAULT_READ: {unicorn.UC_MEM_READ_UNMAPPED, unicorn.UC_MEM_READ_PROT},
    ExitReason.FAULT_WRITE: {unicorn.UC_MEM_WRITE_UNMAPPED, unicorn.UC_MEM_WRITE_PROT},
    ExitReason.FAULT_EXEC: {unicorn.UC_MEM_FETCH_UNMAPPED, unicorn.UC_MEM_FETCH_PROT},
    ExitReason.ALIGN: {None},
}
ANY_ACCESS = "read or write"   # the qemu runner sees SIGSEGV's si_addr, not the access type
# Read-modify-write atomics: a fault on the read half is reported as a write (ESR.WnR = 1,
# as for an atomic on Linux); QEMU probes the read first.
_RMW = re.compile(r"^(cas|swp|ld(add|clr|eor|set|smax|smin|umax|umin))")


def _faulting_insn(words, pc):
    """(mnemonic, operands) of the word at pc, as capstone shows them; ("", "") outside."""
    k = (pc - CODE_BASE) // 4
    if not 0 <= k < len(words):
        return "", ""
    from translator.decoder import capstone_view
    return capstone_view(words[k] & 0xFFFFFFFF, pc)[:2]


def fault_mismatch(words, u, j):
    """Both engines stopped at a fault: do they agree on its kind and address?  The JIT
    reports the start of the access (exit_info), Unicorn the address of the first part that
    faulted, which is the start or a later byte of the same access (a page-crossing access
    faults in its tail), so the two may differ by less than EDGE_BYTES, Unicorn's never
    below.  Returns a description of the disagreement, or None."""
    kind = None if u["fault"] is None else u["fault"][0]
    kinds = _UC_KINDS[j["reason"]]
    if kind == ANY_ACCESS and j["reason"] in (ExitReason.FAULT_READ, ExitReason.FAULT_WRITE):
        pass                                # qemu's si_addr only: read or write unknown
    elif kind not in kinds and not (j["reason"] == ExitReason.FAULT_WRITE
                                  and kind == unicorn.UC_MEM_READ_UNMAPPED
                                  and _RMW.match(_faulting_insn(words, j["pc"])[0])):
        return (f"fault kind: unicorn access type {kind}, jit {j['reason']!r} at "
                f"{j['info']:#x}")
    if kind is not None and not 0 <= u["fault"][1] - j["info"] < EDGE_BYTES:
        return f"fault address: unicorn {u['fault'][1]:#x}, jit {j['info']:#x}"
    return None


EDGE_BYTES = 64      # the most one instruction stores (ST1/ST4 of four Q registers)
_REG_TOKEN = re.compile(r"\b([xwqdshbv])(\d+)\b")


def fault_leeway(words, u, j):
    """What may differ after both engines stopped at the same memory or alignment fault, as
    the architecture leaves it UNKNOWN, and nothing more:
    - a faulting load: its destination registers (those named before the address operand;
      QEMU may have loaded the first of several before the fault); memory must be equal;
    - a faulting store: the bytes it would have written in the mapped page before the one
      that faulted (QEMU may have written them; emu writes nothing of a faulting access),
      which can only be the last EDGE_BYTES of the data or stack window, where a store runs
      into the unmapped page above; every register must be equal (its sources too).
    Returns (registers to skip, as ("x"|"v", n); whether the windows' top edges may differ)."""
    if j["reason"] not in FAULTS or u["error"] is None and u.get("trap") is None:
        return set(), False
    if j["reason"] == ExitReason.FAULT_WRITE:
        return set(), True
    if j["reason"] != ExitReason.FAULT_READ:
        return set(), False
    _, ops = _faulting_insn(words, j["pc"])
    skip = {("x" if r in "xw" else "v", int(n)) for r, n in _REG_TOKEN.findall(ops.split("[")[0])}
    return skip, False


def same_memory(a, b, top_edge=False):
    """Equal pages (with top_edge: apart from the last EDGE_BYTES)."""
    return a == b or (top_edge and a[:-EDGE_BYTES] == b[:-EDGE_BYTES])


# FPSR cumulative flags (IOC DZC OFC UFC IXC IDC) and QC: all compared by default.
IOC, DZC, OFC, UFC, IXC, IDC = 1, 2, 4, 8, 16, 128
QC = 1 << 27
FPSR_ALL = IOC | DZC | OFC | UFC | IXC | IDC | QC
FPCR_FZ, FPCR_RMODE = 1 << 24, 3 << 22

def compare(words, st, text="", fpcr=0, check_fpsr=True, check_v=True, expect=None):
    """Run both engines; return a list of mismatch descriptions (empty = equal).  The whole
    FPSR is compared (check_fpsr=False: not at all)."""
    u = run_unicorn(words, st, fpcr)
    j = run_jit(words, st, fpcr)
    wrong = expect_mismatch(expect, words, u, j)
    if wrong:
        return [wrong]
    return differences(words, u, j, check_fpsr=check_fpsr, check_v=check_v)


def differences(words, u, j, check_fpsr=True, check_v=True, name="jit"):
    """The mismatches between an oracle's run `u` and one of ours `j` (run_jit's shape; tier
    0's tests use it too, under its own `name`): how each ended, then X0-X30, SP, NZCV, PC,
    V0-V31, FPSR and both pages, less what `fault_leeway` allows after a fault."""
    diffs, stop = termination(words, u, j)
    if stop:
        return diffs
    skip, edges = fault_leeway(words, u, j)
    for n in range(31):
        if u["x"][n] != j["x"][n] and ("x", n) not in skip:
            diffs.append(f"x{n}: unicorn={u['x'][n]:#x} {name}={j['x'][n]:#x}")
    for k in ("sp", "nzcv", "pc"):
        if u[k] != j[k]:
            diffs.append(f"{k}: unicorn={u[k]:#x} {name}={j[k]:#x}")
    if check_v:
        for n in range(32):
            if u["v"][n] != j["v"][n] and ("v", n) not in skip:
                diffs.append(f"v{n}: unicorn={u['v'][n]:#034x} {name}={j['v'][n]:#034x}")
    if check_fpsr and (u["fpsr"] ^ j["fpsr"]) & FPSR_ALL:
        diffs.append(f"fpsr: unicorn={u['fpsr']:#x} {name}={j['fpsr']:#x}")
    for k in ("data", "stack"):
        if not same_memory(u[k], j[k], edges):
            first = next(i for i in range(len(u[k])) if u[k][i] != j[k][i])
            diffs.append(f"{k} memory differs first at +{first:#x}")
    return diffs


def outcome(words, r):
    """How one engine's run ended: "completes" (the final BRK #0), "undef" (an undefined
    instruction), "fault" (a memory or alignment fault) or "other" (SVC, BRK #imm, ...).
    r: a run_jit result (it has "reason") or an oracle's (run_unicorn, run_qemu_batch)."""
    end = CODE_BASE + 4 * len(words)
    if "reason" in r:
        if r["reason"] == ExitReason.BRK and r["pc"] == end and r["info"] == 0:
            return "completes"
        return {ExitReason.UNDEF: "undef"}.get(r["reason"],
                                               "fault" if r["reason"] in FAULTS else "other")
    trap = r.get("trap")
    if r["error"] is None and trap is None:
        return "completes"
    if trap is not None and trap[0] == EXCP_UDEF:
        return "undef"
    if getattr(r["error"], "errno", None) in UC_MEMORY_FAULTS or (
            trap is not None and trap[0] in (EXCP_PREFETCH_ABORT, EXCP_DATA_ABORT)):
        return "fault"
    return "other"


EXPECTS = ("completes", "undef", "fault")


def expect_mismatch(expect, words, oracle, j, oracle_name="unicorn"):
    """With expect set, both engines must end that way (a word a test calls reserved must
    be UNDEF in both, not merely fail alike; an advertised sample must run)."""
    if expect is None:
        return None
    assert expect in EXPECTS, expect
    got = (outcome(words, oracle), outcome(words, j))
    if got != (expect, expect):
        return f"expected {expect} in both: {oracle_name} {got[0]}, jit {got[1]}"
    return None


def check(text_or_words, cases=None, seed=1, data_regs=(), fpcr=0, check_fpsr=True,
          state_hook=None, expect=None):
    """Fuzz one instruction (or sequence) over `cases` random states; assert equal (and,
    with expect, that both engines end as expected in every state)."""
    words = asm(text_or_words) if isinstance(text_or_words, str) else list(text_or_words)
    assert words, f"nothing assembled for {text_or_words!r}"
    rng = random.Random(f"{seed}:{text_or_words}")
    cases = CASES if cases is None else cases
    for k in range(cases):
        st = random_state(rng, data_regs, case=k)
        if state_hook:
            state_hook(rng, st)
        diffs = compare(words, st, fpcr=fpcr, check_fpsr=check_fpsr, expect=expect)
        assert not diffs, f"{text_or_words!r} case {k}: " + "; ".join(diffs[:6])


# -- the second oracle: qemu-aarch64 7.2 ----------------------------------------------------------
# For forms Unicorn 2.1 (QEMU 5) cannot run (FEAT_I8MM) or gets wrong.  A static AArch64 program
# (QEMU_RUNNER_C, built with the cross compiler, cached) maps the code at CODE_BASE followed by
# BRK #0 and the data/stack pages at DATA_BASE/STACK_BASE, reads states from stdin, loads every
# register, runs the code and writes back the registers from the signal context of the signal
# that ends the run (SIGTRAP at the final BRK is the normal end; SIGILL an undefined
# instruction, SIGTRAP elsewhere a BRK #imm, SIGSEGV/SIGBUS a memory fault) and both pages.
# One qemu process runs all the states of a check.  SVC would make a real system call in the
# runner, so code holding SVC is refused.

QEMU_RUNNER_C = r"""/* qemu-aarch64 state runner for tests/unicorn_rig.py (run_qemu_batch).
   stdin: records {u32 ncode; u32 code[ncode] (ncode 0: same code as before);
                   u64 x[31], sp, nzcv, fpcr; u64 v[64]; u8 data[8192]; u8 stack[8192]}
   stdout: per record {u64 sig, pc, x[31], sp, nzcv, fpsr; u64 v[64]; u8 data[8192]; u8 stack[8192]}
   The code runs at 0x10000 followed by BRK #0; every run ends in a signal (SIGTRAP at the
   final BRK is the normal end) whose ucontext gives the registers. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE_BASE 0x10000UL
#define CODE_SIZE 0x10000UL
#define DATA_BASE 0x200000UL
#define STACK_BASE 0x300000UL
#define PAGES 0x2000UL

struct in_state { uint64_t x[31], sp, nzcv, fpcr, v[64]; };
struct out_state { uint64_t sig, pc, x[31], sp, nzcv, fpsr, v[64], addr; };

static struct in_state in;
static struct out_state out;
static sigjmp_buf back;
static void (*enter)(const struct in_state *);

void enter_guest(const struct in_state *s);
__asm__(
    ".globl enter_guest\n"
    ".globl enter_guest_end\n"
    "enter_guest:\n"
    "  add x1, x0, #272\n"
    "  ldp q0, q1, [x1, #0]\n   ldp q2, q3, [x1, #32]\n   ldp q4, q5, [x1, #64]\n"
    "  ldp q6, q7, [x1, #96]\n  ldp q8, q9, [x1, #128]\n  ldp q10, q11, [x1, #160]\n"
    "  ldp q12, q13, [x1, #192]\n ldp q14, q15, [x1, #224]\n ldp q16, q17, [x1, #256]\n"
    "  ldp q18, q19, [x1, #288]\n ldp q20, q21, [x1, #320]\n ldp q22, q23, [x1, #352]\n"
    "  ldp q24, q25, [x1, #384]\n ldp q26, q27, [x1, #416]\n ldp q28, q29, [x1, #448]\n"
    "  ldp q30, q31, [x1, #480]\n"
    "  ldr x1, [x0, #256]\n  msr nzcv, x1\n"
    "  ldr x1, [x0, #264]\n  msr fpcr, x1\n"
    "  msr fpsr, xzr\n"
    "  ldr x1, [x0, #248]\n  mov sp, x1\n"
    "  ldp x2, x3, [x0, #16]\n   ldp x4, x5, [x0, #32]\n   ldp x6, x7, [x0, #48]\n"
    "  ldp x8, x9, [x0, #64]\n   ldp x10, x11, [x0, #80]\n ldp x12, x13, [x0, #96]\n"
    "  ldp x14, x15, [x0, #112]\n ldp x16, x17, [x0, #128]\n ldp x18, x19, [x0, #144]\n"
    "  ldp x20, x21, [x0, #160]\n ldp x22, x23, [x0, #176]\n ldp x24, x25, [x0, #192]\n"
    "  ldp x26, x27, [x0, #208]\n ldp x28, x29, [x0, #224]\n ldr x30, [x0, #240]\n"
    "  ldp x0, x1, [x0, #0]\n"
    "  b .\n"                 /* patched in the copy at PAD: b CODE_BASE */
    "enter_guest_end:\n");
extern char enter_guest_end[];
#define PAD 0x30000UL

struct ctx_head { uint32_t magic, size; };
struct fpsimd { struct ctx_head head; uint32_t fpsr, fpcr; uint64_t v[64]; };

static void on_signal(int sig, siginfo_t *si, void *p)
{
    ucontext_t *uc = p;
    mcontext_t *mc = &uc->uc_mcontext;
    out.sig = sig;
    out.addr = (uint64_t)si->si_addr;
    out.pc = mc->pc;
    memcpy(out.x, mc->regs, sizeof out.x);
    out.sp = mc->sp;
    out.nzcv = mc->pstate & 0xF0000000UL;
    struct ctx_head *h = (struct ctx_head *)mc->__reserved;
    while (h->magic && h->size) {
        if (h->magic == 0x46508001) {
            struct fpsimd *f = (struct fpsimd *)h;
            out.fpsr = f->fpsr;
            memcpy(out.v, f->v, sizeof out.v);
        }
        h = (struct ctx_head *)((char *)h + h->size);
    }
    siglongjmp(back, 1);
}

static int get(void *p, size_t n) { return fread(p, 1, n, stdin) == n; }

static void *map_at(unsigned long addr, unsigned long len, int prot)
{
    void *p = mmap((void *)addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)addr) { fprintf(stderr, "runner: cannot map %#lx\n", addr); exit(2); }
    return p;
}

int main(void)
{
    static char altstack[1 << 16];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
    struct sigaction sa;
    uint32_t ncode, code[CODE_SIZE / 4];
    unsigned long last = 0;
    map_at(CODE_BASE, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
    map_at(DATA_BASE, PAGES, PROT_READ | PROT_WRITE);
    map_at(STACK_BASE, PAGES, PROT_READ | PROT_WRITE);
    {   /* the entry pad: a copy of enter_guest whose last word branches to CODE_BASE */
        unsigned long n = (unsigned long)(enter_guest_end - (char *)enter_guest);
        char *pad = map_at(PAD, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC);
        memcpy(pad, (void *)enter_guest, n);
        unsigned long at = PAD + n - 4;
        uint32_t b = 0x14000000u | (uint32_t)(((CODE_BASE - at) >> 2) & 0x3FFFFFF);
        memcpy(pad + n - 4, &b, 4);
        __builtin___clear_cache(pad, pad + n);
        enter = (void (*)(const struct in_state *))pad;
    }
    sigaltstack(&ss, 0);
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigfillset(&sa.sa_mask);
    int sigs[] = { SIGTRAP, SIGILL, SIGSEGV, SIGBUS, SIGFPE };
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &sa, 0);
    setvbuf(stdout, 0, _IOFBF, 1 << 16);
    while (get(&ncode, 4)) {
        if (ncode) {
            if (ncode >= CODE_SIZE / 4 || !get(code, 4 * ncode)) return 3;
            code[ncode] = 0xD4200000;             /* BRK #0 */
            memset((void *)CODE_BASE, 0, last);
            memcpy((void *)CODE_BASE, code, 4 * (ncode + 1));
            last = 4 * (ncode + 1);
            __builtin___clear_cache((char *)CODE_BASE, (char *)CODE_BASE + last);
        }
        if (!get(&in, sizeof in) || !get((void *)DATA_BASE, PAGES) || !get((void *)STACK_BASE, PAGES))
            return 4;
        memset(&out, 0, sizeof out);
        if (!sigsetjmp(back, 1))
            enter(&in);
        __asm__ volatile("msr fpcr, xzr");
        fwrite(&out, sizeof out, 1, stdout);
        fwrite((void *)DATA_BASE, PAGES, 1, stdout);
        fwrite((void *)STACK_BASE, PAGES, 1, stdout);
    }
    fflush(stdout);
    return 0;
}
"""

_QEMU_IN = struct.Struct("<98Q")
_QEMU_OUT = struct.Struct("<101Q")
_QEMU_REC = _QEMU_OUT.size + DATA_SIZE + STACK_SIZE
_SIGILL, _SIGTRAP, _SIGBUS, _SIGFPE, _SIGSEGV = 4, 5, 7, 8, 11
_runner = None


def qemu_runner():
    """Path of the built runner (aarch64-linux-gnu-gcc -static; cached by content)."""
    global _runner
    if _runner is None:
        from harness import oracle
        src = oracle.build_dir() / "qemu_state_runner.c"
        src.parent.mkdir(parents=True, exist_ok=True)
        if not src.is_file() or src.read_text() != QEMU_RUNNER_C:
            src.write_text(QEMU_RUNNER_C)
        _runner = oracle.compile_c(src, "aarch64")
    return _runner


def run_qemu_batch(words, states, fpcr=0):
    """Run `words` from each state under qemu-aarch64 (-cpu max): a list of results shaped
    like run_unicorn's (error/trap say how each run ended)."""
    from harness import oracle
    words = [w & 0xFFFFFFFF for w in words]
    assert not any(w & 0xFFE0001F == 0xD4000001 for w in words), "SVC in code for the qemu runner"
    chunks = []
    for k, st in enumerate(states):
        head = struct.pack("<I", len(words)) + struct.pack(f"<{len(words)}I", *words) if k == 0 \
            else struct.pack("<I", 0)
        x = [st["regs"].get(n, 0) & M64 for n in range(31)]
        q = []
        for n in range(32):
            v = st["vregs"].get(n, 0)
            q += [v & M64, (v >> 64) & M64]
        chunks += [head, _QEMU_IN.pack(*x, st["sp"] & M64, st["nzcv"] & 0xF0000000, fpcr, *q),
                   st["data"], st["stack"]]
    res = oracle.run_qemu([qemu_runner()], stdin=b"".join(chunks), env={"QEMU_CPU": "max"})
    out = res.stdout
    if res.status != 0 or len(out) != _QEMU_REC * len(states):
        raise RuntimeError(f"qemu runner failed: status {res.status}, {len(out)} bytes for "
                           f"{len(states)} states: {res.stderr[-300:]!r}")
    end = CODE_BASE + 4 * len(words)
    results = []
    for k in range(len(states)):
        o = k * _QEMU_REC
        r = _QEMU_OUT.unpack_from(out, o)
        sig, pc = r[0], r[1]
        err = trap = fault = None
        if sig == _SIGTRAP and pc != end:
            trap = (EXCP_BKPT, pc)
        elif sig == _SIGILL:
            trap = (EXCP_UDEF, pc)
        elif sig == _SIGBUS:                   # alignment fault
            trap = (EXCP_DATA_ABORT, pc)
        elif sig == _SIGSEGV:                  # translation fault (read or write: same class)
            err = unicorn.UcError(unicorn.UC_ERR_READ_UNMAPPED)
            fault = (ANY_ACCESS, r[100])
        elif sig != _SIGTRAP:
            err = f"signal {sig} at {pc:#x}"
        results.append({
            "x": list(r[2:33]), "sp": r[33], "pc": pc, "nzcv": r[34], "fpsr": r[35],
            "v": [r[36 + 2 * n] | (r[37 + 2 * n] << 64) for n in range(32)],
            "data": out[o + _QEMU_OUT.size:o + _QEMU_OUT.size + DATA_SIZE],
            "stack": out[o + _QEMU_OUT.size + DATA_SIZE:o + _QEMU_REC],
            "error": err, "trap": trap, "fault": fault,
        })
    return results
