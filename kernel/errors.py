"""Errors the Linux personality raises.

Owns: SyscallError (a syscall fails with an errno; the dispatcher turns it
into -errno in x0) and ProcessExit (the guest process ends; the runtime
catches it and exits with .status).  Does not own: errno numbers (abi.py).
"""


class SyscallError(Exception):
    """A syscall handler failed; the guest sees -errno."""

    def __init__(self, errno, message=""):
        super().__init__(message or f"errno {errno}")
        self.errno = errno


class ProcessExit(Exception):
    """The guest process ended: exit/exit_group, or a fatal signal.

    status is the host-style exit status (0-255; 128+sig for a signal).
    signal is the terminating signal number, or None for a normal exit, so
    the runtime may re-raise the signal on the host if it wants the parent
    to see a real signal death.  group is False for plain exit() (only the
    calling thread ends once threads exist).
    """

    def __init__(self, status, signal=None, group=True):
        super().__init__(f"guest exited with status {status}")
        self.status = status
        self.signal = signal
        self.group = group
