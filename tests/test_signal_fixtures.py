"""Signal delivery, whole programs: tests/fixtures/signal/signal_*.c under emu against qemu-aarch64.

Each fixture exercises one part of signal delivery (fault handlers with siglongjmp and with
context fix-up, sigaltstack, SA_SIGINFO fields, the fpsimd record, nested signals and masks,
pending and queued signals, SA_RESETHAND, SIGILL / SIGTRAP / SIGBUS, timers, SA_RESTART,
SIGCHLD / SIGPIPE, sigtimedwait) and prints deterministic lines.  They live in a
subdirectory so that the generic fixture tests (tests/test_fixtures_qemu.py, `harness lane
fixtures`) do not pick them up before delivery exists.

test_emu_matches_qemu runs each under emu (the runtime delivers: kernel/delivery.py).
test_reference_is_linux checks the fixtures themselves, independently of emu: a portable
fixture must print under qemu-aarch64 what its native x86-64 build prints under Linux, a
qemu-only one must print the same twice.  Where qemu-aarch64 7.2 is known to differ from
Linux, the difference is corrected here with its reason (QEMU_WRONG) or avoided (QEMU_ENV);
each fixture's header comment says what qemu prints.
"""
import pytest

from harness import lanes, oracle
from oracle_helpers import assert_same, check_reference

SIGNAL_FIXTURES = oracle.FIXTURES / "signal"
NAMES = sorted(p.stem for p in SIGNAL_FIXTURES.glob("signal_*.c"))
EMU_TIMEOUT = 120.0         # a fixture whose handler never ran would block (pause, read)

# fixture -> (environment for the qemu run only, why)
QEMU_ENV = {
    "signal_fpsimd_context": (
        {"QEMU_CPU": "max,sve=off"},
        "qemu's default CPU has SVE; its sigreturn reloads V0-V31 from its own sve_context "
        "record, dropping a handler's changes to the fpsimd record.  emu advertises no SVE, "
        "and Linux without live SVE state restores from fpsimd_context."),
}
# fixture -> (why, [(text qemu prints, text Linux prints)])
QEMU_WRONG = {
    "signal_selfkill": (
        "qemu-aarch64 7.2 keeps signal 64 for itself: a guest's kill(self, 64) does nothing",
        [(b"signal 64: killed by 0, exit 0", b"signal 64: killed by 64, exit -1")]),
    "signal_nocldwait": (
        "qemu-aarch64 7.2 does not pass SA_NOCLDWAIT to the host: the child stays a zombie and "
        "waitpid reaps it; Linux reaps it itself (waitpid -1/ECHILD)",
        [(b"SA_NOCLDWAIT: waitpid the child errno Success", b"SA_NOCLDWAIT: waitpid -1 errno ECHILD")]),
    "signal_sigill": (
        "qemu-aarch64 7.2 reports every undefined instruction as ILL_ILLOPN (2); Linux's "
        "do_el0_undef sends ILL_ILLOPC (1)",
        [(b" code 2 ", b" code 1 ")]),
}


def _build(name, target="aarch64"):
    try:
        return oracle.compile_c(SIGNAL_FIXTURES / f"{name}.c", target)
    except (oracle.BuildError, oracle.ToolMissing) as exc:
        pytest.fail(f"cannot build signal fixture {name}: {exc}", pytrace=False)


def _is_portable(name):
    return lanes.QEMU_ONLY_MARKER not in (SIGNAL_FIXTURES / f"{name}.c").read_text()


def linux_reference(name, tmp_path):
    """qemu-aarch64's run of the fixture, corrected where qemu is known to differ from Linux."""
    exe = _build(name)
    env = QEMU_ENV.get(name, ({}, ""))[0]
    ref = oracle.run_qemu([exe], env=env, cwd=tmp_path)
    check_reference(ref, f"qemu-aarch64 {name}")
    if name in QEMU_WRONG:
        why, fixes = QEMU_WRONG[name]
        out = ref.stdout
        for wrong, right in fixes:
            if wrong not in out:
                pytest.fail(f"{name}: qemu no longer prints {wrong!r} ({why}); update "
                            f"QEMU_WRONG", pytrace=False)
            out = out.replace(wrong, right)
        ref = ref._replace(stdout=out)
    return ref


@pytest.mark.parametrize("name", NAMES)
def test_emu_matches_qemu(name, qemu, aarch64_cc, tmp_path):
    ref = linux_reference(name, tmp_path)
    got = oracle.run_emu([_build(name)], cwd=tmp_path, timeout=EMU_TIMEOUT)
    assert_same(ref, got, f"signal fixture {name}")


@pytest.mark.parametrize("name", NAMES)
def test_reference_is_linux(name, qemu, aarch64_cc, native_cc, tmp_path):
    """The fixture, not emu: qemu (corrected) agrees with Linux, and the output is stable."""
    ref = linux_reference(name, tmp_path)
    assert ref.status == 0, f"{name} under qemu: {ref.describe()}"
    if _is_portable(name):
        nat = oracle.run_native([_build(name, "native")], cwd=tmp_path)
        assert_same(ref, nat, f"signal fixture {name} (qemu vs native Linux)", "qemu", "native")
    again = linux_reference(name, tmp_path)
    assert_same(ref, again, f"signal fixture {name} (two qemu runs)", "qemu", "qemu again")


def test_every_fixture_says_what_qemu_prints():
    """Each fixture's header comment records qemu-aarch64 7.2's behaviour on it."""
    missing = [n for n in NAMES
               if "qemu-aarch64 7.2" not in (SIGNAL_FIXTURES / f"{n}.c").read_text()[:3000]]
    assert not missing, f"no qemu note in the header of {missing}"
    assert len(NAMES) >= 13, NAMES
