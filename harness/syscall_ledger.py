"""The syscall coverage ledger: SYSCALL_LEDGER.md, generated from kernel/table.py.

  python -m harness syscall-ledger            regenerate SYSCALL_LEDGER.md
  python -m harness syscall-ledger --check    exit 1 with one line if it is not current

Every AArch64 (asm-generic) syscall number the table lists, by family:
- implemented: a handler claims the whole syscall;
- partial: the handler is marked @partial("what is missing") (kernel/status.py);
- ENOSYS: the number is a comment in the table (`#  nr  name  family`: calling it
  returns -ENOSYS and is counted in EMU_BLOCK_STATS unknown_syscalls), or its handler
  is marked @deliberate_enosys (the callers have a fallback).
The family of an implemented syscall is its handler's module (kernel/fd.py -> fd); that
of an unimplemented one is the table comment's last word.  Nothing is typed in by hand,
so the same code always gives the same file; CI (`.ci/run`) runs --check.
"""
import re
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TABLE_PY = REPO / "kernel" / "table.py"
LEDGER_MD = REPO / "SYSCALL_LEDGER.md"
_COMMENT = re.compile(r"^\s*#\s*(\d+)\s+([a-z_0-9]+)\s+([a-z_]+)\s*$")
STATUSES = ("implemented", "partial", "ENOSYS")


def rows():
    """[(nr, name, family, status, note)] for every number the table lists."""
    sys.path.insert(0, str(REPO))
    from kernel import table
    out = []
    for s in table.TABLE:
        family = s.handler.__module__.rpartition(".")[2]
        if getattr(s.handler, "enosys", None):
            out.append((s.nr, s.name, family, "ENOSYS", "deliberate: " + s.handler.enosys))
        elif getattr(s.handler, "partial", None):
            out.append((s.nr, s.name, family, "partial", s.handler.partial))
        else:
            out.append((s.nr, s.name, family, "implemented", ""))
    known = {s.nr for s in table.TABLE}
    for line in TABLE_PY.read_text().splitlines():
        m = _COMMENT.match(line)
        if m and int(m.group(1)) not in known:
            out.append((int(m.group(1)), m.group(2), m.group(3), "ENOSYS", ""))
    return sorted(out)


def _family_doc(family):
    """The first line of kernel/<family>.py's docstring, or a note that there is none."""
    if not (REPO / "kernel" / f"{family}.py").exists():
        return "No handlers yet: every call below returns -ENOSYS."
    mod = __import__(f"kernel.{family}", fromlist=["_"])
    return (mod.__doc__ or "").strip().splitlines()[0]


def render():
    rs = rows()
    by_family = defaultdict(list)
    for r in rs:
        by_family[r[2]].append(r)
    counts = {f: {st: sum(1 for r in v if r[3] == st) for st in STATUSES}
              for f, v in by_family.items()}
    order = sorted(by_family, key=lambda f: (-(counts[f]["implemented"] + counts[f]["partial"]), f))
    total = {st: sum(c[st] for c in counts.values()) for st in STATUSES}
    out = ["# Syscall ledger", "",
           "Generated from `kernel/table.py` by `python -m harness syscall-ledger`; do not edit "
           "(CI runs `python -m harness syscall-ledger --check`).", "",
           "AArch64 Linux (asm-generic) syscall numbers. **implemented**: a handler claims the "
           "whole call; **partial**: the handler says what is missing; **ENOSYS**: no handler "
           "(the guest gets -ENOSYS and the call is counted in `EMU_BLOCK_STATS` "
           "`unknown_syscalls`) or deliberately ENOSYS.", "",
           "## Summary", "",
           "| family | implemented | partial | ENOSYS | total |",
           "|---|---:|---:|---:|---:|"]
    for f in order:
        c = counts[f]
        out.append(f"| [{f}](#{f}) | {c['implemented']} | {c['partial']} | {c['ENOSYS']} | "
                   f"{sum(c.values())} |")
    out.append(f"| **all** | **{total['implemented']}** | **{total['partial']}** | "
               f"**{total['ENOSYS']}** | **{len(rs)}** |")
    for f in order:
        out += ["", f"## {f}", "", _family_doc(f), "",
                "| nr | name | status | note |", "|---:|---|---|---|"]
        for nr, name, _, status, note in by_family[f]:
            out.append(f"| {nr} | `{name}` | {status} | {note.replace('|', '/')} |")
    return "\n".join(out) + "\n"


def add_arguments(p):
    p.add_argument("--check", action="store_true",
                   help="exit 1 if SYSCALL_LEDGER.md is not what kernel/table.py gives")


def main(args, prog="python -m harness syscall-ledger"):
    text = render()
    if args.check:
        current = LEDGER_MD.read_text() if LEDGER_MD.exists() else None
        if current != text:
            where = "missing" if current is None else "out of date"
            print(f"{prog} --check: SYSCALL_LEDGER.md is {where}; regenerate it with `{prog}`",
                  file=sys.stderr)
            return 1
        return 0
    LEDGER_MD.write_text(text)
    n = len(rows())
    print(f"wrote {LEDGER_MD.name} ({n} syscalls)", file=sys.stderr)
    return 0
