"""Self-modifying code by every class of store, across a page boundary, by read(2), and from
a loop hot enough for tier 2 (issue 17: one `str w` scenario was all there was).  Oracle:
qemu-aarch64 running tests/fixtures/smc_classes.c; the hot-loop case also checks, in emu's
statistics, that a region was promoted and one invalidated, so it tests what it claims."""
import json

import pytest

from harness import oracle
from oracle_helpers import assert_same, build, check_reference


def _stats(stderr):
    line = next(ln for ln in stderr.decode(errors="replace").splitlines()
                if ln.startswith("EMU_BLOCK_STATS "))
    return json.loads(line.split(" ", 1)[1])


@pytest.mark.parametrize("case", ["stores", "two-pages", "read", "hot-loop"])
def test_rewritten_code_runs_like_qemu(case, qemu, aarch64_cc, tmp_path):
    exe = build("smc_classes")
    ref = oracle.run_qemu([exe, case], cwd=tmp_path, timeout=120)
    check_reference(ref, f"qemu-aarch64 smc_classes {case}")
    assert ref.status == 0 and ref.stdout, ref.describe()
    got = oracle.run_emu([exe, case], cwd=tmp_path, timeout=300, stats=True)
    assert_same(ref, got, f"smc_classes {case}")
    if case == "hot-loop":
        st = _stats(got.stderr)
        assert st.get("promotions", 0) >= 1 and st.get("invalidations", 0) >= 1, st
