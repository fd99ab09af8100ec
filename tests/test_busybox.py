"""busybox-static from Debian arm64 (fetched once with harness.fetch, cached): a few applets run
under qemu-aarch64 and under emu on the same binary and the same input files; stdout and exit
status must match.  The applet list is harness.lanes.BUSYBOX_APPLETS, shared with the lane.
"""
import pytest

from harness import lanes, oracle
from oracle_helpers import assert_same, check_reference


@pytest.mark.parametrize("row,applet_args", lanes.BUSYBOX_APPLETS, ids=[r for r, _ in lanes.BUSYBOX_APPLETS])
def test_applet_matches_qemu(row, applet_args, busybox, qemu, tmp_path):
    lanes.write_busybox_inputs(tmp_path)
    argv = [busybox, *applet_args]
    ref = oracle.run_qemu(argv, cwd=tmp_path)
    check_reference(ref, f"qemu-aarch64 busybox {row}")
    assert ref.status == 0 and ref.stdout, f"busybox {row} under qemu: {ref.describe()}"
    got = oracle.run_emu(argv, cwd=tmp_path)
    assert_same(ref, got, f"busybox {row}")
