"""--strace output: one `name(arg, ...) = result` line per syscall.

Owns: rendering arguments from the table's format letters and results the
way strace does (strings quoted and cut at 32 bytes, errors as
`-1 ENOENT (No such file or directory)`).  Format letters:
    d int   l long   u unsigned   x hex   o octal   p pointer   f dirfd
    s C string   b buffer in (length = next arg)   B buffer out (length = result)
    '>' then the result's letter (default d; x/p print hex).
Does not own: which syscalls exist (table.py).
"""
import errno as _errno
import os

from kernel import abi
from kernel.uaccess import s32, s64

STRLEN = 32


def quote(data, limit=STRLEN):
    out = []
    for b in data[:limit]:
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append(f"\\x{b:02x}")
    return '"' + "".join(out) + '"' + ("..." if len(data) > limit else "")


def _ptr(v):
    return "NULL" if v == 0 else f"{v:#x}"


def _arg(k, letter, v, nxt, ret):
    try:
        if letter == "d":
            return str(s32(v))
        if letter == "l":
            return str(s64(v))
        if letter == "u":
            return str(v)
        if letter == "x":
            return f"{v:#x}"
        if letter == "o":
            return f"0{v:o}" if v else "0"
        if letter == "f":
            return "AT_FDCWD" if s32(v) == abi.AT_FDCWD else str(s32(v))
        if letter == "s":
            return _ptr(v) if v == 0 else quote(k.mem.read_cstr(v, 4096))
        if letter == "b":
            return quote(k.mem.read(v, min(nxt, STRLEN + 1)) if nxt else b"")
        if letter == "B":
            if ret is None or ret < 0:
                return _ptr(v)
            return quote(k.mem.read(v, min(ret, STRLEN + 1)))
    except Exception:           # an unreadable argument is shown as a pointer
        return _ptr(v)
    return _ptr(v)


# The kernel's internal restart codes, as strace shows them.
_RESTARTS = {512: "ERESTARTSYS (To be restarted if SA_RESTART is set)",
             513: "ERESTARTNOINTR (To be restarted)",
             514: "ERESTARTNOHAND (To be restarted if no handler)",
             516: "ERESTART_RESTARTBLOCK (Interrupted by signal)"}


def result(ret, letter="d"):
    if ret is None:
        return "?"
    if -ret in _RESTARTS:
        return "? " + _RESTARTS[-ret]
    if -4096 < ret < 0:
        code = -ret
        name = _errno.errorcode.get(code, str(code))
        return f"-1 {name} ({os.strerror(code)})"
    return f"{ret:#x}" if letter in "xp" else str(ret)


def format_call(k, name, fmt, args, ret):
    """The strace line (without newline) for one call; ret None = no return."""
    letters, _, ret_letter = fmt.partition(">")
    shown = [_arg(k, c, args[i], args[i + 1] if i + 1 < len(args) else 0, ret)
             for i, c in enumerate(letters)]
    return f"{name}({', '.join(shown)}) = {result(ret, ret_letter or 'd')}"


def signal_line(info):
    """strace's line for a signal delivered to a handler: --- SIGX {si_signo=..., ...} ---"""
    import signal as _signal
    from kernel import sigframe

    si = sigframe.Siginfo.from_buffer_copy(bytes(info))

    def name(n):
        try:
            return _signal.Signals(n).name
        except ValueError:
            return f"SIG{n}" if n < 32 else f"SIGRT_{n - 32}"
    sig = name(si.si_signo)
    fields = [f"si_signo={sig}", f"si_code={si.si_code}"]
    if si.si_signo in (4, 5, 7, 8, 11) and si.si_code > 0:          # faults: the address
        fields.append(f"si_addr={si.fields.sigfault.addr:#x}")
    else:
        fields += [f"si_pid={si.fields.kill.pid}", f"si_uid={si.fields.kill.uid}"]
    return f"--- {sig} {{{', '.join(fields)}}} ---"
