"""The ISA coverage ledger: ISA_LEDGER.md, generated from the decode table and the test record.

  python -m harness ledger            regenerate ISA_LEDGER.md (runs the ISA tests first when
                                      build/isa-coverage.json is missing, stale or incomplete)
  python -m harness ledger --check    exit 1 with one line if ISA_LEDGER.md is not what the
                                      current code and build/isa-coverage.json produce

What the ledger shows, all derived from the code (nothing is typed in by hand):
- every form of `translator.patterns.TABLE` (name, group module, bit pattern); how much of
  it is lifted (of FORM_SAMPLES random encodings of the form that capstone decodes, those
  whose semantics neither raise `Undefined` nor trap UNDEF: harness/risu.py `lifts`); how
  many differential cases against Unicorn ran it and how many distinct encodings those
  cases used.  Counts come from build/isa-coverage.json, written by the pytest plugin
  tests/coverage_plugin.py during any run of the ISA tests (ISA_TESTS below, `-m "not
  slow"`, default EMU_FUZZ_CASES); the file is complete when every non-slow item of every
  ISA test file has its record for the current FINGERPRINT;
- what is not lifted: random words sampled per top-level A64 encoding group (op0, bits
  28:25), counted by capstone mnemonic when capstone decodes them and our decode table has no
  form for them or the form leaves them undefined (they raise SIGILL in the guest), plus the
  words we lift that capstone rejects.
Everything is seeded, so the same code gives the same file byte for byte (checked: the
record is identical after re-running test files in another order or a subset of them);
CI (`.ci/run`) runs `--check` right after the test run that wrote the JSON.  Whoever changes
the decode table or the ISA tests regenerates the ledger (`python -m harness ledger`, about
the time of the ISA tests) and commits it.

Heavy imports (translator, llvmlite, capstone through translator/decoder.py) happen inside
the functions that need them; importing this module costs nothing (the pytest plugin uses its
paths and fingerprint).
"""
import fnmatch
import hashlib
import json
import os
import random
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COVERAGE_JSON = REPO / "build" / "isa-coverage.json"
LEDGER_MD = REPO / "ISA_LEDGER.md"
JSON_VERSION = 1

# The test items whose differential cases the ledger counts.
ISA_TESTS = ("tests/test_isa_*.py", "tests/test_risu.py")
# The sources that decide those counts (which words the ISA tests run, and the form each
# decodes to): a change to any of them makes the record stale.  The rest of the JIT (jit.py,
# compiler.py...) changes whether a test passes, not what it runs; the test suite reports that.
FINGERPRINT = ("translator/patterns.py", "translator/isa/*.py", "translator/lifter.py",
               "translator/decoder.py", "tests/unicorn_rig.py", "tests/fpvals.py",
               "tests/coverage_plugin.py", "harness/risu.py") + ISA_TESTS
ATTEMPTS = 3               # test runs, when the sources change while the tests run
# Environment knobs that change how many cases a test runs, with the value the ledger uses.
KNOBS = {"EMU_FUZZ_CASES": "300"}

FORM_SAMPLES = 12          # random encodings per form for the "lifted" column
GAP_SAMPLES = 2000         # random words per top-level encoding group
GAP_ROWS = 30              # mnemonics listed per group (the rest summed in one line)

TOP_GROUPS = [             # ARM ARM C4.1: op0 = bits 28:25
    ("reserved", "0000", (0b0000,)),
    ("SME (unallocated in v8)", "0001", (0b0001,)),
    ("SVE", "0010", (0b0010,)),
    ("unallocated", "0011", (0b0011,)),
    ("data processing, immediate", "100x", (0b1000, 0b1001)),
    ("branches, exception generation, system", "101x", (0b1010, 0b1011)),
    ("loads and stores", "x1x0", (0b0100, 0b0110, 0b1100, 0b1110)),
    ("data processing, register", "x101", (0b0101, 0b1101)),
    ("data processing, SIMD and FP", "x111", (0b0111, 0b1111)),
]


# -- the record (shared with tests/coverage_plugin.py) ------------------------------------------

def _glob(patterns):
    out = set()
    for pat in patterns:
        out.update(p.relative_to(REPO).as_posix() for p in REPO.glob(pat) if p.is_file())
    return sorted(out)


def isa_test_files():
    return _glob(ISA_TESTS)


def is_isa_test(rel):
    return any(fnmatch.fnmatch(rel, p) for p in ISA_TESTS)


def fingerprint():
    """sha256 over the paths and contents of the FINGERPRINT sources."""
    h = hashlib.sha256()
    for rel in _glob(FINGERPRINT):
        h.update(rel.encode() + b"\0" + (REPO / rel).read_bytes() + b"\0")
    return h.hexdigest()


def non_default_knobs():
    """'VAR=value' for knobs set to something else than the ledger's value, else ''."""
    bad = [f"{k}={os.environ[k]}" for k, v in KNOBS.items()
           if os.environ.get(k) not in (None, "", v)]
    return " ".join(bad)


def form_key(pat):
    """A form's key in the record: its name and bit pattern (names repeat, e.g. SSHR_v)."""
    return f"{pat.name} {pat.bits}"


def load_coverage():
    try:
        return json.loads(COVERAGE_JSON.read_text())
    except (OSError, ValueError):
        return None


def record_problem(data):
    """(None, []) when the record is complete for the current code, else
    (what is wrong, pytest targets that would complete it)."""
    files = isa_test_files()
    if data is None:
        return f"{_rel(COVERAGE_JSON)} is missing", files
    if data.get("version") != JSON_VERSION or data.get("fingerprint") != fingerprint():
        return f"{_rel(COVERAGE_JSON)} was recorded for other sources (stale)", files
    missing_files = [f for f in files if f not in data["files"]]
    missing_items = [n for f in files if f in data["files"]
                     for n, slow in data["files"][f].items()
                     if not slow and n not in data["items"]]
    if missing_files or missing_items:
        what = ", ".join(filter(None, [
            f"{len(missing_files)} test file(s) never collected" if missing_files else "",
            f"{len(missing_items)} test item(s) not run" if missing_items else ""]))
        return f"{_rel(COVERAGE_JSON)} is incomplete ({what})", missing_files + missing_items
    return None, []


def _rel(p):
    return p.relative_to(REPO).as_posix()


def run_tests(targets):
    """Run ISA test targets with the coverage plugin, under the default knobs."""
    env = {k: v for k, v in os.environ.items() if k not in KNOBS}
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "not slow", "-p", "tests.coverage_plugin",
           *targets]
    shown = " ".join(cmd[1:8] + (targets if len(targets) <= 6 else targets[:6] + ["..."]))
    print(f"ledger: running {shown}", file=sys.stderr, flush=True)
    return subprocess.run(cmd, cwd=REPO, env=env).returncode


# -- what the ledger says ---------------------------------------------------------------------

def _counts(data):
    """form key -> [cases, distinct words]; plus the items counted and their outcomes."""
    cases = Counter()
    words = defaultdict(set)
    outcomes = Counter()
    for f in isa_test_files():
        for nodeid, slow in data["files"].get(f, {}).items():
            rec = data["items"].get(nodeid)
            if slow or rec is None:
                continue
            outcomes[rec["outcome"]] += 1
            for key, (n, ws) in rec["forms"].items():
                cases[key] += n
                words[key].update(ws)
    return cases, {k: len(v) for k, v in words.items()}, outcomes


def form_status(pat):
    """(lifted, capstone-valid, capstone-rejected) over FORM_SAMPLES random encodings."""
    from harness import risu
    from translator import decoder, patterns
    rng = random.Random(f"ledger-form:{form_key(pat)}")
    lifted = valid = rejected = 0
    seen = tries = 0
    while seen < FORM_SAMPLES and tries < FORM_SAMPLES * 8:
        tries += 1
        w = risu.random_word(pat, rng)
        if patterns.decode(w)[0] is not pat:
            continue
        seen += 1
        if not decoder.capstone_view(w, risu.CODE_BASE)[0]:
            rejected += 1
            continue
        valid += 1
        lifted += risu.lifts(w)
    return lifted, valid, rejected


def gap_samples():
    """Per top-level group: sample counts and the undefined words by capstone mnemonic."""
    from harness import risu
    from translator import decoder, patterns
    out = []
    for name, op0_text, op0s in TOP_GROUPS:
        rng = random.Random(f"ledger-gaps:{op0_text}")
        st = Counter()
        gaps = defaultdict(lambda: [0, Counter(), None])   # mnemonic -> [n, reasons, example]
        extra = Counter()                                   # form -> words capstone rejects
        for _ in range(GAP_SAMPLES):
            w = (rng.getrandbits(32) & ~(0xF << 25)) | (rng.choice(op0s) << 25)
            mnem, ops, _ = decoder.capstone_view(w, risu.CODE_BASE)
            pat, _ = patterns.decode(w)
            ok = pat is not None and risu.lifts(w)
            st["sampled"] += 1
            st["capstone"] += bool(mnem)
            st["lifted"] += ok
            if mnem and not ok:
                st["undefined"] += 1
                g = gaps[mnem]
                g[0] += 1
                g[1]["no form" if pat is None else f"{pat.name}: UNDEF"] += 1
                if g[2] is None:
                    g[2] = (w, f"{mnem} {ops}".strip())
            elif ok and not mnem:
                st["extra"] += 1
                extra[pat.name] += 1
        out.append((name, op0_text, st, gaps, extra))
    return out


def _md(s):
    return str(s).replace("|", "\\|")


def render(data):
    """The whole ISA_LEDGER.md text."""
    import translator.jit  # noqa: F401  (registers every form)
    from translator import patterns
    cases, encodings, outcomes = _counts(data)
    table = list(patterns.TABLE)
    groups = list(dict.fromkeys(p.group for p in table))
    status = {id(p): form_status(p) for p in table}
    nitems = sum(outcomes.values())
    total_cases = sum(cases.get(form_key(p), 0) for p in table)
    untested = [p for p in table if not cases.get(form_key(p))]
    not_lifted = [p for p in table if status[id(p)][0] < status[id(p)][1]]
    L = []
    w = L.append
    w("# ISA coverage ledger")
    w("")
    w("Generated by `python -m harness ledger` (harness/ledger.py) from the decode table "
      "(`translator.patterns.TABLE`) and the differential test record "
      "(`build/isa-coverage.json`, written by tests/coverage_plugin.py when the ISA tests run). "
      "Do not edit: CI runs `python -m harness ledger --check`.")
    w("")
    w(f"- {len(table)} forms in the decode table; {len(table) - len(untested)} ran in at least "
      f"one differential case (oracle Unicorn, or qemu-aarch64 7.2 where Unicorn cannot run the "
      f"form or is wrong: tests/test_isa_vectors_qemu.py, the alignment of ordered accesses in "
      f"tests/test_isa_loadstore.py), {len(untested)} in none.")
    w(f"- {total_cases} form-cases from {nitems} test items of "
      f"{', '.join('`' + t + '`' for t in ISA_TESTS)} "
      f"(`-m \"not slow\"`, EMU_FUZZ_CASES={KNOBS['EMU_FUZZ_CASES']}); item outcomes: "
      + ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items())) + ".")
    w("- A case is one run of a snippet from one random machine state in both engines; it "
      "counts once for each form among the snippet's words. *encodings*: distinct instruction "
      "words of the form over all its cases.")
    w("- Compared in a case (tests/unicorn_rig.py `compare`, tests/fpvals.py `check_flags`): "
      "how the run ended, X0-X30, SP, PC, NZCV, V0-V31, the whole FPSR (IOC DZC OFC UFC IXC "
      "IDC QC; only the documented deviations of tests/unicorn_rig.py `fpsr_leeway` are "
      "tolerated, each in its exact shape) and the data and stack pages.")
    few = [p for p in table if 0 < cases.get(form_key(p), 0) < int(KNOBS["EMU_FUZZ_CASES"])]
    w(f"- Forms with fewer cases than EMU_FUZZ_CASES={KNOBS['EMU_FUZZ_CASES']}: "
      + (", ".join(f"{p.name} ({cases[form_key(p)]})" for p in few) if few else "none") + ".")
    w(f"- *lifted*: of {FORM_SAMPLES} random encodings of the form (random field values), "
      "those capstone decodes / of them, those our JIT lifts (the rest are UNDEF here: reserved "
      "field values, or parts of the form deliberately left out); *cs-rejects*: encodings "
      "matching the form that capstone 5.0.9 does not decode.")
    w("")
    w("## Summary by group")
    w("")
    w("| group | forms | tested | untested | some encodings UNDEF | cases |")
    w("|---|---:|---:|---:|---:|---:|")
    for g in groups:
        ps = [p for p in table if p.group == g]
        t = sum(1 for p in ps if cases.get(form_key(p)))
        nl = sum(1 for p in ps if p in not_lifted)
        c = sum(cases.get(form_key(p), 0) for p in ps)
        w(f"| {g} | {len(ps)} | {t} | {len(ps) - t} | {nl} | {c} |")
    w("")
    w("## Forms")
    w("")
    w("| form | group | bits | lifted | cs-rejects | cases | encodings |")
    w("|---|---|---|---:|---:|---:|---:|")
    for p in table:
        lifted, valid, rejected = status[id(p)]
        k = form_key(p)
        w(f"| {_md(p.name)} | {p.group} | `{p.bits}` | {lifted}/{valid} | {rejected} | "
          f"{cases.get(k, 0)} | {encodings.get(k, 0)} |")
    w("")
    w("## Forms without a differential case")
    w("")
    w(", ".join(f"{p.name} (`{p.bits}`)" for p in untested) if untested else "None.")
    w("")
    w("## Not lifted: what the decode table leaves undefined")
    w("")
    w(f"{GAP_SAMPLES} random words per top-level encoding group (op0 = bits 28:25, seeded). "
      "*undefined here*: capstone decodes the word but we raise SIGILL for it (no form matches, "
      "or the form's semantics leave those field values undefined). *lifted, capstone "
      "rejects*: words we execute that capstone 5.0.9 does not decode: newer instructions, "
      "CONSTRAINED UNPREDICTABLE encodings (write-back with Rt = Rn, load pair with Rt = Rt2, "
      "should-be-one fields that are not), which ARM lets an implementation execute, or a "
      "form wider than the architecture.")
    w("")
    gaps = gap_samples()
    w("| group | op0 | sampled | capstone decodes | lifted | undefined here | lifted, capstone rejects |")
    w("|---|---|---:|---:|---:|---:|---:|")
    for name, op0, st, _, _ in gaps:
        w(f"| {name} | `{op0}` | {st['sampled']} | {st['capstone']} | {st['lifted']} | "
          f"{st['undefined']} | {st['extra']} |")
    for name, op0, st, g, extra in gaps:
        if not g and not extra:
            continue
        w("")
        w(f"### {name} (`{op0}`)")
        w("")
        if g:
            w("| capstone mnemonic | words | why | example |")
            w("|---|---:|---|---|")
            rows = sorted(g.items(), key=lambda kv: (-kv[1][0], kv[0]))
            for mnem, (n, reasons, (word, text)) in rows[:GAP_ROWS]:
                why = ", ".join(f"{r} ({c})" if len(reasons) > 1 else r
                                for r, c in sorted(reasons.items(), key=lambda rc: (-rc[1], rc[0]))[:3])
                w(f"| {_md(mnem)} | {n} | {_md(why)} | `{word:08x}` {_md(text)} |")
            rest = rows[GAP_ROWS:]
            if rest:
                w(f"| ({len(rest)} more mnemonics) | {sum(r[1][0] for r in rest)} | | |")
        if extra:
            w("")
            w("Lifted but rejected by capstone: " + ", ".join(
                f"{f} ({n})" for f, n in sorted(extra.items(), key=lambda kv: (-kv[1], kv[0]))) + ".")
    w("")
    return "\n".join(L)


# -- the command ----------------------------------------------------------------------------------

def add_arguments(p):
    p.add_argument("--check", action="store_true",
                   help="exit 1 if ISA_LEDGER.md is not what the code and the record produce")


def _first_difference(old, new):
    a, b = old.splitlines(), new.splitlines()
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"line {i + 1}: {y[:70]!r}"
    return f"line {min(len(a), len(b)) + 1} (length {len(a)} vs {len(b)} lines)"


def main(args, prog="python -m harness ledger"):
    data = load_coverage()
    problem, targets = record_problem(data)
    if args.check:
        if problem:
            print(f"{prog} --check: {problem}; run the ISA tests or `{prog}`", file=sys.stderr)
            return 1
        new = render(data)
        old = LEDGER_MD.read_text() if LEDGER_MD.exists() else None
        if old != new:
            where = "missing" if old is None else f"out of date, first difference at {_first_difference(old, new)}"
            print(f"{prog} --check: {_rel(LEDGER_MD)} is {where}; regenerate it with `{prog}`",
                  file=sys.stderr)
            return 1
        print(f"{_rel(LEDGER_MD)} is current")
        return 0
    status = 0
    for _ in range(ATTEMPTS):
        if not problem:
            break
        print(f"ledger: {problem}", file=sys.stderr)
        status = run_tests(targets)
        data = load_coverage()
        problem, targets = record_problem(data)
    if problem:
        print(f"{prog}: {problem} after {ATTEMPTS} test runs (sources changing meanwhile?)",
              file=sys.stderr)
        return 1
    text = render(data)
    LEDGER_MD.write_text(text)
    _, _, outcomes = _counts(data)
    print(f"{_rel(LEDGER_MD)} written ({sum(outcomes.values())} test items)")
    if status or outcomes.get("failed"):
        print(f"{prog}: some ISA tests failed; their counts stop at the failure", file=sys.stderr)
        return 1
    return 0
