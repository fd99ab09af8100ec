"""kernel/sigframe.py: the AArch64 rt_sigframe layout against the headers, and the frame code.

The layout oracle is tests/contracts/sigframe_layout.c: built with aarch64-linux-gnu-gcc and
run under qemu-aarch64 it prints sizeof/offsetof of siginfo_t, stack_t, glibc's ucontext_t /
mcontext_t, the kernel's struct ucontext / struct sigcontext, the __reserved[] records, the
kernel's struct rt_sigframe (declared as arch/arm64/kernel/signal.c declares it) and the flag
and code values; every line must equal sigframe.py's constant.  The other tests run
setup_frame / restore_frame on a GuestMemory with a mapped stack: the round trip gives back
the exact CPU state, the frame sits where Linux puts it (alternate stack, 16-byte alignment,
frame record above it), bad frames and unwritable stacks raise the documented exceptions.
The expected values here come from the kernel sources (arch/arm64/kernel/signal.c,
ptrace.c's valid_native_regs, kernel/signal.c's sigsp/on_sig_stack), not from sigframe.py.
"""
import ctypes
import random
from functools import lru_cache

import pytest

from emu.cpustate import CPUState
from emu.memory import GuestMemory, PROT_READ, PROT_WRITE, PROT_EXEC
from harness import oracle
from kernel import abi
from kernel import sigframe as sf
from oracle_helpers import check_reference

SOURCE = oracle.REPO / "tests" / "contracts" / "sigframe_layout.c"
M64 = (1 << 64) - 1


def _expected_layout():
    """The value sigframe.py holds for every line the C program prints."""
    si = dict(sf.SI_OFFSETS, si_signo=sf.Siginfo.si_signo.offset,
              si_errno=sf.Siginfo.si_errno.offset, si_code=sf.Siginfo.si_code.offset)
    uc = {"flags": sf.Ucontext.uc_flags.offset, "link": sf.Ucontext.uc_link.offset,
          "stack": sf.Ucontext.uc_stack.offset, "sigmask": sf.Ucontext.uc_sigmask.offset,
          "mcontext": sf.Ucontext.uc_mcontext.offset}
    sc = sf.Sigcontext
    exp = {"sizeof_siginfo": ctypes.sizeof(sf.Siginfo), **si,
           "sizeof_stack": ctypes.sizeof(abi.StackT), "ss_sp": abi.StackT.ss_sp.offset,
           "ss_flags": abi.StackT.ss_flags.offset, "ss_size": abi.StackT.ss_size.offset,
           "sizeof_kucontext": ctypes.sizeof(sf.Ucontext),
           "sizeof_ucontext": ctypes.sizeof(sf.Ucontext),
           "sizeof_mcontext": ctypes.sizeof(sc), "sizeof_sigcontext": ctypes.sizeof(sc),
           "mc_fault_address": sc.fault_address.offset, "mc_regs": sc.regs.offset,
           "mc_sp": sc.sp.offset, "mc_pc": sc.pc.offset, "mc_pstate": sc.pstate.offset,
           "mc_reserved": sc.reserved.offset, "sc_reserved": sc.reserved.offset,
           "sizeof_sc_reserved": sf.RESERVED_SIZE,
           "sizeof_aarch64_ctx": ctypes.sizeof(sf.Aarch64Ctx),
           "ctx_magic": sf.Aarch64Ctx.magic.offset, "ctx_size": sf.Aarch64Ctx.size.offset,
           "sizeof_fpsimd_context": ctypes.sizeof(sf.FpsimdContext),
           "fpsimd_fpsr": sf.FpsimdContext.fpsr.offset,
           "fpsimd_fpcr": sf.FpsimdContext.fpcr.offset,
           "fpsimd_vregs": sf.FpsimdContext.vregs.offset,
           "sizeof_esr_context": ctypes.sizeof(sf.EsrContext),
           "esr_esr": sf.EsrContext.esr.offset,
           "FPSIMD_MAGIC": sf.FPSIMD_MAGIC, "ESR_MAGIC": sf.ESR_MAGIC,
           "EXTRA_MAGIC": sf.EXTRA_MAGIC, "SVE_MAGIC": sf.SVE_MAGIC,
           "sizeof_rt_sigframe": sf.SIGFRAME_SIZE, "frame_info": sf.RtSigframe.info.offset,
           "frame_uc": sf.OFF_UC, "frame_mcontext": sf.OFF_MCONTEXT,
           "frame_regs": sf.OFF_MCONTEXT + sc.regs.offset, "frame_reserved": sf.OFF_RESERVED,
           "sizeof_frame_record": ctypes.sizeof(sf.FrameRecord)}
    for k, v in uc.items():
        exp[f"kuc_{k}"] = exp[f"uc_{k}"] = v
    for name in ("SA_SIGINFO", "SA_ONSTACK", "SA_RESTART", "SA_NODEFER", "SA_RESETHAND",
                 "SI_USER", "SI_KERNEL", "SI_QUEUE", "SI_TIMER", "SI_TKILL", "SEGV_MAPERR",
                 "SEGV_ACCERR", "BUS_ADRALN", "ILL_ILLOPC", "TRAP_BRKPT", "CLD_EXITED",
                 "CLD_KILLED", "CLD_DUMPED"):
        exp[name] = getattr(sf, name)
    exp["SS_ONSTACK"], exp["SS_DISABLE"] = abi.SS_ONSTACK, abi.SS_DISABLE
    return exp


@lru_cache(maxsize=None)
def _oracle_layout():
    try:
        exe = oracle.compile_c(SOURCE, "aarch64")
    except (oracle.BuildError, oracle.ToolMissing) as e:
        pytest.fail(f"cannot build {SOURCE.name}: {e}", pytrace=False)
    ref = oracle.run_qemu([exe])
    check_reference(ref, "sigframe_layout under qemu-aarch64")
    return {name: int(value) for name, value in
            (line.split() for line in ref.stdout.decode().splitlines())}


def test_layout_matches_aarch64_headers(qemu, aarch64_cc):
    got, exp = _oracle_layout(), _expected_layout()
    assert set(got) == set(exp), f"names differ: {sorted(set(got) ^ set(exp))}"
    wrong = {k: (got[k], exp[k]) for k in got if got[k] != exp[k]}
    assert not wrong, f"(headers, sigframe.py): {wrong}"


def test_layout_matches_the_kernel_sources():
    """Numbers quoted from the kernel: struct rt_sigframe is 4688 bytes, uc at 128,
    uc_mcontext at 304 (176 inside the ucontext), __reserved at 592; the fpsimd record is
    0x210 bytes and the esr record 0x10 (asm/sigcontext.h's allocation table)."""
    assert sf.SIGFRAME_SIZE == ctypes.sizeof(sf.RtSigframe) == 4688
    assert (sf.OFF_UC, sf.OFF_MCONTEXT, sf.OFF_RESERVED) == (128, 304, 592)
    assert ctypes.sizeof(sf.FpsimdContext) == 0x210 and ctypes.sizeof(sf.EsrContext) == 0x10
    assert sf.SA_RESTORER == 0x04000000 and sf.__NR_rt_sigreturn == 139


# ---------------------------------------------------------------------------------------------
# frame code on a real GuestMemory

STACK_LO, STACK_SIZE = 0x7F000000, 0x40000          # [STACK_LO, STACK_HI): the thread stack
STACK_HI = STACK_LO + STACK_SIZE
ALT_LO, ALT_SIZE = 0x60000000, 0x8000               # an alternate stack (SIGSTKSZ-ish)
RO_PAGE = 0x50000000                                # a read-only page
HANDLER, RESTORER, TRAMPOLINE = 0x400100, 0x400800, 0xFFFF0000


@pytest.fixture(scope="module")
def mem():
    m = GuestMemory()
    yield m
    m.release(STACK_LO, STACK_SIZE)
    m.release(ALT_LO, ALT_SIZE)
    m.release(RO_PAGE, 0x1000)


@pytest.fixture
def fresh(mem):
    """Zeroed stack, alternate stack and read-only page for each test."""
    mem.commit(STACK_LO, STACK_SIZE, PROT_READ | PROT_WRITE)
    mem.commit(ALT_LO, ALT_SIZE, PROT_READ | PROT_WRITE)
    mem.commit(RO_PAGE, 0x1000, PROT_READ)
    return mem


def random_cpu(seed, sp=STACK_HI - 0x1000):
    rng = random.Random(seed)
    cpu = CPUState()
    for i in range(31):
        cpu.x[i] = rng.getrandbits(64)
    cpu.sp, cpu.pc = sp, 0x400000 + 4 * rng.randrange(1 << 16)
    cpu.nzcv = rng.getrandbits(4) << 28
    cpu.fpsr = rng.getrandbits(32) & 0xF800009F          # QC, NZCV and the cumulative flags
    cpu.fpcr = rng.getrandbits(32) & 0x07FF9F00
    for i in range(32):
        cpu.set_v(i, rng.getrandbits(128))
    cpu.tpidr = rng.getrandbits(64)
    return cpu


def snapshot(cpu):
    return {"x": list(cpu.x), "sp": cpu.sp, "pc": cpu.pc, "nzcv": cpu.nzcv, "fpsr": cpu.fpsr,
            "fpcr": cpu.fpcr, "v": [cpu.get_v(i) for i in range(32)], "tpidr": cpu.tpidr}


def clobber(cpu, seed):
    """What a handler may do to every register before it returns through the restorer."""
    other = random_cpu(seed + 1000)
    sp = cpu.sp
    ctypes.memmove(ctypes.addressof(cpu), ctypes.addressof(other), ctypes.sizeof(CPUState))
    cpu.sp = sp                      # the restorer runs with SP back at the frame


def altstack(sp=ALT_LO, size=ALT_SIZE, flags=0):
    return abi.StackT(sp, flags, size)


FLAGS = sf.SA_SIGINFO | sf.SA_RESTORER


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("with_esr", [False, True])
def test_round_trip_restores_exact_state(fresh, seed, with_esr):
    cpu = random_cpu(seed, sp=STACK_HI - 0x1000 - 8 * seed)
    before = snapshot(cpu)
    info = sf.siginfo_fault(abi.SIGSEGV, sf.SEGV_MAPERR, 0xDEAD0)
    esr = sf.esr_data_abort(True, sf.FSC_TRANSLATION + 3) if with_esr else None
    blocked = (1 << (abi.SIGUSR2 - 1)) | (1 << 40)
    frame = sf.setup_frame(fresh, cpu, abi.SIGSEGV, info, blocked, HANDLER, FLAGS, RESTORER,
                           fault_address=0xDEAD0, esr=esr)
    assert cpu.sp == frame and frame % 16 == 0
    clobber(cpu, seed)
    mask, stack = sf.restore_frame(fresh, cpu)
    after = snapshot(cpu)
    before["tpidr"] = after["tpidr"]           # not part of the frame (a thread register)
    assert after == before
    assert mask == blocked
    assert (stack.ss_sp, stack.ss_flags, stack.ss_size) == (0, abi.SS_DISABLE, 0)
    assert cpu.excl_addr == M64


def test_frame_contents_and_handler_registers(fresh):
    cpu = random_cpu(7)
    old = snapshot(cpu)
    cpu.excl_addr = 0x1234
    info = sf.siginfo_tkill(abi.SIGUSR1, 4242, 1000)
    frame = sf.setup_frame(fresh, cpu, abi.SIGUSR1, info, 0x5, HANDLER, FLAGS, RESTORER)
    top = old["sp"]
    record = (top - 16) & ~15
    # placement: frame record just below the old SP, the 4688-byte frame right below it
    assert record == top - 16 and frame == record - 4688
    # registers for the handler (arch/arm64/kernel/signal.c setup_return)
    assert cpu.x[0] == abi.SIGUSR1 and cpu.x[1] == frame and cpu.x[2] == frame + 128
    assert cpu.sp == frame and cpu.x[29] == record and cpu.x[30] == RESTORER
    assert cpu.pc == HANDLER and cpu.excl_addr == M64
    assert list(cpu.x[3:29]) == old["x"][3:29]
    assert [cpu.get_v(i) for i in range(32)] == old["v"]
    assert (cpu.nzcv, cpu.fpsr, cpu.fpcr) == (old["nzcv"], old["fpsr"], old["fpcr"])
    # memory, read back field by field at the kernel's offsets
    rd = lambda off, n=8: int.from_bytes(fresh.read(frame + off, n), "little")
    assert fresh.read(frame, 128) == bytes(info)
    assert rd(0, 4) == abi.SIGUSR1 and rd(8, 4) == (sf.SI_TKILL & 0xFFFFFFFF)
    assert rd(16, 4) == 4242 and rd(20, 4) == 1000
    assert rd(128) == 0 and rd(136) == 0                          # uc_flags, uc_link
    assert (rd(144), rd(152, 4), rd(160)) == (0, abi.SS_DISABLE, 0)   # uc_stack
    assert rd(168) == 0x5                                          # uc_sigmask
    assert rd(304) == 0                                            # fault_address
    assert [rd(312 + 8 * i) for i in range(31)] == old["x"]
    assert (rd(560), rd(568), rd(576)) == (old["sp"], old["pc"], old["nzcv"])
    assert (rd(592, 4), rd(596, 4)) == (0x46508001, 528)
    assert (rd(600, 4), rd(604, 4)) == (old["fpsr"], old["fpcr"])
    assert [rd(608 + 16 * i, 16) for i in range(32)] == old["v"]
    assert (rd(592 + 528, 4), rd(592 + 532, 4)) == (0, 0)           # terminator
    assert int.from_bytes(fresh.read(record, 8), "little") == old["x"][29]
    assert int.from_bytes(fresh.read(record + 8, 8), "little") == old["x"][30]


def test_esr_record_follows_fpsimd(fresh):
    cpu = random_cpu(8)
    esr = sf.esr_data_abort(False, sf.FSC_PERMISSION + 3)
    frame = sf.setup_frame(fresh, cpu, abi.SIGSEGV, None, 0, HANDLER, FLAGS, RESTORER,
                           fault_address=0x1000, esr=esr)
    rd = lambda off, n=8: int.from_bytes(fresh.read(frame + off, n), "little")
    assert rd(304) == 0x1000
    assert (rd(592 + 528, 4), rd(592 + 532, 4), rd(592 + 536)) == (0x45535201, 16, esr)
    assert (rd(592 + 544, 4), rd(592 + 548, 4)) == (0, 0)


def test_without_siginfo_x1_x2_are_kept_and_trampoline_used(fresh):
    cpu = random_cpu(9)
    x1, x2 = cpu.x[1], cpu.x[2]
    sf.setup_frame(fresh, cpu, abi.SIGINT, sf.siginfo_kernel(abi.SIGINT), 0, HANDLER, 0,
                   0xBAD, trampoline=TRAMPOLINE)
    assert (cpu.x[1], cpu.x[2], cpu.x[30]) == (x1, x2, TRAMPOLINE)
    with pytest.raises(ValueError):
        sf.setup_frame(fresh, random_cpu(9), abi.SIGINT, None, 0, HANDLER, 0, 0)


def test_trampoline_is_mov_x8_139_svc_0():
    import capstone
    md = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
    insns = [(i.mnemonic, i.op_str) for i in md.disasm(sf.TRAMPOLINE_CODE, 0)]
    assert insns == [("mov", "x8, #0x8b"), ("svc", "#0")]


@pytest.mark.parametrize("misalign", range(16))
def test_frame_is_16_byte_aligned_below_sp(fresh, misalign):
    cpu = random_cpu(10, sp=STACK_HI - 0x2000 - misalign)
    sp = cpu.sp
    frame = sf.setup_frame(fresh, cpu, abi.SIGUSR1, None, 0, HANDLER, FLAGS, RESTORER)
    record = cpu.x[29]
    assert frame % 16 == 0 and record % 16 == 0
    assert record + 16 <= sp and record + 16 > sp - 16        # nothing skipped but alignment
    assert frame + sf.SIGFRAME_SIZE == record
    clobber(cpu, 10)
    sf.restore_frame(fresh, cpu)
    assert cpu.sp == sp


def test_sa_onstack_uses_the_alternate_stack_and_restores_the_original_sp(fresh):
    """The handler runs on the alternate stack, and sigreturn restores the interrupted SP
    (seed 001's kernel restored the wrong one)."""
    cpu = random_cpu(11)
    sp = cpu.sp
    alt = altstack()
    frame = sf.setup_frame(fresh, cpu, abi.SIGUSR1, None, 0, HANDLER,
                           FLAGS | sf.SA_ONSTACK, RESTORER, altstack=alt)
    assert ALT_LO <= frame and cpu.x[29] + 16 == ALT_LO + ALT_SIZE
    assert ALT_LO < cpu.sp <= ALT_LO + ALT_SIZE
    rd = lambda off, n=8: int.from_bytes(fresh.read(frame + off, n), "little")
    assert (rd(144), rd(152, 4), rd(160)) == (ALT_LO, 0, ALT_SIZE)    # uc_stack
    assert rd(560) == sp
    # a nested signal taken on the alternate stack goes below the current SP, not to the top
    inner_sp = cpu.sp - 0x100
    cpu2 = random_cpu(12, sp=inner_sp)
    frame2 = sf.setup_frame(fresh, cpu2, abi.SIGUSR2, None, 0, HANDLER,
                            FLAGS | sf.SA_ONSTACK, RESTORER, altstack=alt)
    assert frame2 + sf.SIGFRAME_SIZE + 16 == inner_sp
    assert sf.altstack_flags(alt, inner_sp) == abi.SS_ONSTACK
    # returning from the outer handler gives back the thread-stack SP
    clobber(cpu, 11)
    cpu.sp = frame
    mask, stack = sf.restore_frame(fresh, cpu)
    assert cpu.sp == sp
    assert (stack.ss_sp, stack.ss_flags, stack.ss_size) == (ALT_LO, 0, ALT_SIZE)


def test_altstack_not_used_without_sa_onstack_or_when_disabled(fresh):
    for flags, alt in ((FLAGS, altstack()),
                       (FLAGS | sf.SA_ONSTACK, None),
                       (FLAGS | sf.SA_ONSTACK, abi.StackT(0, abi.SS_DISABLE, 0))):
        cpu = random_cpu(13)
        sp = cpu.sp
        frame = sf.setup_frame(fresh, cpu, abi.SIGUSR1, None, 0, HANDLER, flags, RESTORER,
                               altstack=alt)
        assert frame + sf.SIGFRAME_SIZE + 16 == sp


def test_autodisarm_altstack_always_starts_at_its_top(fresh):
    alt = altstack(flags=abi.SS_AUTODISARM)
    cpu = random_cpu(14, sp=ALT_LO + 0x4000)           # already on it
    frame = sf.setup_frame(fresh, cpu, abi.SIGUSR1, None, 0, HANDLER,
                           FLAGS | sf.SA_ONSTACK, RESTORER, altstack=alt)
    assert cpu.x[29] + 16 == ALT_LO + ALT_SIZE and frame >= ALT_LO


# --- unwritable stacks: FrameWriteError, nothing changed ----------------------------------------

def _assert_write_error(mem, cpu, **kw):
    before = snapshot(cpu)
    with pytest.raises(sf.FrameWriteError) as exc:
        sf.setup_frame(mem, cpu, abi.SIGSEGV, None, 0, HANDLER, FLAGS, RESTORER, **kw)
    assert snapshot(cpu) == before
    return exc.value


def test_unmapped_stack_raises(fresh):
    # SP a little above the bottom of the stack mapping: the frame would go below it
    err = _assert_write_error(fresh, random_cpu(15, sp=STACK_LO + 0x100))
    assert err.addr < STACK_LO
    _assert_write_error(fresh, random_cpu(15, sp=0x10000000))      # nothing mapped at all
    _assert_write_error(fresh, random_cpu(15, sp=0x100))           # would wrap below 0


def test_read_only_stack_raises_and_writes_nothing(fresh):
    cpu = random_cpu(16, sp=RO_PAGE + 0x1000)
    _assert_write_error(fresh, cpu)
    assert fresh.read(RO_PAGE, 0x1000) == bytes(0x1000)


def test_too_small_altstack_raises(fresh):
    cpu = random_cpu(17)
    small = abi.StackT(ALT_LO, 0, 0x800)                # frame needs 4704 bytes
    before = snapshot(cpu)
    with pytest.raises(sf.FrameWriteError):
        sf.setup_frame(fresh, cpu, abi.SIGSEGV, None, 0, HANDLER, FLAGS | sf.SA_ONSTACK,
                       RESTORER, altstack=small)
    assert snapshot(cpu) == before


# --- rt_sigreturn of bad frames: BadFrame ---------------------------------------------------

def _valid_frame(mem, seed=20):
    cpu = random_cpu(seed)
    frame = sf.setup_frame(mem, cpu, abi.SIGUSR1, None, 0x77, HANDLER, FLAGS, RESTORER)
    clobber(cpu, seed)
    return cpu, frame


def _poke(mem, addr, value, n=4):
    mem.write(addr, (value & ((1 << (8 * n)) - 1)).to_bytes(n, "little"))


RES = sf.OFF_RESERVED


@pytest.mark.parametrize("what, off, value, n", [
    ("fpsimd magic", RES, 0x12345678, 4),
    ("fpsimd size", RES + 4, 512, 4),
    ("terminator size", RES + 528 + 4, 16, 4),
    ("misaligned next record", RES + 4, 520, 4),
    ("record past __reserved", RES + 4, 8192, 4),
    ("SVE record (no SVE)", RES, sf.SVE_MAGIC, 4),
    ("extra_context", RES, sf.EXTRA_MAGIC, 4),
    ("pstate EL1h", sf.OFF_MCONTEXT + 272, 0x5, 8),
    ("pstate AArch32", sf.OFF_MCONTEXT + 272, 0x10, 8),
    ("pstate IRQs masked", sf.OFF_MCONTEXT + 272, 0x80, 8),
])
def test_bad_frames_raise(fresh, what, off, value, n):
    cpu, frame = _valid_frame(fresh)
    _poke(fresh, frame + off, value, n)
    saved_sp = int.from_bytes(fresh.read(frame + sf.OFF_MCONTEXT + 256, 8), "little")
    with pytest.raises(sf.BadFrame) as exc:
        sf.restore_frame(fresh, cpu)
    # Linux installed the mask and loaded the general registers before it found the problem
    assert exc.value.mask == 0x77 and exc.value.regs_loaded
    assert cpu.sp == saved_sp == exc.value.addr


def test_missing_fpsimd_record_is_bad(fresh):
    cpu, frame = _valid_frame(fresh)
    fresh.write(frame + RES, bytes(16))                  # terminator first
    with pytest.raises(sf.BadFrame):
        sf.restore_frame(fresh, cpu)


def test_esr_record_is_ignored_and_pstate_res0_bits_are_stripped(fresh):
    cpu = random_cpu(21)
    expect = snapshot(cpu)
    frame = sf.setup_frame(fresh, cpu, abi.SIGUSR1, None, 0, HANDLER, FLAGS, RESTORER,
                           esr=sf.ESR_UNDEFINED)
    # PAN (bit 22), IL (bit 20) and the upper half are RES0 for Linux: silently dropped
    pstate_addr = frame + sf.OFF_MCONTEXT + 272
    _poke(fresh, pstate_addr, expect["nzcv"] | (1 << 22) | (1 << 20) | (1 << 40), 8)
    clobber(cpu, 21)
    sf.restore_frame(fresh, cpu)
    got = snapshot(cpu)
    expect["tpidr"] = got["tpidr"]
    assert got == expect


def test_misaligned_or_unreadable_sp_is_bad_and_changes_nothing(fresh):
    cpu, frame = _valid_frame(fresh)
    for sp in (frame + 8, 0x10000000, STACK_HI - 0x100):     # misaligned, unmapped, overruns
        cpu.sp = sp
        before = snapshot(cpu)
        with pytest.raises(sf.BadFrame) as exc:
            sf.restore_frame(fresh, cpu)
        assert exc.value.mask is None and not exc.value.regs_loaded
        assert snapshot(cpu) == before and exc.value.addr == sp


# --- siginfo builders and ESR values ----------------------------------------------------------

def _si(info, name, n=4, signed=True):
    off = sf.SI_OFFSETS[name]
    return int.from_bytes(bytes(info)[off:off + n], "little", signed=signed)


def test_siginfo_builders():
    i = sf.siginfo_fault(abi.SIGBUS, sf.BUS_ADRALN, 0x1003)
    assert bytes(i)[:12] == (7).to_bytes(4, "little") + bytes(4) + (1).to_bytes(4, "little")
    assert _si(i, "si_addr", 8) == 0x1003 and bytes(i)[24:] == bytes(104)
    i = sf.siginfo_kill(abi.SIGTERM, 123, 1000)
    assert (i.si_code, _si(i, "si_pid"), _si(i, "si_uid")) == (0, 123, 1000)
    i = sf.siginfo_tkill(abi.SIGABRT, 55, 0)
    assert (i.si_code, _si(i, "si_pid")) == (-6, 55)
    i = sf.siginfo_queue(34, 9, 8, 0xCAFE)
    assert (i.si_code, _si(i, "si_pid"), _si(i, "si_uid"), _si(i, "si_value", 8)) == \
        (-1, 9, 8, 0xCAFE)
    i = sf.siginfo_timer(abi.SIGALRM, 3, 2, 0x77)
    assert (i.si_code, _si(i, "si_timerid"), _si(i, "si_overrun"), _si(i, "si_value", 8)) == \
        (-2, 3, 2, 0x77)
    i = sf.siginfo_kernel(abi.SIGALRM)
    assert i.si_code == 0x80 and bytes(i)[12:] == bytes(116)
    i = sf.siginfo_child(sf.CLD_EXITED, 77, 1000, 3, utime=5, stime=6)
    assert (i.si_signo, i.si_code, _si(i, "si_pid"), _si(i, "si_status"),
            _si(i, "si_utime", 8), _si(i, "si_stime", 8)) == (abi.SIGCHLD, 1, 77, 3, 5, 6)
    assert ctypes.sizeof(i) == 128


def test_esr_values_as_linux_reports_them():
    """Values seen in arm64 Linux user-fault reports: 0x92000046/0x92000047 for a write to an
    unmapped address (translation fault, level 2/3), 0x9200004f for a write to a read-only
    page (permission fault, level 3), 0x92000007 for a read of an unmapped one."""
    assert sf.esr_data_abort(True, sf.FSC_TRANSLATION + 3) == 0x92000047
    assert sf.esr_data_abort(True, sf.FSC_PERMISSION + 3) == 0x9200004F
    assert sf.esr_data_abort(False, sf.FSC_TRANSLATION + 3) == 0x92000007
    assert sf.esr_data_abort(False, sf.FSC_ALIGNMENT) == 0x92000021
    assert sf.esr_instruction_abort(sf.FSC_TRANSLATION + 3) == 0x82000007
    assert sf.ESR_UNDEFINED == 0x02000000
    assert sf.esr_brk(0x3E8) == 0xF20003E8


# --- what a handler sees on entry, against qemu-aarch64 ---------------------------------------

ENTRY_SOURCE = oracle.REPO / "tests" / "contracts" / "sigframe_entry.c"


@lru_cache(maxsize=None)
def _oracle_entry():
    try:
        exe = oracle.compile_c(ENTRY_SOURCE, "aarch64")
    except (oracle.BuildError, oracle.ToolMissing) as e:
        pytest.fail(f"cannot build {ENTRY_SOURCE.name}: {e}", pytrace=False)
    # no SVE: qemu's default CPU adds sve/tpidr2/za records that Linux on emu's CPU would not
    ref = oracle.run_qemu([exe], env={"QEMU_CPU": "max,sve=off"})
    check_reference(ref, "sigframe_entry under qemu-aarch64")
    return {name: int(value) for name, value in
            (line.split() for line in ref.stdout.decode().splitlines())}


def _entry_as_emu_builds_it(mem):
    """The state sigframe_entry.c interrupts, built with setup_frame, dumped like the C does."""
    svc_sp, svc_pc = STACK_HI - 0x2000, 0x400400
    cpu = CPUState()
    cpu.x[0], cpu.x[1], cpu.x[8] = 0, 10, 130           # after the tkill SVC returned 0
    for i in range(19, 29):
        cpu.x[i] = i
    cpu.x[29], cpu.x[30] = 0x2900, 0x3000
    cpu.sp, cpu.pc = svc_sp, svc_pc + 4
    cpu.nzcv = 0x80000000
    cpu.fpcr, cpu.fpsr = 0x00400000, 0x08000000
    cpu.set_v(20, (0xFEDCBA9876543210 << 64) | 0x0123456789ABCDEF)
    restorer = sf.install_trampoline(mem, STACK_LO)
    blocked = (1 << (abi.SIGUSR2 - 1)) | (1 << (34 + 3 - 1))      # glibc SIGRTMIN is 34
    pid, uid = 4321, 1000
    sf.setup_frame(mem, cpu, abi.SIGUSR1, sf.siginfo_tkill(abi.SIGUSR1, pid, uid), blocked,
                   HANDLER, sf.SA_SIGINFO | sf.SA_RESTORER, restorer)
    rd = lambda a, n=8: int.from_bytes(mem.read(a, n), "little")
    s64 = lambda v: v - (1 << 64) if v >> 63 else v
    x1, x2 = cpu.x[1], cpu.x[2]
    info = sf.Siginfo.from_buffer_copy(mem.read(x1, 128))
    uc = sf.Ucontext.from_buffer_copy(mem.read(x2, ctypes.sizeof(sf.Ucontext)))
    mc = uc.uc_mcontext
    out = {"x0": cpu.x[0], "x1_minus_sp": x1 - cpu.sp, "x2_minus_sp": x2 - cpu.sp,
           "sp_minus_svc_sp": cpu.sp - svc_sp, "x29_minus_svc_sp": cpu.x[29] - svc_sp,
           "x30_insn0": rd(cpu.x[30], 4), "x30_insn1": rd(cpu.x[30] + 4, 4),
           "record_fp": rd(cpu.x[29]), "record_lr": rd(cpu.x[29] + 8),
           "si_signo": info.si_signo, "si_errno": info.si_errno, "si_code": info.si_code,
           "si_pid_is_getpid": int(info.fields.kill.pid == pid),
           "si_uid_is_getuid": int(info.fields.kill.uid == uid), "sig": cpu.x[0],
           "uc_flags": uc.uc_flags, "uc_link": uc.uc_link, "uc_ss_sp": uc.uc_stack.ss_sp,
           "uc_ss_flags": uc.uc_stack.ss_flags, "uc_ss_size": uc.uc_stack.ss_size,
           "uc_sigmask": uc.uc_sigmask, "fault_address": mc.fault_address,
           "saved_x0": mc.regs[0], "saved_x8": mc.regs[8],
           "saved_sp_minus_svc_sp": mc.sp - svc_sp, "saved_pc_minus_svc_pc": mc.pc - svc_pc,
           "saved_pstate": mc.pstate, "nzcv_before": 0x80000000}
    out.update({f"saved_x{i}": mc.regs[i] for i in range(19, 31)})
    reserved = bytes(mc.reserved)
    off, n = 0, 0
    while True:
        head = sf.Aarch64Ctx.from_buffer_copy(reserved, off)
        out.update({f"record{n}_offset": off, f"record{n}_magic": head.magic,
                    f"record{n}_size": head.size})
        if head.magic == sf.FPSIMD_MAGIC:
            fp = sf.FpsimdContext.from_buffer_copy(reserved, off)
            out.update({"fpsimd_fpsr": fp.fpsr, "fpsimd_fpcr": fp.fpcr,
                        "fpsimd_v20_lo": fp.vregs[20][0], "fpsimd_v20_hi": s64(fp.vregs[20][1])})
        if head.magic == 0:
            break
        off, n = off + head.size, n + 1
    return out


def test_handler_entry_matches_qemu(fresh, qemu, aarch64_cc):
    """Registers on entry (x0-x2, SP, x29, x30), the frame record, siginfo, the ucontext and
    the records, for the same interrupted state: setup_frame against qemu-aarch64 (whose frame
    placement and register hand-off follow Linux's: checked against arch/arm64/kernel/signal.c
    in the module docstring of kernel/sigframe.py)."""
    fresh.set_prot(STACK_LO, 0x1000, PROT_READ | PROT_EXEC)
    got, exp = _entry_as_emu_builds_it(fresh), _oracle_entry()
    assert set(got) == set(exp), f"names differ: {sorted(set(got) ^ set(exp))}"
    wrong = {k: (exp[k], got[k]) for k in exp if exp[k] != got[k]}
    assert not wrong, f"(qemu, sigframe.py): {wrong}"
