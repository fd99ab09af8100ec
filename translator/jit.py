"""The code cache: translate on a miss, install, link, invalidate.

Owns: regions (a miss translates the block at the missed PC plus blocks
reachable from it by direct branches, up to a limit, into one LLVM function
of one module), the guest-pc -> region map, which pages hold translated code (and
setting PAGE_CODE on them), invalidation of a page range (table entries
removed, link slots pointing into the dropped blocks cleared), single-step
translation used after a store into code, and the translation counters.
Threads: one Translator serves every guest thread of a process.  Its
Python state (regions, the page map, the LLVM engines) changes only under
`self.lock`; translated code that other threads may be running is changed
only inside a stop-the-world (emu/world.py): dropping regions and clearing
the link slots into them (invalidation), and moving the block table when it
grows.  Installing is safe while others run: a table entry is published pc
first, function second (8-byte stores; x86 keeps their order), and a
replaced region's code stays loaded, so a racing link to it still runs a
correct, older translation of the same guest bytes.
Does not own: the guest memory map, syscalls or signals.
"""
import ctypes
import gc
import queue
import threading
import time
from collections import Counter, defaultdict

from emu.cpustate import ExitReason
from emu.memory import PAGE_SHIFT, PAGE_EXEC, PAGE_CODE, PAGE_SIZE, NPAGES
from emu.world import World
from . import decoder, irtext as ir, isa  # noqa: F401  (isa registers the decode table)
from .codecache import CodeCache, translator_version, block_hash
from .compiler import Compiler
from .dispatcher import BlockTable, build_dispatcher, build_counter, build_probe, DISPATCH_NAME
from .lifter import RegionLifter, Undefined

BATCH_BLOCKS = 24          # blocks per region at most
BATCH_INSNS = 800          # guest instructions per region at most
# Region entries + backward branches before tier 2.  A promotion costs ~0.1-0.4 s of
# LLVM O2 (up to TIER2_INSNS instructions), so only regions that have run long enough
# to pay for it are promoted (2000 promoted ~200 regions of python3's start-up, 76 s).
HOT_THRESHOLD = 20000
# A promoted region re-discovers up to this many blocks / instructions.  LLVM's O2
# codegen time grows faster than linearly with function size (58 us per IR line at
# 8500 lines, 24 at 700): cpu_bench cold N=1 spent 2.8 s in tier 2 at 96 / 3000, 1.2 s
# at 40 / 1200, with the same steady state (0.59 s vs 0.58 s at N=5, warm cache).
TIER2_BLOCKS = 40
TIER2_INSNS = 1200

_DISPATCH_CFUNC = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p, ctypes.c_void_p,
                                   ctypes.c_void_p)


class Region:
    """One compiled region: its function, entry pcs, link slots, pages."""
    __slots__ = ("fn", "entries", "slots", "pages", "ninsns", "tier")

    def __init__(self, entries, pages, ninsns, tier):
        self.tier = tier
        self.entries = entries          # guest pcs of its blocks
        self.pages = pages              # guest pages its code came from
        self.ninsns = ninsns
        self.fn = 0
        self.slots = []                 # host addresses of its link slots


class _Worker:
    """The background compile thread: tier-2 promotions are lifted and
    compiled to object code here while tier-1 code keeps running; a finished
    job sets state.exit_request so the main thread installs it soon."""

    def __init__(self, translator):
        self.tr = translator
        self.jobs = queue.Queue()
        self.results = queue.Queue()
        self.builder = None
        self.thread = threading.Thread(target=self._run, name="emu-tier2", daemon=True)
        self.thread.start()

    def submit(self, job):
        self.jobs.put(job)

    def take(self):
        out = []
        while True:
            try:
                out.append(self.results.get_nowait())
            except queue.Empty:
                return out

    def _run(self):
        while True:
            job = self.jobs.get()
            try:
                if self.builder is None:
                    self.builder = Compiler(2, engine=False)
                result = self.tr._compile_job(job, self.builder)
            except BaseException as exc:      # reported on the main thread
                result = (job, exc, None)
            self.results.put(result)
            self.tr.cpu.exit_request = 1


class Translator:
    def __init__(self, cpu, mem, tiering="auto", batch=True, disk_cache=None, background=False,
                 world=None):
        """cpu: the first thread's CPU state (more attach later).
        tiering: "auto" (tier 1, hot regions promoted to tier 2), 1 or 2.
        disk_cache: a directory for compiled regions (None: no disk cache).
        background: compile tier-2 promotions on a background thread.
        world: the process's emu.world.World (a private one if None)."""
        self.cpu = cpu
        self.mem = mem
        self.world = world if world is not None else World()
        self.lock = threading.RLock()
        self.retired = Counter()               # native counters of threads that ended
        self.tiering = tiering
        self.compiler = Compiler(2 if tiering == 2 else 1)
        self._compiler2 = None
        self.cache = CodeCache(disk_cache, translator_version(
            f"{HOT_THRESHOLD}:{BATCH_BLOCKS}:{BATCH_INSNS}:{TIER2_BLOCKS}:{TIER2_INSNS}"))
        self.use_disk = self.cache.enabled
        self._loaded = {}                      # function name -> (record, fn, slots)
        self._pending_names = set()            # names of jobs being compiled
        self._promoting = set()                # ids of regions queued for tier 2
        self._worker = None
        if background and tiering == "auto":
            self._worker = _Worker(self)
        self.world.add(cpu)
        self.table = BlockTable(self._publish_table, self.world.stopped)
        self.blocks = {}                       # pc -> Block
        self.page_blocks = defaultdict(set)    # page -> {pc}
        self.batch = batch
        self.stats = Counter()
        self.times = Counter()
        self._serial = 0
        mod = self._runtime_module(self.compiler)
        build_dispatcher(mod)
        fns, _ = self.compiler.compile(mod, [DISPATCH_NAME])
        self._dispatch = _DISPATCH_CFUNC(fns[DISPATCH_NAME])
        self.compiler.count = 0
        self.compiler.seconds = 0.0
        mem.on_code_change = self.invalidate_pages

    @staticmethod
    def _runtime_module(compiler):
        """Helpers every engine needs its own copy of (blocks call them)."""
        mod = compiler.new_module("runtime")
        build_counter(mod)
        build_probe(mod)
        return mod

    @property
    def compiler2(self):
        if self._compiler2 is None:
            c2 = Compiler(2)
            c2.compile(self._runtime_module(c2))
            c2.count = 0
            c2.seconds = 0.0
            self._compiler2 = c2
        return self._compiler2

    # -- threads ------------------------------------------------------------
    def _publish_table(self, addr, mask):
        """The block table moved (stop-the-world held, or no thread yet): every CPU
        state gets the new pointer and mask."""
        for cpu in self._all_cpus():
            cpu.table, cpu.table_mask = addr, mask

    def _all_cpus(self):
        cpus = {id(c): c for c in self.world.cpus}
        cpus[id(self.cpu)] = self.cpu
        return list(cpus.values())

    def attach(self, cpu):
        """A new guest thread's CPU state: give it the block table, count it in."""
        with self.lock:
            cpu.table, cpu.table_mask = self.table.addr, self.table.size - 1
            self.world.add(cpu)

    def detach(self, cpu):
        """A guest thread ended: keep its native counters, forget its CPU state."""
        with self.lock:
            self.retired["links"] += cpu.n_links
            self.retired["dispatch_lookups"] += cpu.n_lookups
            self.retired["insns_executed"] += cpu.n_insns
            cpu.n_links = cpu.n_lookups = cpu.n_insns = 0
            self.world.remove(cpu)

    # -- running ------------------------------------------------------------
    def run(self, cpu=None):
        """Enter native code at state.pc; returns the ExitReason.  Other threads
        may be stopping the world: run() waits until they are done."""
        cpu = self.cpu if cpu is None else cpu
        cpu.exit_reason = 0
        world = self.world
        world.enter()
        try:
            return ExitReason(self._dispatch(ctypes.addressof(cpu), self.mem.base,
                                             self.mem.flags_addr))
        finally:
            world.leave()

    def fetch_word(self, addr):
        if addr & 3 or not 0 <= addr < (NPAGES << PAGE_SHIFT):
            return None
        page = addr >> PAGE_SHIFT
        if not (self.mem.flags[page] & PAGE_EXEC):
            return None
        return ctypes.c_uint32.from_address(self.mem.base + addr).value

    # -- translation -------------------------------------------------------
    def translate(self, pc):
        """Translate a region: the block at pc plus, when batching, blocks
        reachable from it by direct branches (and call return sites), up to
        a limit.  Returns False when pc is not in executable memory.  Another
        thread may have translated pc meanwhile: then there is nothing to do."""
        with self.lock:
            if self.fetch_word(pc) is None:
                return False
            if self.table.lookup(pc):
                return True
            tier = 2 if self.tiering == 2 else 1
            self._build(tier, [pc], self.batch)
            return True

    def promote(self, pc):
        """Recompile the hot region holding block pc at tier 2 (on the
        background thread when there is one: tier-1 code keeps running)."""
        with self.lock:
            self._promote(pc)

    def _promote(self, pc):
        region = self.blocks.get(pc)
        if region is None or region.tier == 2 or id(region) in self._promoting:
            return
        self.stats["promotions"] += 1
        if self._worker is None:
            self._build(2, region.entries, True, promote=True)
            return
        job = self._prepare(2, region.entries, True, promote=True)
        if job is not None:                    # not already compiled / cached
            self._promoting.add(id(region))
            job["region_id"] = id(region)
            self._worker.submit(job)

    def _build(self, tier, entries, batch, promote=False):
        job = self._prepare(tier, entries, batch, promote)
        if job is not None:
            self._finish(self._compile_job(job, self.compiler2 if tier == 2 else self.compiler))

    def _prepare(self, tier, entries, batch, promote):
        """Install from this process or the disk cache if possible (returns
        None), else return a compile job for _compile_job."""
        compiler = self.compiler2 if tier == 2 else self.compiler
        key = self.cache.key(tier, promote, entries, self._head(entries[0]))
        name = f"r{key[:24]}"
        region = self._reuse(name) or self._from_disk(compiler, key, name)
        if region is not None:
            if tier == 2:
                self.stats["insns_translated_tier2"] += region.ninsns
            self._install(region)
            return None
        if name in self._loaded or name in self._pending_names:
            name = f"{name}_{self._serial}"    # same key, other code: no disk
            key = None
        self._pending_names.add(name)
        return {"tier": tier, "entries": list(entries), "batch": batch, "promote": promote,
                "key": key, "name": name}

    def _compile_job(self, job, builder):
        """Lift and compile to object code (may run on the background thread:
        touches no engine, no table, only reads guest memory).  Python's cyclic
        garbage collector is paused meanwhile: a region is ~10^4 short-lived IR
        objects, and collections triggered by their allocation scanned the whole
        heap again and again (a third of the lifting time)."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._compile_job_gc_off(job, builder)
        finally:
            if enabled:
                gc.enable()

    def _compile_job_gc_off(self, job, builder):
        tier, name = job["tier"], job["name"]
        hot = HOT_THRESHOLD if (tier == 1 and self.tiering == "auto") else 0
        module = builder.new_module(name)
        region, lifter = self._lift(module, job["entries"], batch=job["batch"],
                                    hot_threshold=hot, tier=tier, promote=job["promote"],
                                    name=name)
        t0 = time.perf_counter()
        obj = builder.build_object(module)
        ir.dispose(module)
        self.times["compile_s" if tier == 1 else "compile2_s"] += time.perf_counter() - t0
        self.stats["modules_compiled"] += 1
        record = {"fn": name, "tier": tier, "ninsns": region.ninsns,
                  "slots": [[n, t] for n, t in lifter.slots],
                  "blocks": [[pc, end, block_hash(self._code(pc, end))]
                             for pc, end in lifter.ranges]}
        return job, record, obj

    def _finish(self, result):
        """Load a compiled job's object into its tier's engine and install."""
        job, record, obj = result
        name = job["name"]
        self._pending_names.discard(name)
        compiler = self.compiler2 if job["tier"] == 2 else self.compiler
        slot_names = [n for n, _ in record["slots"]]
        fns, gls = compiler.load_object(obj, [name], slot_names)
        slots = [gls[n] for n in slot_names]
        self._loaded[name] = (record, fns[name], slots)
        if job["key"] is not None and self.use_disk:
            self.cache.store(job["key"], record, obj)
        region = self._region_from(record, fns[name], slots)
        # Another thread may have stored into this code since it was decoded: mark the
        # pages first (later stores exit as SMC and wait for our lock), then check that the
        # bytes are still the ones translated.
        for p in region.pages:
            self.mem.mark_code(p)
        if not self._valid(record):
            for p in region.pages:
                if not self.page_blocks.get(p):
                    self.mem.unmark_code(p)
            self.stats["stale_translations"] += 1
            return
        if job["tier"] == 2:
            self.stats["insns_translated_tier2"] += region.ninsns
        self._install(region)

    def poll_background(self):
        """Install what the background thread finished (main thread only).
        Code that changed meanwhile is not installed."""
        if self._worker is None:
            return
        for result in self._worker.take():
            job = result[0]
            self._promoting.discard(job.get("region_id"))
            if isinstance(result[1], BaseException):
                self._pending_names.discard(job["name"])
                raise result[1]
            if self._valid(result[1]):
                self._finish(result)
            else:
                self._pending_names.discard(job["name"])
                self.stats["background_stale"] += 1

    def _head(self, pc):
        """Up to 64 bytes of executable code at pc (part of the cache key)."""
        out = bytearray()
        while len(out) < 64:
            w = self.fetch_word(pc + len(out))
            if w is None:
                break
            out += w.to_bytes(4, "little")
        return bytes(out)

    def _code(self, pc, end):
        return ctypes.string_at(self.mem.base + pc, end - pc)

    def _valid(self, record):
        for pc, end, digest in record["blocks"]:
            if self.fetch_word(pc) is None or self.fetch_word(end - 4) is None:
                return False
            if block_hash(self._code(pc, end)) != digest:
                return False
        return True

    def _region_from(self, record, fn, slots):
        blocks = record["blocks"]
        pages = sorted({p for pc, end, _ in blocks
                        for p in range(pc >> PAGE_SHIFT, ((end - 1) >> PAGE_SHIFT) + 1)})
        region = Region([b[0] for b in blocks], pages, record["ninsns"], record["tier"])
        region.fn, region.slots = fn, list(slots)
        return region

    def _reuse(self, name):
        """The same region compiled earlier in this process, if still valid."""
        hit = self._loaded.get(name)
        if hit is None or not self._valid(hit[0]):
            return None
        self.stats["cache_hits_process"] += 1
        for s in hit[2]:                       # its old links may be stale
            ctypes.c_uint64.from_address(s).value = 0
        return self._region_from(*hit)

    def _from_disk(self, compiler, key, name):
        if not self.use_disk:
            return None
        t0 = time.perf_counter()
        got = self.cache.load(key)
        if got is None or got[0].get("fn") != name or not self._valid(got[0]):
            self.stats["cache_misses"] += 1
            return None
        record, obj = got
        slot_names = [n for n, _ in record["slots"]]
        fns, gls = compiler.load_object(obj, [name], slot_names)
        self.times["cache_load_s"] += time.perf_counter() - t0
        self.stats["cache_hits"] += 1
        self.stats["blocks_from_cache"] += len(record["blocks"])
        slots = [gls[n] for n in slot_names]
        self._loaded[name] = (record, fns[name], slots)
        return self._region_from(record, fns[name], slots)

    def _lift(self, module, entries, batch=False, smc_checks=True, chain=True, limit=None,
              hot_threshold=0, tier=1, promote=False, name=None):
        """Lift the blocks at `entries` (and, if batch, what they reach)."""
        self._serial += 1
        pc = entries[0]
        wanted = set(entries)
        lifter = RegionLifter(module, name or f"r{pc:x}_{self._serial}", smc_checks=smc_checks,
                              chain=chain, hot_threshold=hot_threshold,
                              ssa_regs=(tier == 2))
        lifter.ranges = []
        todo = list(entries)
        ninsns = 0
        pages = set()
        # A first translation skips blocks translated elsewhere (reached
        # through link slots); a promotion takes them in, so hot loops close
        # inside the tier-2 region.
        max_blocks, max_insns = (TIER2_BLOCKS, TIER2_INSNS) if promote else (BATCH_BLOCKS, BATCH_INSNS)
        while todo and len(lifter.blocks) < max_blocks and ninsns < max_insns:
            p = todo.pop(0)
            if p in lifter.blocks or (not promote and p not in wanted and p in self.blocks):
                continue
            t0 = time.perf_counter()
            insns = decoder.decode_block(self.fetch_word, p, limit or decoder.MAX_BLOCK_INSNS)
            t1 = time.perf_counter()
            self.times["decode_s"] += t1 - t0
            if not insns:
                continue
            lifter.begin_block(p)
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
                    if lifter.b.block.is_terminated:
                        raise
                    lifter.trap(ExitReason.UNDEF, info=insn.word)
                    break
                if lifter.terminated:
                    break
            end = insns[-1].addr + 4
            lifter.end_block(end)
            lifter.ranges.append((p, end))
            self.times["lift_s"] += time.perf_counter() - t1
            ninsns += len(insns)
            pages.update(range(p >> PAGE_SHIFT, ((end - 1) >> PAGE_SHIFT) + 1))
            self.stats["blocks_translated"] += 1
            self.stats["insns_translated"] += len(insns)
            if batch:
                todo.extend(lifter.block_targets())
                last = insns[-1]
                if last.pattern is not None and last.pattern.name in ("BL", "BLR"):
                    todo.append(last.addr + 4)     # the call's return site
        t0 = time.perf_counter()
        lifter.finish()
        self.times["lift_s"] += time.perf_counter() - t0
        self.stats["regions"] += 1
        return Region(list(lifter.blocks), sorted(pages), ninsns, tier), lifter

    def _install(self, region):
        """Make `region` the owner of its entries.  A region that loses an
        entry is unlinked (slots re-link to the new owner on next use) and
        dropped once it owns no entry at all."""
        losers = {}
        for pc in region.entries:
            old = self.blocks.get(pc)
            if old is not None and old is not region:
                losers[id(old)] = old
            self.blocks[pc] = region
            self.table.insert(pc, region.fn)
        for p in region.pages:
            self.page_blocks[p].add(region)
            self.mem.mark_code(p)
        if losers:
            for old in losers.values():
                if not any(self.blocks.get(pc) is old for pc in old.entries):
                    self._drop(old)
            self._unlink({old.fn for old in losers.values()})

    def _drop(self, region):
        for pc in region.entries:
            if self.blocks.get(pc) is region:
                del self.blocks[pc]
                self.table.remove(pc)
        for p in region.pages:
            s = self.page_blocks.get(p)
            if s:
                s.discard(region)

    def invalidate_pages(self, first, last):
        """Drop every translation touching pages first..last (inclusive).  Other
        threads are out of translated code meanwhile (stop-the-world), so none
        runs or links into what is dropped."""
        with self.lock:
            pages = ([p for p in self.page_blocks if first <= p <= last]
                     if last - first > len(self.page_blocks) else range(first, last + 1))
            pages = [p for p in pages if p in self.page_blocks]
            if not any(self.page_blocks[p] for p in pages):
                for p in pages:
                    self.page_blocks.pop(p, None)
                    self.mem.unmark_code(p)
                return
            with self.world.stopped():
                dropped = set()
                for p in pages:
                    for region in list(self.page_blocks.get(p, ())):
                        dropped.add(region.fn)
                        self._drop(region)
                    self.page_blocks.pop(p, None)
                    self.mem.unmark_code(p)
                self.stats["invalidations"] += 1
                self.stats["regions_invalidated"] += len(dropped)
                self._unlink(dropped, all_cpus=True)

    def _unlink(self, dropped, all_cpus=False):
        """Clear every link slot that points into a dropped region (8-byte
        stores: a thread chaining meanwhile sees the old or the new value)."""
        for region in set(self.blocks.values()):
            for s in region.slots:
                cell = ctypes.c_uint64.from_address(s)
                if cell.value in dropped:
                    cell.value = 0
        if all_cpus:          # a pending link may name a slot of a dropped region
            for cpu in self._all_cpus():
                cpu.link_req = 0

    def step(self, pc, cpu=None):
        """Run one instruction at pc without SMC checks and without caching
        (used to complete a store into a page holding translated code)."""
        with self.lock:
            return self._step(pc, self.cpu if cpu is None else cpu)

    def _step(self, pc, cpu):
        module = self.compiler.new_module(f"step{self._serial}")
        _, lifter = self._lift(module, [pc], smc_checks=False, chain=False, limit=1)
        fns, _ = self.compiler.compile(module, [lifter.fn.name])
        self.stats["steps"] += 1
        fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)(
            fns[lifter.fn.name])
        cpu.exit_reason = 0
        fn(ctypes.addressof(cpu), self.mem.base, self.mem.flags_addr)
        return ExitReason(cpu.exit_reason)

    def counters(self):
        out = dict(self.stats)
        out.update({k: round(v, 6) for k, v in self.times.items()})
        cpus = self._all_cpus()
        out["links"] = self.retired["links"] + sum(c.n_links for c in cpus)
        out["dispatch_lookups"] = self.retired["dispatch_lookups"] + sum(c.n_lookups for c in cpus)
        out["insns_executed"] = self.retired["insns_executed"] + sum(c.n_insns for c in cpus)
        out["stop_the_world"] = self.world.stats["stop_the_world"]
        out["code_pages"] = sum(1 for s in list(self.page_blocks.values()) if s)
        out["regions_live"] = len(set(self.blocks.values()))
        return out
