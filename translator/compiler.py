"""LLVM module compilation: one MCJIT engine per process, batched modules.

Owns: LLVM initialisation, the target machine, the optimisation pipeline run
on each module of lifted blocks, adding modules to the engine and reading
back function and global (link slot) addresses, and compile-time counters.
Does not own: what goes into a module (jit.py decides the batch).
"""
import os
import time

import llvmlite.binding as llvm
import llvmlite.ir as ir

_initialised = False


def _init():
    global _initialised
    if not _initialised:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        llvm.initialize_native_asmparser()     # inline asm (cmpxchg16b)
        _initialised = True


# Two tiers.  Tier 1 compiles every region quickly: no IR passes at all (its
# regions access guest registers in the CPU state directly, so there is
# nothing for SROA to promote), then LLVM's fast instruction selector (codegen
# O0).  Tier 2 recompiles regions that turned out hot: registers in SSA, a
# fuller function pipeline and codegen O2.  (Measured on bash's start-up
# regions: IR passes were ~20% and SSA registers' phis ~35% of tier-1 codegen.)
TIERS = {
    1: (0, ()),
    2: (2, ("add_sroa_pass", "add_instruction_combine_pass", "add_simplify_cfg_pass",
            "add_new_gvn_pass", "add_dead_store_elimination_pass",
            "add_instruction_combine_pass", "add_simplify_cfg_pass")),
}


class CodeMemoryExhausted(RuntimeError):
    """Loading more compiled code would pass the host's limit on memory mappings: MCJIT maps
    two or three host regions per object (code, data), and at vm.max_map_count LLVM
    aborts the whole process ("Unable to allocate section memory").  Raised before that."""


_MAPS_CHECK_EVERY = 256             # loads between two counts of /proc/self/maps
_MAPS_MARGIN = 4096                 # mappings kept free for everything else in the process


def _max_map_count():
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 65530


def _maps_in_use():
    try:
        fd = os.open("/proc/self/maps", os.O_RDONLY)
    except OSError:
        return 0
    try:
        n = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return n
            n += chunk.count(b"\n")
    finally:
        os.close(fd)


class Compiler:
    """Compiles llvmlite.ir modules into the process's native code.  One
    MCJIT engine per tier (the engine fixes the codegen level)."""

    def __init__(self, tier=1, engine=True):
        """engine=False: an object builder only (no engine), with its own
        LLVM context, for use on a background compile thread."""
        _init()
        cg_opt, passes = TIERS[tier]
        self.tier = tier
        target = llvm.Target.from_default_triple()
        # Code runs only on this host: use its CPU and features (cx16, AVX2...).
        self.tm = target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                               features=llvm.get_host_cpu_features().flatten(),
                                               opt=cg_opt, reloc="default", codemodel="jitdefault")
        self.context = llvm.get_global_context() if engine else llvm.create_context()
        self.engine = (llvm.create_mcjit_compiler(llvm.parse_assembly(""), self.tm)
                       if engine else None)
        pto = llvm.create_pipeline_tuning_options(speed_level=2 if tier > 1 else 1)
        self.pb = llvm.create_pass_builder(self.tm, pto)
        self.fpm = llvm.create_new_function_pass_manager()
        for p in passes:
            getattr(self.fpm, p)()
        self.seconds = 0.0
        self.count = 0
        self.loads = 0
        self.triple = llvm.get_process_triple()

    def new_module(self, name):
        m = ir.Module(name=name)
        m.triple = self.triple
        return m

    def compile(self, module, function_names=(), global_names=(), want_object=False):
        """Compile and load `module`; returns ({fn: addr}, {global: addr}),
        plus the object code when want_object (for the on-disk cache)."""
        t0 = time.perf_counter()
        obj = self.build_object(module)
        res = self.load_object(obj, function_names, global_names)
        self.seconds += time.perf_counter() - t0
        self.count += 1
        return (res + (obj,)) if want_object else res

    def build_object(self, module):
        """Parse, optimise and compile `module` to object code (no loading)."""
        mod = llvm.parse_assembly(str(module), self.context)
        self._optimise(mod)
        return self.tm.emit_object(mod)

    def load_object(self, obj, function_names=(), global_names=()):
        """Load compiled object code; returns ({fn: addr}, {global: addr}).  Raises
        CodeMemoryExhausted instead of letting LLVM abort at the host's mapping limit."""
        self.loads += 1
        if self.loads % _MAPS_CHECK_EVERY == 0:
            limit = _max_map_count()
            used = _maps_in_use()
            if used > limit - _MAPS_MARGIN:
                raise CodeMemoryExhausted(
                    f"translated code needs more host memory mappings than vm.max_map_count "
                    f"allows ({used} in use of {limit}, {self.loads} objects loaded); raise "
                    f"it, e.g. `sysctl -w vm.max_map_count=1048576`")
        self.engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        self.engine.finalize_object()
        fns = {n: self.engine.get_function_address(n) for n in function_names}
        gls = {n: self.engine.get_global_value_address(n) for n in global_names}
        return fns, gls

    def asm(self, module):
        """Host assembly for a module (for dumps and codegen tables)."""
        mod = llvm.parse_assembly(str(module))
        self._optimise(mod)
        return str(mod), self.tm.emit_assembly(mod)

    def _optimise(self, mod):
        if not TIERS[self.tier][1]:
            return
        for f in mod.functions:
            if not f.is_declaration:
                self.fpm.run(f, self.pb)
