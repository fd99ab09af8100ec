"""Capstone adapter and block discovery.

Owns: the only import of capstone in the project (pinned 5.0.9: its alias
reporting, `mov` for `orr`, `cmp` for `subs`, differs between versions), and
cutting guest code into blocks: from a start address to the first branch,
exception-generating or system instruction capstone reports, the first
instruction our decode table marks as ending a block, an undecodable word,
the end of executable memory, or a size limit.  Does not own: semantics;
the decode table (patterns.py) picks the lift function from the word.
"""
from dataclasses import dataclass

import threading

import capstone

from . import patterns

MAX_BLOCK_INSNS = 128

_local = threading.local()         # one capstone handle per thread


def _handle():
    cs = getattr(_local, "cs", None)
    if cs is None:
        cs = _local.cs = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
        cs.detail = True
    return cs
_ENDING_GROUPS = {capstone.CS_GRP_JUMP, capstone.CS_GRP_CALL, capstone.CS_GRP_RET,
                  capstone.CS_GRP_INT, capstone.CS_GRP_IRET,
                  capstone.CS_GRP_BRANCH_RELATIVE}
_text_memo = {}


@dataclass
class Insn:
    addr: int
    word: int
    mnemonic: str          # capstone's text ("" when capstone rejects it)
    op_str: str
    pattern: object        # patterns.Pattern or None
    fields: dict
    cs_ends: bool          # capstone puts it in a branch/exception group

    def text(self):
        return f"{self.mnemonic} {self.op_str}".strip() or f".inst {self.word:#010x}"


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
        mnem, ops, cs_end = capstone_ends(word)
        pat, fields = patterns.decode(word)
        insn = Insn(addr, word, mnem, ops, pat, fields, cs_end)
        out.append(insn)
        if pat is None or pat.ends_block or cs_end:
            break
        addr += 4
    return out
