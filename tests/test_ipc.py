"""System V IPC, POSIX message queues and signalfd (issue 16): whole static AArch64 programs
under emu compared with an oracle.

Oracle per part: qemu-aarch64 for sysv_ipc (shm incl. fork and /proc/self/maps, sem, msg, EINTR),
posix_mq (without mq_notify) and signalfd; the native x86-64 build of the same C where
qemu-aarch64 7.2 is wrong or missing: msg_lrpid (qemu converts struct msqid_ds wrongly: `full`)
and mq_notify (qemu answers ENOSYS: `notify`).  The fixtures print nothing that depends on the
architecture (no ids, addresses), and with no argument they also run in
tests/test_fixtures_qemu.py.  A segment made by the test process itself is attached by the
guest: shared memory is the host's, between separate processes."""
import ctypes
import os

import pytest

from harness import oracle
from oracle_helpers import assert_same, build, check_reference


@pytest.mark.parametrize("name,args", [("sysv_ipc", []), ("sysv_ipc", ["eintr"]),
                                       ("posix_mq", []), ("signalfd", [])])
def test_matches_qemu(name, args, qemu, aarch64_cc, tmp_path):
    exe = build(name)
    ref = oracle.run_qemu([exe, *args], cwd=tmp_path, timeout=120)
    check_reference(ref, f"qemu-aarch64 {name} {' '.join(args)}")
    got = oracle.run_emu([exe, *args], cwd=tmp_path, timeout=300)
    assert_same(ref, got, f"{name} {' '.join(args)}")


@pytest.mark.parametrize("name,args", [("sysv_ipc", ["full"]), ("posix_mq", ["notify"])])
def test_matches_native(name, args, aarch64_cc, native_cc, tmp_path):
    """What qemu-aarch64 7.2 gets wrong (msg_lrpid) or lacks (mq_notify): the native build."""
    exe, native = build(name), build(name, "native")
    ref = oracle.run_native([native, *args], cwd=tmp_path, timeout=120)
    check_reference(ref, f"native {name} {' '.join(args)}")
    got = oracle.run_emu([exe, *args], cwd=tmp_path, timeout=300)
    assert_same(ref, got, f"{name} {' '.join(args)}", "native")


def test_shm_shared_with_another_process(aarch64_cc, tmp_path):
    """The guest attaches a segment this (host) process made: it reads our bytes, we read its."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    libc.shmdt.argtypes = [ctypes.c_void_p]
    shmid = libc.shmget(0, 4096, 0o1000 | 0o600)            # IPC_PRIVATE, IPC_CREAT
    assert shmid >= 0, os.strerror(ctypes.get_errno())
    try:
        p = libc.shmat(shmid, None, 0)
        ctypes.memmove(p, b"from the host\0", 14)
        got = oracle.run_emu([build("sysv_ipc"), "attach", str(shmid)], cwd=tmp_path, timeout=120)
        assert got.status == 0 and got.stdout == b"attach: from the host\n", got.describe()
        assert ctypes.string_at(p) == b"guest was here"
        libc.shmdt(ctypes.c_void_p(p))
    finally:
        libc.shmctl(shmid, 0, None)                          # IPC_RMID
