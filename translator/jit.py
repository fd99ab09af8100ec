"""The code cache: translate on a miss, install, link, invalidate.

Owns: batching (a miss translates the block at the missed PC plus blocks
reachable from it by direct branches, up to a limit, into one LLVM module),
the guest-pc -> block record map, which pages hold translated code (and
setting PAGE_CODE on them), invalidation of a page range (table entries
removed, link slots pointing into the dropped blocks cleared), single-step
translation used after a store into code, and the translation counters.
Does not own: the guest memory map, syscalls or signals.
"""
import ctypes
import time
from collections import Counter, defaultdict

from emu.cpustate import ExitReason
from emu.memory import PAGE_SHIFT, PAGE_EXEC, PAGE_CODE, PAGE_SIZE
from . import decoder, isa  # noqa: F401  (isa registers the decode table)
from .compiler import Compiler
from .dispatcher import BlockTable, build_dispatcher, build_counter, DISPATCH_NAME
from .lifter import BlockLifter, Undefined

BATCH_BLOCKS = 24          # blocks per module at most
BATCH_INSNS = 800          # guest instructions per module at most

_DISPATCH_CFUNC = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p, ctypes.c_void_p,
                                   ctypes.c_void_p)


class Block:
    __slots__ = ("pc", "end", "fn", "slots", "ninsns", "pages")

    def __init__(self, pc, end, ninsns):
        self.pc, self.end, self.ninsns = pc, end, ninsns
        self.fn = 0
        self.slots = []        # host addresses of this block's link slots
        self.pages = range(pc >> PAGE_SHIFT, ((end - 1) >> PAGE_SHIFT) + 1)


class Translator:
    def __init__(self, cpu, mem, opt_level=1, batch=True):
        self.cpu = cpu
        self.mem = mem
        self.compiler = Compiler(opt_level)
        self.table = BlockTable(cpu)
        self.blocks = {}                       # pc -> Block
        self.page_blocks = defaultdict(set)    # page -> {pc}
        self.batch = batch
        self.stats = Counter()
        self.times = Counter()
        self._serial = 0
        mod = self.compiler.new_module("dispatch")
        build_dispatcher(mod)
        build_counter(mod)
        fns, _ = self.compiler.compile(mod, [DISPATCH_NAME])
        self._dispatch = _DISPATCH_CFUNC(fns[DISPATCH_NAME])
        self.compiler.count = 0
        self.compiler.seconds = 0.0
        mem.on_code_change = self.invalidate_pages

    # -- running ------------------------------------------------------------
    def run(self):
        """Enter native code at state.pc; returns the ExitReason."""
        self.cpu.exit_reason = 0
        return ExitReason(self._dispatch(ctypes.addressof(self.cpu), self.mem.base,
                                         self.mem.flags_addr))

    def fetch_word(self, addr):
        if addr & 3:
            return None
        page = addr >> PAGE_SHIFT
        if not (self.mem.flags[page] & PAGE_EXEC):
            return None
        return ctypes.c_uint32.from_address(self.mem.base + addr).value

    # -- translation -------------------------------------------------------
    def translate(self, pc):
        """Translate the block at pc (and a batch of its successors).

        Returns False when pc is not in executable memory."""
        if self.fetch_word(pc) is None:
            return False
        todo = [pc]
        lifted = []
        ninsns = 0
        module = self.compiler.new_module(f"m{self._serial}")
        seen = set()
        while todo and len(lifted) < BATCH_BLOCKS and ninsns < BATCH_INSNS:
            p = todo.pop(0)
            if p in seen or (p in self.blocks and p != pc):
                continue
            seen.add(p)
            if self.fetch_word(p) is None:
                continue
            blk, lifter = self._lift(module, p)
            lifted.append((blk, lifter))
            ninsns += blk.ninsns
            if self.batch:
                todo.extend(t for _, t in lifter.slots if t not in self.blocks)
        t0 = time.perf_counter()
        fnames = [l.fn.name for _, l in lifted]
        gnames = [n for _, l in lifted for n, _ in l.slots]
        fns, gls = self.compiler.compile(module, fnames, gnames)
        self.times["compile_s"] += time.perf_counter() - t0
        self.stats["modules_compiled"] += 1
        for blk, lifter in lifted:
            blk.fn = fns[lifter.fn.name]
            blk.slots = [gls[n] for n, _ in lifter.slots]
            self._install(blk)
        return True

    def _lift(self, module, pc, smc_checks=True, chain=True, limit=None):
        t0 = time.perf_counter()
        insns = decoder.decode_block(self.fetch_word, pc,
                                     limit or decoder.MAX_BLOCK_INSNS)
        t1 = time.perf_counter()
        self._serial += 1
        lifter = BlockLifter(module, f"b{pc:x}_{self._serial}", pc,
                             smc_checks=smc_checks, chain=chain)
        for insn in insns:
            lifter.pc = insn.addr
            lifter.word = insn.word
            lifter.insn = insn
            if insn.pattern is None:
                lifter.trap(ExitReason.UNDEF, info=insn.word)
                break
            try:
                insn.pattern.func(lifter, **insn.fields)
            except Undefined:
                if not lifter.b.block.is_terminated:
                    lifter.trap(ExitReason.UNDEF, info=insn.word)
                else:
                    raise
                break
            if lifter.terminated:
                break
        end = insns[-1].addr + 4
        lifter.finish(end)
        t2 = time.perf_counter()
        self.times["decode_s"] += t1 - t0
        self.times["lift_s"] += t2 - t1
        self.stats["blocks_translated"] += 1
        self.stats["insns_translated"] += len(insns)
        return Block(pc, end, len(insns)), lifter

    def _install(self, blk):
        old = self.blocks.get(blk.pc)
        if old is not None:
            self._drop(old)
        self.blocks[blk.pc] = blk
        self.table.insert(blk.pc, blk.fn)
        for p in blk.pages:
            self.page_blocks[p].add(blk.pc)
            self.mem.mark_code(p)

    def _drop(self, blk):
        self.table.remove(blk.pc)
        for p in blk.pages:
            s = self.page_blocks.get(p)
            if s:
                s.discard(blk.pc)
        del self.blocks[blk.pc]

    def invalidate_pages(self, first, last):
        """Drop every translation touching pages first..last (inclusive)."""
        dropped = set()
        for p in range(first, last + 1):
            for pc in list(self.page_blocks.get(p, ())):
                blk = self.blocks.get(pc)
                if blk is not None:
                    dropped.add(blk.fn)
                    self._drop(blk)
            self.page_blocks.pop(p, None)
            self.mem.unmark_code(p)
        if not dropped:
            return
        self.stats["invalidations"] += 1
        self.stats["blocks_invalidated"] += len(dropped)
        # Unlink every slot that points into a dropped block.
        for blk in self.blocks.values():
            for s in blk.slots:
                cell = ctypes.c_uint64.from_address(s)
                if cell.value in dropped:
                    cell.value = 0
        if self.cpu.link_req:
            self.cpu.link_req = 0

    def step(self, pc):
        """Run one instruction at pc without SMC checks and without caching
        (used to complete a store into a page holding translated code)."""
        module = self.compiler.new_module(f"step{self._serial}")
        blk, lifter = self._lift(module, pc, smc_checks=False, chain=False, limit=1)
        fns, _ = self.compiler.compile(module, [lifter.fn.name])
        self.stats["steps"] += 1
        fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)(
            fns[lifter.fn.name])
        self.cpu.exit_reason = 0
        fn(ctypes.addressof(self.cpu), self.mem.base, self.mem.flags_addr)
        return ExitReason(self.cpu.exit_reason)

    def counters(self):
        out = dict(self.stats)
        out.update({k: round(v, 6) for k, v in self.times.items()})
        out["links"] = self.cpu.n_links
        out["dispatch_lookups"] = self.cpu.n_lookups
        out["code_pages"] = sum(1 for s in self.page_blocks.values() if s)
        return out
