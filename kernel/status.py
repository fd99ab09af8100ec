"""Implementation status marks read by the syscall ledger.

Owns: @partial("what is missing"), put on a handler that implements only
part of its syscall's behaviour; harness/syscall_ledger.py lists the note
in SYSCALL_LEDGER.md.  A handler without the mark claims the whole
syscall; a number without a handler in kernel/table.py is ENOSYS.
"""


def partial(note):
    """Mark a syscall handler as partial, with one line saying what is missing."""
    def mark(fn):
        fn.partial = note
        return fn
    return mark


def deliberate_enosys(note):
    """Mark a handler that answers ENOSYS on purpose (the caller has a fallback)."""
    def mark(fn):
        fn.enosys = note
        return fn
    return mark
