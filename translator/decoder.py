"""Capstone adapter and block discovery.

Owns: the only import of capstone in the project (pinned 5.0.9: its alias
reporting, `mov` for `orr`, `cmp` for `subs`, differs between versions), and
cutting guest code into blocks: from a start address to the first
instruction our decode table marks as ending a block (branches, exception
generation, system instructions that must return to the dispatcher), an
undecodable word, the end of executable memory, or a size limit.  Does not
own: semantics; the decode table (patterns.py) picks the lift function.

Capstone is not asked per decoded word: over every word of glibc's and
CPython's text that the table decodes, each one capstone puts in a branch,
call, return or interrupt group is also a block end in the table
(tests/test_decoder.py keeps checking this on the cross toolchain's libc),
so asking it only cost time (~10 us a word, a tenth of a cold start).  It
still names instructions for diagnostics (Insn.text, capstone_view).
"""
from dataclasses import dataclass

import threading

from . import patterns

MAX_BLOCK_INSNS = 128

_local = threading.local()         # one capstone handle per thread


def _handle():
    """This thread's capstone handle (capstone is imported on first use: a run
    that never needs an instruction's name never loads it)."""
    cs = getattr(_local, "cs", None)
    if cs is None:
        import capstone
        cs = _local.cs = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
        cs.detail = True
        _ENDING_GROUPS.update({capstone.CS_GRP_JUMP, capstone.CS_GRP_CALL, capstone.CS_GRP_RET,
                               capstone.CS_GRP_INT, capstone.CS_GRP_IRET,
                               capstone.CS_GRP_BRANCH_RELATIVE})
    return cs


_ENDING_GROUPS = set()              # capstone's branch/exception groups, filled by _handle
_text_memo = {}


@dataclass
class Insn:
    addr: int
    word: int
    pattern: object        # patterns.Pattern or None
    fields: dict

    def text(self):
        """Capstone's text for the word (diagnostics)."""
        mnem, ops, _ = capstone_view(self.word, self.addr)
        return f"{mnem} {ops}".strip() or f".inst {self.word:#010x}"


def capstone_view(word, addr):
    """(mnemonic, op_str, ends_block) as capstone decodes the word."""
    insns = list(_handle().disasm(word.to_bytes(4, "little"), addr, 1))
    if not insns:
        return "", "", False
    i = insns[0]
    return i.mnemonic, i.op_str, bool(_ENDING_GROUPS.intersection(i.groups))


def capstone_ends(word):
    """Does capstone classify this word as ending a block (memoized)?"""
    hit = _text_memo.get(word)
    if hit is None:
        # PC-relative operands do not change the group; decode at address 0.
        hit = _text_memo[word] = capstone_view(word, 0)
    return hit


def decode_block(fetch_word, pc, limit=MAX_BLOCK_INSNS):
    """Decode guest instructions from `pc` into a list of Insn.

    fetch_word(addr) -> int or None (None: not executable, ends the block
    before that address).  The list is empty only if `pc` is not fetchable.
    """
    out = []
    addr = pc
    while len(out) < limit:
        word = fetch_word(addr)
        if word is None:
            break
        pat, fields = patterns.decode(word)
        out.append(Insn(addr, word, pat, fields))
        if pat is None or pat.ends_block:
            break
        addr += 4
    return out
