"""Codegen regressions: benchmarks/CODEGEN.md pins how many LLVM IR (tier 1, tier 2) and x86-64
instructions each sample guest form becomes (benchmarks/codegen_table.py).  The numbers are
measured again here; a form whose count grew by more than 10% and more than 2 instructions
fails, with the diff of the table.  After an intended change: `python3
benchmarks/codegen_table.py --update` and commit the table."""
import difflib
import importlib.util

from harness.oracle import REPO

_spec = importlib.util.spec_from_file_location("codegen_table", REPO / "benchmarks" / "codegen_table.py")
codegen_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(codegen_table)


def test_codegen_counts_did_not_grow(capsys):
    committed = codegen_table.TABLE_MD
    assert committed.exists(), f"{committed} is missing: run `python3 benchmarks/codegen_table.py --update`"
    old = committed.read_text()
    raw, cpu = codegen_table.measure()
    problems, notes = codegen_table.regressions(old, raw, cpu)
    new = codegen_table.render(raw, cpu)
    rows_old, _ = codegen_table.parse(old)
    assert len(rows_old) >= 40, "the committed table lost its rows"
    diff = "\n".join(difflib.unified_diff(old.splitlines(), new.splitlines(), "committed", "measured",
                                          lineterm="", n=0))
    with capsys.disabled():
        for line in notes:
            print(f"\ncodegen table note: {line}")
    assert not problems, ("codegen grew past the tolerance (10% and 2 instructions):\n  "
                          + "\n  ".join(problems) + "\n" + diff)
