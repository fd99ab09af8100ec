"""Syscall contracts: small C programs per family, run under emu, qemu-aarch64 and natively.

Each tests/contracts/<family>.c prints one deterministic line per check (see
contract.h); all.c links them into one program run as `all FAMILY`.  The AArch64
static build runs under emu and under qemu-aarch64; the same source built for
x86-64 runs natively.  Linux itself (the native run) is the
oracle for syscall semantics: emu's output must equal it, except lines starting
with "arch " (machine names), which must equal qemu's.  emu must also equal
qemu-aarch64 line for line, except where qemu-user 7.2 is known not to do what
Linux does; those lines are listed below with the reason (emu is then held to
the native line, or to a written expectation when there is no native build).
vm_code.c is AArch64 code generation and has no native build.
"""
import concurrent.futures
import hashlib
import tempfile
from functools import lru_cache

import pytest

from harness import oracle
from oracle_helpers import check_reference

CONTRACTS = oracle.REPO / "tests" / "contracts"

# family -> {line prefix: why qemu-aarch64 differs from Linux there}
QEMU_DIFFERS = {
    "fd": {"epoll_wait bad pointer": "qemu checks the whole events buffer up front; Linux "
                                     "only faults when there is an event to store"},
    "fs": {"openat2 ": "qemu-user 7.2 has no openat2 (ENOSYS)"},
    "vm": {
        "maps perms before the hole": "qemu keeps host pages executable (r-xp) after a "
                                      "partial mprotect",
        "noreplace over mapping": "qemu 7.2 treats MAP_FIXED_NOREPLACE as MAP_FIXED",
        "madvise bad advice": "qemu accepts any advice",
        "madvise unmapped": "qemu does not check the range of an advice",
    },
    "time": {
        "PR_SET_CHILD_SUBREAPER": "qemu does not pass this prctl on",
        "PR_GET_CHILD_SUBREAPER": "qemu does not pass this prctl on",
        "subreaper": "qemu does not pass this prctl on",
        "PR_GET_SECCOMP": "qemu refuses seccomp prctls",
        "AS soft": "qemu reports RLIMIT_AS as unlimited to the guest",
    },
    "tty": {"unknown ioctl": "qemu answers ENOSYS for ioctls it does not know (Linux: ENOTTY)"},
    "net": {"socket bad type": "qemu-user 7.2 answers ESOCKTNOSUPPORT for an unknown socket "
                               "type itself (Linux: EINVAL)"},
    "proc": {"exec ": "qemu-user hands execve to the host kernel, which cannot run an AArch64 "
                      "program without binfmt_misc (ENOEXEC)"},
    "vm_code": {
        # Linux: MADV_DONTNEED drops the private copy of a file page, so the
        # file's instructions (f(x) = x + 20) come back; qemu 7.2 ignores the advice.
        "back to the file": "qemu ignores MADV_DONTNEED; Linux re-reads the file",
    },
}
# Written expectations for lines where qemu is wrong and there is no native build.
WRITTEN = {"vm_code": {"back to the file": "back to the file: 120"}}
FAMILIES = ["fd", "fs", "vm", "time", "tty", "proc", "net", "vm_code"]
NATIVE = {"fd", "fs", "vm", "time", "tty", "proc", "net"}


def _build(target):
    """tests/contracts/all.c: every family in one binary (`all FAMILY`)."""
    sources = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(CONTRACTS.iterdir())
                                      if p.suffix in (".c", ".h")))
    try:                       # the included files' hash is part of the build cache key
        return oracle.compile_c(CONTRACTS / "all.c", target,
                                extra_flags=[f"-DCONTRACT_SOURCES={sources.hexdigest()[:16]}"])
    except (oracle.BuildError, oracle.ToolMissing) as e:
        pytest.fail(f"cannot build the contracts for {target}: {e}", pytrace=False)


def _run(kind, binary, family):
    argv = [binary, family]
    with tempfile.TemporaryDirectory(prefix="emu-contract-") as d:
        if kind == "emu":
            return oracle.run_emu(argv, cwd=d)
        if kind == "qemu":
            return oracle.run_qemu(argv, cwd=d)
        return oracle.run_native(argv, cwd=d)


@lru_cache(maxsize=None)
def _results():
    """Every run of every contract.  The emu runs dominate: the first one runs
    alone so that the C library code of the binary is translated once (the
    code cache then serves the other runs), the others two at a time."""
    arm, native = _build("aarch64"), _build("native")
    jobs = {}
    for name in FAMILIES:
        jobs[(name, "emu")] = ("emu", arm, name)
        jobs[(name, "qemu")] = ("qemu", arm, name)
        if name in NATIVE:
            jobs[(name, "native")] = ("native", native, name)
    first = (FAMILIES[0], "emu")
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futs = {first: pool.submit(_run, *jobs[first])}
        for key, job in jobs.items():          # the oracles beside the first emu run
            if job[0] != "emu":
                futs[key] = pool.submit(_run, *job)
        futs[first].result()
        for key, job in jobs.items():
            if job[0] == "emu" and key != first:
                futs[key] = pool.submit(_run, *job)
        return {key: f.result() for key, f in futs.items()}


def _lines(result):
    return result.stdout.decode(errors="replace").splitlines()


def _key(line):
    return line.split(":", 1)[0]


def _differs(family, line):
    return any(line.startswith(p) for p in QEMU_DIFFERS[family])


def _first_mismatch(expected, actual, skip=lambda line: False):
    for i in range(max(len(expected), len(actual))):
        e = expected[i] if i < len(expected) else "<missing>"
        a = actual[i] if i < len(actual) else "<missing>"
        if skip(e) or skip(a):
            continue
        if e != a:
            return f"line {i + 1}: expected {e!r}, emu {a!r}"
    return None


@pytest.mark.parametrize("family", FAMILIES)
def test_contract_matches_qemu(family, qemu, aarch64_cc, native_cc):
    res = _results()
    ref, got = res[(family, "qemu")], res[(family, "emu")]
    check_reference(ref, f"{family} contract under qemu")
    assert got.status == ref.status == 0, f"emu: {got.describe()}"
    written = WRITTEN.get(family, {})
    expected = []
    for line in _lines(ref):
        k = next((p for p in written if line.startswith(p)), None)
        expected.append(written[k] if k else line)
    skip = (lambda line: _differs(family, line) and not any(line.startswith(p) for p in written))
    problem = _first_mismatch(expected, _lines(got), skip)
    assert problem is None, f"{family}: emu differs from qemu-aarch64: {problem}"


@pytest.mark.parametrize("family", sorted(NATIVE))
def test_contract_matches_native_linux(family, qemu, aarch64_cc, native_cc):
    res = _results()
    ref, got = res[(family, "native")], res[(family, "emu")]
    check_reference(ref, f"{family} contract natively")
    assert got.status == ref.status == 0, f"emu: {got.describe()}"
    problem = _first_mismatch(_lines(ref), _lines(got), lambda line: line.startswith("arch "))
    assert problem is None, f"{family}: emu differs from Linux (native x86-64 run): {problem}"


def test_known_qemu_differences_are_still_real(qemu, aarch64_cc, native_cc):
    """Each listed qemu difference must still show (else the exception is stale):
    qemu's line differs from Linux's (native) or from the written expectation."""
    res = _results()
    stale = []
    for family in FAMILIES:
        q = _lines(res[(family, "qemu")])
        if family in NATIVE:
            truth = {_key(line): line for line in _lines(res[(family, "native")])}
        else:
            truth = {_key(v): v for v in WRITTEN.get(family, {}).values()}
        for prefix in QEMU_DIFFERS[family]:
            ql = [line for line in q if line.startswith(prefix)]
            if ql and all(truth.get(_key(line)) == line for line in ql):
                stale.append(f"{family}: {prefix!r}")
    assert not stale, f"qemu now agrees with Linux; drop these exceptions: {stale}"
