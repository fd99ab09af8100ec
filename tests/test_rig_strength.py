"""The differential rig can fail where it matters (issue 17): deliberately wrong JIT results
after a fault — the wrong fault kind or address, memory scribbled at the windows' edges, a
store's source register changed — must each be reported by `unicorn_rig.check`.  Each test
wraps the rig's JIT runner with one mutation and asserts the check catches it; the unmutated
check of the same form passes (test_isa_loadstore.py runs it too).  Oracle: Unicorn."""
import pytest

import unicorn_rig as rig
from emu.cpustate import ExitReason
from test_isa_loadstore import edge_hook

CASES = 40


def _mutated(monkeypatch, mutate):
    original = rig.run_jit

    def run_jit(words, st, fpcr=0):
        j = original(words, st, fpcr)
        if j["reason"] in rig.FAULTS:
            mutate(j)
        return j
    monkeypatch.setattr(rig, "run_jit", run_jit)


def _check(form):
    rig.check(f"add x20, x21, x22; {form}; add x23, x24, x25", cases=CASES,
              state_hook=edge_hook)


def _scribble(window, at):
    def mutate(j):
        b = bytearray(j[window])
        i = at % len(b)
        b[i:i + 48] = bytes(x ^ 0x5A for x in b[i:i + 48])
        j[window] = bytes(b)
    return mutate


MUTATIONS = [
    ("address", "ldr x0, [x1]", lambda j: j.update(info=0xDEAD)),
    ("address_off_by_64", "str q3, [x1]", lambda j: j.update(info=j["info"] - 64)),
    ("kind_read_as_write", "ldp x4, x5, [x1]", lambda j: j.update(reason=ExitReason.FAULT_WRITE)),
    ("kind_write_as_read", "stp x2, x3, [x1]", lambda j: j.update(reason=ExitReason.FAULT_READ)),
    ("kind_fault_as_align", "ldr q0, [x1]", lambda j: j.update(reason=ExitReason.ALIGN)),
    ("scribble_bottom_edge_on_store", "str x2, [x1]", _scribble("data", 0)),
    ("scribble_top_edge_on_load", "ldr x0, [x1]", _scribble("stack", -48)),
    ("store_source_register", "stp x2, x3, [x1]",
     lambda j: j["x"].__setitem__(3, j["x"][3] ^ 1)),
]


@pytest.mark.parametrize("name,form,mutate", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_rig_catches_wrong_fault_results(name, form, mutate, monkeypatch):
    _check(form)                                    # the real JIT passes
    _mutated(monkeypatch, mutate)
    with pytest.raises(AssertionError) as caught:
        _check(form)
    assert " case " in str(caught.value), caught.value     # the rig's report, no other error


def test_expect_undef_fails_on_a_word_both_engines_run():
    """0x5E281800 was called unallocated, but it is SHA1SU1 and both engines ran it: the
    old check passed because both agreed.  expect="undef" must refuse it."""
    with pytest.raises(AssertionError) as caught:
        rig.check([0x5E281800], cases=2, expect="undef")
    assert "expected undef in both" in str(caught.value)
    rig.check([0x5E283800], cases=2, expect="undef")        # SHA opcode 00011: unallocated


def test_expect_completes_catches_a_jit_that_undefs(monkeypatch):
    """An advertised sample the JIT fails to lift (UNDEF) while Unicorn runs it."""
    rig.check("add x0, x1, x2", cases=2, expect="completes")
    original = rig.run_jit

    def undef(words, st, fpcr=0):
        j = original(words, st, fpcr)
        j.update(reason=ExitReason.UNDEF, pc=rig.CODE_BASE, info=words[0])
        return j
    monkeypatch.setattr(rig, "run_jit", undef)
    with pytest.raises(AssertionError) as caught:
        rig.check("add x0, x1, x2", cases=2, expect="completes")
    assert "expected completes in both" in str(caught.value)
