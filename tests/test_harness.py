"""The harness itself, independent of emu: comparisons, lane reports, unsupported rows.

EMU_COMMAND=qemu-aarch64 stands in for emu here, so a lane run must pass every row; with the
oracle tool missing, every row must be reported unsupported with the reason (never skipped).
"""
from harness import lanes, oracle

R = oracle.RunResult


def test_compare_equal_and_different():
    a = R(b"x\ny\n", b"", 0, 0.1)
    assert oracle.compare(a, R(b"x\ny\n", b"emu: a line of emu's own\nEMU_BLOCK_STATS {}\n",
                               0, 0.2)) == []
    noisy = oracle.compare(a, R(b"x\ny\n", b"noise", 0, 0.2))      # the guest's stderr counts
    assert len(noisy) == 1 and noisy[0].startswith("stderr differs"), noisy
    assert oracle.compare(a, R(b"x\ny\n", b"noise", 0, 0.2), stderr=False) == []
    problems = oracle.compare(a, R(b"x\nz\n", b"boom\n", 3, 0.2))
    assert any("exit status: qemu 0, emu 3" in p for p in problems)
    assert any("line 2" in p for p in problems)
    assert oracle.compare(a, R(b"", b"", None, 120.0)) == ["emu timed out after 120 s"]
    assert R(b"", b"", -11, 1.0).describe().startswith("killed by signal 11")


def test_busybox_lane_with_qemu_as_emu(monkeypatch, busybox, qemu):
    monkeypatch.setenv("EMU_COMMAND", qemu)
    outcomes, seconds = lanes.run_lane("busybox")
    assert [o.row for o in outcomes] == [r for r, _ in lanes.BUSYBOX_APPLETS]
    assert all(o.status == "pass" for o in outcomes), [(o.row, o.detail) for o in outcomes]
    report = lanes.markdown_report("busybox", outcomes, seconds)
    assert "| sh-loop | pass |" in report
    assert f"lane busybox: {len(outcomes)} pass, 0 fail, 0 unsupported" in report


def test_missing_oracle_makes_rows_unsupported(monkeypatch):
    monkeypatch.setattr(oracle, "QEMU", "qemu-aarch64-not-installed")
    outcomes, seconds = lanes.run_lane("fixtures")
    assert outcomes and len(outcomes) == len(lanes.fixture_names())
    assert all(o.status == "unsupported" for o in outcomes)
    assert all("qemu-aarch64-not-installed" in o.detail for o in outcomes)
    assert "0 pass, 0 fail" in lanes.summary_line("fixtures", outcomes, seconds)
