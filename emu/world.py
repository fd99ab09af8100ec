"""Which guest threads are inside translated code, and stopping them all.

Owns: the set of CPU states of one guest process, the count of threads
running native code (between `enter` and `leave`), and stop-the-world:
`with world.stopped():` sets every CPU's exit-request word (the flag that
translated code polls at every chain point and backward branch), waits
until no other thread is inside native code, and keeps them out until the
block ends.  The translator uses it before it changes code or tables that
other threads may be running (invalidation, block-table growth); the
runtime uses it around fork.  Threads blocked in syscalls are in Python,
not in native code, so they never delay a stop.

Does not own: what an exit request means to a thread (the runtime's exit
loop decides), translation, or the kernel's per-thread records.  Imports
nothing of the project but the CPU-state contract.
"""
import threading
from collections import Counter


class World:
    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._cpus = {}             # id -> CPUState of live threads (ctypes: unhashable)
        self._running = 0           # threads between enter() and leave()
        self._owner = None          # thread ident holding a stop, or None
        self._depth = 0
        self.stats = Counter()

    # -- membership -----------------------------------------------------------------
    def add(self, cpu):
        """Count in `cpu`, run by the calling thread (a stop does not ask the thread
        that requests it to exit)."""
        with self._cond:
            self._cpus[id(cpu)] = (cpu, threading.get_ident())

    def remove(self, cpu):
        with self._cond:
            self._cpus.pop(id(cpu), None)

    @property
    def cpus(self):
        """The CPU states of live threads (a snapshot list)."""
        return [c for c, _ in self._cpus.values()]

    # -- running native code ----------------------------------------------------------
    def enter(self):
        """Called before a thread runs translated code; waits while a stop is held by
        another thread."""
        me = threading.get_ident()
        with self._cond:
            while self._owner is not None and self._owner != me:
                self._cond.wait()
            self._running += 1

    def leave(self):
        with self._cond:
            self._running -= 1
            if self._owner is not None and self._running == 0:
                self._cond.notify_all()

    # -- stop-the-world ---------------------------------------------------------------
    def stopped(self):
        return _Stop(self)

    def _acquire(self):
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return
            while self._owner is not None:
                self._cond.wait()
            self._owner, self._depth = me, 1
            self.stats["stop_the_world"] += 1
            for cpu, ident in self._cpus.values():
                if ident != me:
                    cpu.exit_request = 1
            while self._running:
                self._cond.wait()

    def _release(self):
        with self._cond:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._cond.notify_all()

    def after_fork_child(self, cpu):
        """In a forked child only the forking thread exists (it held the stop)."""
        self._cond = threading.Condition(threading.Lock())
        self._cpus = {id(cpu): (cpu, threading.get_ident())}
        self._running = 0
        self._owner, self._depth = threading.get_ident(), 1     # released by its _Stop

    @property
    def multi(self):
        return len(self._cpus) > 1


class _Stop:
    __slots__ = ("world",)

    def __init__(self, world):
        self.world = world

    def __enter__(self):
        self.world._acquire()
        return self.world

    def __exit__(self, *exc):
        self.world._release()
        return False
