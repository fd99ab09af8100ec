"""The JVM under emu loaded over 30,000 compiled objects; MCJIT maps two or three host regions
per object, and at vm.max_map_count (65530 by default) LLVM aborted the whole process with
"LLVM ERROR: Unable to allocate section memory!" (a Python fatal error, status 134).  The
compiler now counts the process's mappings every few hundred loads and raises
CodeMemoryExhausted first, which the runtime turns into one `emu:` line."""
import llvmlite.ir as ir
import pytest

from translator import compiler


def _tiny(c, i):
    m = c.new_module(f"m{i}")
    f = ir.Function(m, ir.FunctionType(ir.IntType(64), []), name=f"f{i}")
    ir.IRBuilder(f.append_basic_block()).ret(ir.Constant(ir.IntType(64), i))
    return m


def test_loads_stop_before_the_map_limit(monkeypatch):
    c = compiler.Compiler(tier=1)
    in_use = compiler._maps_in_use()
    assert in_use > 0
    # A host whose limit is what this process already uses: the next check must refuse.
    monkeypatch.setattr(compiler, "_max_map_count", lambda: in_use + compiler._MAPS_MARGIN // 2)
    with pytest.raises(compiler.CodeMemoryExhausted, match="vm.max_map_count"):
        for i in range(compiler._MAPS_CHECK_EVERY + 1):
            fns, _ = c.compile(_tiny(c, i), [f"f{i}"])
            assert fns[f"f{i}"]
    assert c.loads == compiler._MAPS_CHECK_EVERY


def test_loads_go_on_below_the_limit():
    c = compiler.Compiler(tier=1)
    for i in range(compiler._MAPS_CHECK_EVERY + 1):
        c.compile(_tiny(c, i))
    assert c.loads == compiler._MAPS_CHECK_EVERY + 1
