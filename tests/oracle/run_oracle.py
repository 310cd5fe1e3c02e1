#!/usr/bin/env python3
"""Oracle test: pycorecheck's answer against CPython's own.

For every interpreter x fixture (fixtures/*.py that call oracle.run):
run the fixture once, wait for its oracle JSON and for the parent to stop
itself, and read the stopped parent in each mode (--modes, default all):
  live:     pycorecheck --json --dump-referents REFS --pid PARENT
  core:     gcore, then the same on the core (--threads 3)
  no-dwarf: the same core again with --no-dwarf (interpreters with DWARF:
            the layouts from the built-in tables, the traversals from
            exported symbols and imported modules)
Each mode is a case of its own ("LABEL FIXTURE", "... live", "... no-dwarf"),
and each is compared with the oracle:
  a. the unreachable set with the oracle's (exactly),
  b. the referents of every object pycorecheck could traverse with
     gc.get_referents() (as multisets), and its size with sys.getsizeof()
     (equal where pycorecheck says exact, no larger where it says a lower
     bound),
  c. the exit status (1 when the oracle found garbage, else 0),
  d. the Python version pycorecheck read,
  e. the open files, f. the collector's state,
  g. with --check-traversals, every object pycorecheck traverses with its
     own code against its type's tp_traverse run in the CPU emulator (no
     object may differ).
Then each mode's own checks:
  core:     with --threads 1, the same report as with three;
  live:     the target still stopped afterwards, every thread in state T,
            no tracer left; once the core is taken too, SIGCONT lets it run
            to a clean exit (status 0); the JSON says live, with the pid
            and a pause;
  live, no-dwarf: the same report as the core's, but for the fields that
            say how the heap was read (HOW_READ).
Before any of that, in every mode (--oracle-only too), the oracle itself:
its recomputed unreachable set must agree with what gc.collect() did
(fixtures/oracle.py, _collect), and the fixture must make garbage (none in
reachable_only, or in a fixture run with expect_garbage=False).  Either is
a FAIL, and so is a fixture that times out; only an entry of
KNOWN_LIMITATIONS turns one into a SKIP, named again in the summary.

Prints one line per case (PASS:/FAIL:/SKIP:) and a closing
"N passed, N failed, N skipped" line.  Exit 1 if anything failed, 77 if
everything was skipped, else 0.

With --stripped-only, instead of each 2.7 and 3.6 interpreter, a copy whose
libpython has no symbol table, read from its core with --pcc-arg=--no-dwarf:
the GC fields pycorecheck cannot find there must be null, with one warning,
and everything else as exact.

Environment: PYCORECHECK (the binary), TOP_SRCDIR, PCC_PYTHONS (colon list
of interpreters, replaces discovery; the token "sid" stands for the
unpacked Debian sid interpreters, "src" for the builds of
tests/setup-source-pythons.sh), PCC_ALL_VERSIONS=1 (also run versions not
supported yet), PYENV_ROOT, PCC_SID_ROOT, PCC_SRC_ROOT (default
/var/cache/pcc-src).
"""
from __future__ import print_function

import argparse
import atexit
import collections
import concurrent.futures
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "live"))
import target_state  # noqa: E402
TOP = os.environ.get("TOP_SRCDIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
FIXTURES = os.path.join(TOP, "fixtures")

SUPPORTED = (((2, 7), (2, 8)), ((3, 6), (3, 15)))  # [low, high) ranges
NODWARF_SUPPORTED = (((2, 7), (2, 8)), ((3, 6), (3, 15)))  # with --no-dwarf
UNSUPPORTED_REASON = "not supported yet (issue 4)"
FIXTURE_TIMEOUT = 150   # fixture start to oracle written + parent stopped
CHILD_ALARM = 120       # signal.alarm() in the oracle child (fixtures/oracle.py)
GCORE_TIMEOUT = 300
PCC_TIMEOUT = 600
MAX_EXAMPLES = 3
EXIT_TIMEOUT = 60       # SIGCONT to the live target's exit

# How each stopped fixture is read, in this order: live (pycorecheck --pid
# on the stopped parent, while nothing else has touched it), then its core
# (gcore) with DWARF, then the same core with --no-dwarf.  One fixture run
# serves all three.
MODES = ("live", "core", "no-dwarf")
# The fields of "target" that say how the heap was read, not what it holds:
# the live, core and no-DWARF reports of one stopped process differ there.
# python_module too: the sid interpreters, started by their ld.so, are read
# from the file live but from their image in memory in a core (libdwfl
# names the first module of the link map after the executable, ld.so).
HOW_READ = ("core", "compression", "live", "pid", "pause_seconds", "threads", "layout_source",
            "python_module")

# Known limitations: the only reasons a case may end in SKIP once its
# fixture ran.  Any other self-check disagreement or time-out is a FAIL,
# and every limitation that was hit is named again in the summary.  Each
# entry: (name, [low, high) Python versions as tuples, to the patch release
# if need be, fixtures (None: all), what it excuses ("timeout",
# "selfcheck"), why).  Add one only for a case seen
# here, with a reason a reader can check.
#
# The design notes name 3.12.1 hanging in its own collector on asyncio
# garbage under DEBUG_SAVEALL; on these machines a heap of garbage event
# loops with pending tasks and timers is collected by 3.12.1 in a few
# milliseconds, so it is not excused.
KNOWN_LIMITATIONS = (
    ("cell-resurrected-3.13.0", ((3, 13, 0), (3, 13, 1)), ("cpython_tests",), ("selfcheck",),
     "3.13.0 only (3.13.18 and 3.14 agree): after the finalizers of the test "
     "run's garbage ran, one cell of the fork-time unreachable set is alive and "
     "not saved, and no object with weak references that the collection "
     "cleared reaches it, so the oracle cannot tell a resurrection from a "
     "wrong recomputation; pycorecheck is not compared on this case.  The "
     "cell is the closure of xml.etree.ElementTree.iterparse (its "
     "IterParseIterator has a __del__), held by the closures of close, "
     "__del__ and iterator"),
)

# Fixtures whose garbage only the emulated traversals of C types find: a
# pycorecheck built without the emulator is expected to miss it (SKIP).
NEEDS_EMULATOR = ("c_types", "mypy_run", "xml_yaml", "pandas_frames", "cpython_tests")

_live = set()           # process groups to kill on any exit
_live_lock = threading.Lock()
_print_lock = threading.Lock()
_stopping = threading.Event()  # set on SIGTERM/SIGINT: start nothing new


def say(text):
    with _print_lock:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()


# ---------------------------------------------------------------- processes

def spawn(argv, **kw):
    with _live_lock:
        if _stopping.is_set():
            raise RuntimeError("interrupted")
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        _live.add(p)
    return p


def reap(p):
    """SIGKILL the process group of p (its fork child too) and wait."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        p.wait(timeout=30)
    except Exception:
        pass
    with _live_lock:
        _live.discard(p)


def reap_all():
    with _live_lock:
        procs = list(_live)
    for p in procs:
        reap(p)


def proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as fh:
            s = fh.read()
    except (IOError, OSError):
        return None
    return s[s.rindex(")") + 2:].split()[0]


def proc_children(pid):
    out = []
    for path in glob.glob("/proc/%d/task/*/children" % pid):
        try:
            with open(path) as fh:
                out.extend(int(x) for x in fh.read().split())
        except (IOError, OSError):
            pass
    return out


def tail(path, n=15):
    try:
        with open(path, "rb") as fh:
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except (IOError, OSError):
        return ""
    return "\n".join("      | " + l for l in lines[-n:])


def run_cmd(argv, timeout):
    """(returncode, stdout, stderr); returncode None on timeout."""
    p = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        reap(p)
        out, err = p.communicate()
        rc = None
    with _live_lock:
        _live.discard(p)
    return rc, out, err


# ---------------------------------------------------------------- discovery

def elf_has_dwarf(path):
    """True/False, or None when it cannot be told (no readelf)."""
    if not shutil.which("readelf"):
        return None
    rc, out, _ = run_cmd(["readelf", "-S", "-W", path], 60)
    if rc == 0 and b".debug_info" in out:
        return True
    rc, out, _ = run_cmd(["readelf", "-n", path], 60)
    m = re.search(rb"Build ID:\s*([0-9a-f]+)", out or b"")
    if m:
        bid = m.group(1).decode()
        for root in ("/usr/lib/debug/.build-id",):
            if os.path.exists(os.path.join(root, bid[:2], bid[2:] + ".debug")):
                return True
    return False


def libpythons(exe):
    rc, out, _ = run_cmd(["ldd", exe], 60)
    libs = []
    for line in (out or b"").decode("utf-8", "replace").splitlines():
        m = re.match(r"\s*(libpython\S*)\s+=>\s+(\S+)", line)
        if m:
            libs.append(m.group(2))
    return libs


def dwarf_reason(exe):
    """None if exe (or its libpython) carries DWARF, else why not."""
    real = os.path.realpath(exe)
    objs = libpythons(real) or [real]
    for o in objs:
        has = elf_has_dwarf(o)
        if has is None or has:
            return None
    return "no DWARF for %s (install the -dbg package: %s has no .debug_info and " \
        "no /usr/lib/debug/.build-id file)" % (exe, ", ".join(objs))


class Python(object):
    def __init__(self, path, label):
        self.path = path
        self.label = label
        self.version = None   # (major, minor, micro)
        self.skip = None      # reason
        self.stripped = False  # a copy whose libpython has no symbol table
        self.dwarf = True      # False: known to have no DWARF (then no no-dwarf mode)
        self.lib = None        # the stripped copy's libpython


def probe(py, pcc_args=()):
    if not os.access(py.path, os.X_OK):
        py.skip = "not executable: %s" % py.path
        return
    rc, out, err = run_cmd([py.path, "-E", "-S", "-c",
                            "import sys; sys.stdout.write('%d %d %d' % sys.version_info[:3])"], 60)
    if rc != 0:
        py.skip = "cannot run %s: %s" % (py.path, (err or b"").decode("utf-8", "replace").strip()[:200])
        return
    py.version = tuple(int(x) for x in out.split())
    nodwarf = "--no-dwarf" in pcc_args
    ranges = NODWARF_SUPPORTED if nodwarf else SUPPORTED
    supported = any(lo <= py.version[:2] < hi for lo, hi in ranges)
    if not supported and os.environ.get("PCC_ALL_VERSIONS") != "1":
        py.skip = UNSUPPORTED_REASON.replace(" yet", " yet without DWARF") if nodwarf \
            else UNSUPPORTED_REASON
        return


def sid_pythons():
    """Debian sid's python3.13/3.14, unpacked by tests/setup-sid-pythons.sh
    with the libc they need: run through that libc's dynamic loader, by a
    wrapper script (the process is the interpreter once the loader ran).
    They carry no DWARF: they test the built-in layouts."""
    root = os.environ.get("PCC_SID_ROOT", "/var/cache/pcc-sid/root")
    ld = os.path.join(root, "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    out = []
    exes = sorted(glob.glob(os.path.join(root, "usr/bin/python3.1[0-9]")))
    if not exes or not os.path.exists(ld):
        return out
    wrappers = tempfile.mkdtemp(prefix="pcc-sid-")
    atexit.register(shutil.rmtree, wrappers, True)
    libs = ":".join(os.path.join(root, d) for d in ("usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu"))
    for exe in exes:
        w = os.path.join(wrappers, os.path.basename(exe))
        with open(w, "w") as f:
            f.write('#!/bin/sh\nexec %s --library-path %s %s "$@"\n' % (ld, libs, exe))
        os.chmod(w, 0o755)
        py = Python(w, "sid-" + os.path.basename(exe))
        py.dwarf = False
        out.append(py)
    return out


STATIC_GC = (((2, 7), (2, 8)), ((3, 6), (3, 7)))  # GC state in statics of gcmodule.c


def stripped_copy(py):
    """A copy of py whose libpython went through strip --strip-all (only
    .dynsym left): without DWARF, the collector's statics cannot be found,
    so pycorecheck must report them as unknown and still be exact.  The
    copy's lib/pythonX.Y is a link to the original standard library, so it
    runs with -E; LD_LIBRARY_PATH (which beats RUNPATH) loads its libpython."""
    c = Python(py.path, "stripped-" + py.label)
    c.stripped = True
    real = os.path.realpath(py.path)
    libs = libpythons(real)
    if not libs:
        c.skip = "%s has no shared libpython to strip" % py.path
        return c
    if not shutil.which("strip"):
        c.skip = "strip not installed"
        return c
    prefix = os.path.dirname(os.path.dirname(real))
    d = tempfile.mkdtemp(prefix="pcc-stripped-")
    atexit.register(shutil.rmtree, d, True)
    os.makedirs(os.path.join(d, "bin"))
    os.makedirs(os.path.join(d, "lib"))
    exe = os.path.join(d, "bin", os.path.basename(real))
    shutil.copy2(real, exe)
    lib = os.path.join(d, "lib", os.path.basename(libs[0]))
    shutil.copy2(libs[0], lib)
    rc, _, err = run_cmd(["strip", "--strip-all", lib], 60)
    if rc != 0:
        c.skip = "strip failed: %s" % (err or b"").decode("utf-8", "replace").strip()[:200]
        return c
    std = os.path.join(prefix, "lib", "python%d.%d" % py.version[:2])
    os.symlink(std, os.path.join(d, "lib", os.path.basename(std)))
    c.path = os.path.join(d, "bin", "python")
    with open(c.path, "w") as f:
        f.write('#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' % (os.path.join(d, "lib"), exe))
    os.chmod(c.path, 0o755)
    c.lib = lib
    return c


# Interpreters built from Debian's sources by tests/setup-source-pythons.sh
# that the oracle runs on: (directory under PCC_SRC_ROOT, executable).  Its
# free-threaded python3.13t is refused by design: tests/free_threaded.test.
SRC_BUILDS = (
    ("python3.11-trace-refs", "python3.11"),
)


def src_root():
    return os.environ.get("PCC_SRC_ROOT", "/var/cache/pcc-src")


def src_python(name):
    """(path, why not there) of one build of tests/setup-source-pythons.sh."""
    root = src_root()
    for d, exe in SRC_BUILDS:
        if d != name:
            continue
        path = os.path.join(root, d, "bin", exe)
        if os.access(path, os.X_OK):
            return path, None
        try:
            with open(os.path.join(root, d + ".skip")) as fh:
                why = fh.read().strip()
        except (IOError, OSError):
            why = "not built"
        return None, "%s: %s (tests/setup-source-pythons.sh %s)" % (d, why, root)
    raise KeyError(name)


def src_pythons(always=False):
    """CPython builds no package ships (a --with-trace-refs 3.11), built
    with DWARF by tests/setup-source-pythons.sh.
    When the cache does not exist they are not listed at all, unless
    `always` (PCC_PYTHONS names them): then each is a skip that says why."""
    if not always and not os.path.isdir(src_root()):
        return []
    out = []
    for d, _ in SRC_BUILDS:
        path, why = src_python(d)
        py = Python(path or os.path.join(src_root(), d), "src-" + d)
        py.skip = why
        out.append(py)
    return out


def discover(explicit):
    pys = []
    root = os.environ.get("PYENV_ROOT") or "/root/.pyenv"

    def label(path):
        m = re.match(re.escape(os.path.join(root, "versions")) + r"/([^/]+)/bin/python[0-9.]*$", path)
        if m:
            return "pyenv-" + m.group(1)
        m = re.match(re.escape(src_root()) + r"/([^/]+)/bin/python[0-9.t]*$", path)
        return "src-" + m.group(1) if m else path
    if not explicit and os.environ.get("PCC_PYTHONS"):
        explicit = [p for p in os.environ["PCC_PYTHONS"].split(":") if p]
    if explicit:
        for p in explicit:
            if p == "sid":  # the unpacked Debian sid interpreters, if any
                pys.extend(sid_pythons())
            elif p == "src":  # the builds of tests/setup-source-pythons.sh
                pys.extend(src_pythons(always=True))
            else:
                pys.append(Python(p, label(p)))
        return pys
    found = []
    for d in glob.glob(os.path.join(root, "versions", "*")):
        exe = os.path.join(d, "bin", "python")
        if os.path.exists(exe):
            found.append((os.path.basename(d), exe))

    def vkey(item):
        return [int(x) if x.isdigit() else x for x in re.split(r"[.-]", item[0])]
    try:
        found.sort(key=vkey)
    except TypeError:
        found.sort()
    for name, exe in found:
        pys.append(Python(exe, "pyenv-" + name))
    pys.extend(sid_pythons())
    pys.extend(src_pythons())
    for exe, label, need_dwarf in (("/usr/bin/python3.11", "debian-python3.11", True),
                                   ("/usr/bin/python3.11d", "debian-python3.11d", False)):
        if not os.path.exists(exe):
            continue
        py = Python(exe, label)
        if need_dwarf:
            py.skip = dwarf_reason(exe)
        pys.append(py)
    return pys


def discover_fixtures(names):
    out = []
    for path in sorted(glob.glob(os.path.join(FIXTURES, "*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        if name == "oracle":
            continue
        with open(path) as fh:
            if "oracle.run(" not in fh.read():
                continue
        out.append((name, path))
    if names:
        by = dict(out)
        missing = [n for n in names if n not in by]
        if missing:
            raise SystemExit("no such fixture: %s (have: %s)" % (", ".join(missing), " ".join(sorted(by))))
        out = [(n, by[n]) for n in names]
    return out


def find_pycorecheck():
    env = os.environ.get("PYCORECHECK")
    if env:
        return env
    for cand in (os.path.join(TOP, "pycorecheck"), os.path.abspath("pycorecheck")):
        if os.path.exists(cand):
            return cand
    return os.path.join(TOP, "pycorecheck")


# ---------------------------------------------------------------- one case

class Result(object):
    def __init__(self, status, reason="", details=""):
        self.status = status  # PASS FAIL SKIP
        self.reason = reason
        self.details = details


_limits_hit = collections.OrderedDict()  # limitation name -> [case names]


def known_limitation(py, fixture, kind):
    """The entry of KNOWN_LIMITATIONS that excuses a `kind` failure of this
    case, or None."""
    v = tuple(py.version or ())  # (3, 12, 1): within [(3, 12, 1), (3, 12, 2))
    for entry in KNOWN_LIMITATIONS:
        name, (lo, hi), fixtures, kinds, why = entry
        if kind in kinds and lo <= v < hi and (fixtures is None or fixture in fixtures):
            return entry
    return None


def excused_or_failed(py, fixture, case, kind, reason, details=""):
    """SKIP when a known limitation names this failure, else FAIL."""
    entry = known_limitation(py, fixture, kind)
    if entry is None:
        return Result("FAIL", reason, details)
    with _print_lock:
        _limits_hit.setdefault(entry[0], []).append(case)
    return Result("SKIP", "known limitation %s (%s): %s" % (entry[0], entry[4], reason), details)


def limitations_summary():
    """Lines naming every known limitation that excused a case."""
    out = []
    why = dict((e[0], e[4]) for e in KNOWN_LIMITATIONS)
    for name, cases in _limits_hit.items():
        out.append("known limitation %s (%s): %d cases skipped: %s" % (
            name, why.get(name, "?"), len(cases), ", ".join(cases)))
    return out


def wait_verdict(py, fixture, case, why, log):
    """The result of a case whose fixture did not deliver its oracle."""
    if why.startswith("timed out"):
        return excused_or_failed(py, fixture, case, "timeout", why, tail(log))
    return Result("FAIL", why, tail(log))


def oracle_verdict(py, fixture, case, oracle):
    """None when the oracle is sound, else the case's result: a child that
    raised, a self-check that disagrees with the collector, garbage where
    the fixture expects none or none where it expects some."""
    if "error" in oracle:
        return Result("FAIL", "fixture child raised", "\n".join(
            "      | " + l for l in oracle["error"].splitlines()[-12:]))
    if "unavailable" in oracle:  # oracle.unavailable(): the fixture says why
        return Result("SKIP", oracle["unavailable"])
    sc = oracle.get("selfcheck")
    if not isinstance(sc, dict) or "agrees" not in sc:
        return Result("FAIL", "the oracle has no self-check (fixtures/oracle.py too old?)")
    if not sc["agrees"]:
        details = []
        for key, what in (("only_gc", "saved or cleared by the collector, reachable by the recomputation"),
                          ("only_recomputed", "unreachable by the recomputation, kept by the collector")):
            lst = sc.get(key) or []
            if lst:
                c = collections.Counter(o["type"] for o in lst)
                details.append("    %s (%d): %s" % (what, len(lst), ", ".join(
                    "%s x%d" % kv for kv in c.most_common(8))))
                details.append("      e.g. %s" % ", ".join("%s(%s)" % (o["addr"], o["type"])
                                                         for o in lst[:MAX_EXAMPLES]))
        return excused_or_failed(py, fixture, case, "selfcheck",
                                 "the oracle's recomputed unreachable set disagrees with "
                                 "what gc.collect() did (counts %s)" % (sc.get("counts"),),
                                 "\n".join(details))
    n = len(oracle.get("unreachable", []))
    expect = oracle.get("expect_garbage", True) and fixture != "reachable_only"
    if n == 0 and expect:
        return Result("FAIL", "the oracle found no garbage in %s, which must make some" % fixture)
    if n and not expect:
        return Result("FAIL", "the oracle found %d unreachable objects in %s, which must make none"
                      % (n, fixture))
    return None


def oracle_note(oracle):
    """One line on what the collector did with the unreachable set."""
    c = (oracle.get("selfcheck") or {}).get("counts") or {}
    return "    oracle: %d unreachable: %d saved by gc.collect(), %d by a later one, " \
        "%d freed and %d resurrected by finalizers (%d rounds); %d reachable objects freed" % (
            len(oracle.get("unreachable", [])), c.get("saved", 0), c.get("saved_later", 0),
            c.get("freed", 0), c.get("resurrected", 0), c.get("rounds", 0),
            c.get("freed_reachable", 0))


def wait_for_oracle(p, out, deadline):
    """Wait until out exists and the parent is stopped.  None or a reason."""
    dead_child_since = None
    start = time.time()
    while True:
        rc = p.poll()
        if rc is not None:
            if rc == 0 and os.path.exists(out):
                return None  # oracle.unavailable(): the case says why
            return "fixture exited early with status %s" % rc
        state = proc_state(p.pid)
        have = os.path.exists(out)
        if have and state == "T":
            return None
        if state == "T" and not have:
            if proc_children(p.pid):
                dead_child_since = None
            elif dead_child_since is None:
                dead_child_since = time.time()
            elif time.time() - dead_child_since > 2:
                # re-check: the rename may have just landed
                if os.path.exists(out):
                    return None
                if time.time() - start > CHILD_ALARM - 5:
                    return "timed out: the oracle child was killed by its %ds alarm: the " \
                        "interpreter's own collector may hang" % CHILD_ALARM
                return "the oracle child died without writing %s" % os.path.basename(out)
        if time.time() > deadline:
            return "timed out after %ds (parent state %s, oracle %s): the interpreter's " \
                "own collector may hang" % (
                    FIXTURE_TIMEOUT, state, "written" if have else "missing")
        time.sleep(0.05)


def short_type(name):
    return name.rsplit(".", 1)[-1] if name else name


def fmt_addrs(addrs, types, limit=6):
    items = []
    for a in addrs[:limit]:
        items.append("%s(%s)" % (a, types.get(a, "?")))
    more = "" if len(addrs) <= limit else " +%d more" % (len(addrs) - limit)
    return ", ".join(items) + more


def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def compare_referents(oracle, refs_path, cache=None):
    """Part b of compare: (reasons, details, note).  cache, a dict, holds
    the answers for the dumps already compared, by content: the live, core
    and no-DWARF dumps of one stopped process are normally the same bytes,
    and the same bytes get the same answer."""
    if cache is None:
        return _compare_referents(oracle, refs_path)
    try:
        key = file_digest(refs_path)
    except (IOError, OSError) as e:
        return ["no referents dump: %s" % e], [], ""
    if key not in cache:
        cache[key] = _compare_referents(oracle, refs_path)
    reasons, details, note = cache[key]
    return list(reasons), list(details), note


def size_differences(bad, what, reasons, details):
    """Report bad, type -> [(addr, pycorecheck's bytes, exact, the
    oracle's)], into reasons and details."""
    if not bad:
        return
    total = sum(len(v) for v in bad.values())
    reasons.append("sizes differ from sys.getsizeof for %d %s (%s)" % (
        total, what, ", ".join("%s x%d" % (t, len(v)) for t, v in bad.items())))
    for t, lst in bad.items():
        details.append("    sizes of %s (%d): %s" % (t, len(lst), ", ".join(
            "%s %s, %s %s" % (addr, mine, "getsizeof" if exact else "struct (lower bound)", theirs)
            for addr, mine, exact, theirs in lst[:MAX_EXAMPLES])))


def _compare_referents(oracle, refs_path):
    reasons = []
    details = []
    otypes = oracle.get("types", {})
    orefs = oracle.get("referents", {})
    osizes = oracle.get("sizes", {})
    volatile = set(oracle.get("volatile", []))
    compared = unknown = partial = 0
    # Sizes: where pycorecheck says its size is sys.getsizeof's, the same
    # bytes; where it says a lower bound, the object's struct (tp_basicsize
    # and the bytes getsizeof adds before the object).
    sizes_exact = sizes_bound = 0
    size_bad = collections.OrderedDict()
    bad = collections.OrderedDict()
    typediff = []
    kinds = collections.Counter()
    dumped = set()
    lines = read_dump(refs_path)
    if lines is None:
        return ["no readable referents dump at %s" % refs_path], [], ""
    if True:
        for addr, d in lines.items():
            dumped.add(addr)
            kind = d.get("kind")
            kinds[kind] += 1
            if kind == "unknown":
                unknown += 1
                continue
            o = orefs.get(addr)
            if o is None or addr in volatile:
                continue
            otype, olist = o
            if short_type(d.get("type")) != otype:
                typediff.append((addr, otype, d.get("type")))
                continue
            osize = osizes.get(addr)
            if osize is not None:
                mine_size = d.get("bytes")
                exact = d.get("bytes_exact")
                theirs_size = osize[0] if exact else osize[1]
                if exact is True:
                    sizes_exact += 1
                elif exact is False:
                    sizes_bound += 1
                if not isinstance(exact, bool) or mine_size != theirs_size:
                    size_bad.setdefault(otype, []).append((addr, mine_size, exact, theirs_size))
            compared += 1
            mine = sorted(int(x, 16) for x in d.get("referents", []))
            theirs = sorted(int(x, 16) for x in olist)
            if mine != theirs:
                mc = collections.Counter(mine)
                tc = collections.Counter(theirs)
                ex = sorted((mc - tc).elements())
                mi = sorted((tc - mc).elements())
                # A partial traversal (an extension's own traverse, a
                # module's m_traverse) may miss references -- that only
                # hides garbage -- but must never invent one.
                if d.get("partial") and not ex:
                    partial += 1
                    continue
                bad.setdefault(otype, []).append((addr, kind, ex, mi))
    absent = [a for a in orefs if a not in dumped and a not in volatile]
    if absent:
        reasons.append("%d tracked objects missing from the referents dump" % len(absent))
        c = collections.Counter(orefs[a][0] for a in absent)
        details.append("    not in the dump: %s" % ", ".join("%s x%d" % kv for kv in c.most_common(10)))
        details.append("      e.g. %s" % fmt_addrs(absent, otypes))
    if bad:
        total = sum(len(v) for v in bad.values())
        reasons.append("referents differ for %d objects (%s)" % (
            total, ", ".join("%s x%d" % (t, len(v)) for t, v in bad.items())))
        for t, lst in bad.items():
            details.append("    referents of %s (%d objects):" % (t, len(lst)))
            for addr, kind, ex, mi in lst[:MAX_EXAMPLES]:
                exh = ["0x%x" % x for x in ex]
                mih = ["0x%x" % x for x in mi]
                details.append("      %s(%s) kind=%s extra=[%s] missing=[%s]" % (
                    addr, otypes.get(addr, "?"), kind, fmt_addrs(exh, otypes), fmt_addrs(mih, otypes)))
    size_differences(size_bad, "objects", reasons, details)
    if osizes and not sizes_exact:
        reasons.append("no object's size was compared with sys.getsizeof")
    if typediff:
        reasons.append("type names differ for %d objects" % len(typediff))
        c = collections.Counter((o, p) for _, o, p in typediff)
        details.append("    type names (oracle -> pycorecheck): %s" % ", ".join(
            "%s->%s x%d" % (o, p, k) for (o, p), k in c.most_common(8)))

    note = ("    referents compared for %d objects (%d partial: a subset), %d unknown, kinds: %s\n"
            "    sizes: %d equal to sys.getsizeof, %d lower bounds equal to the struct" % (
                compared, partial, unknown, ", ".join("%s=%d" % kv for kv in kinds.most_common(12)),
                sizes_exact, sizes_bound))
    return reasons, details, note


_last_dump = {}
_dump_lock = threading.Lock()


def read_dump(refs_path):
    """The referents dump's lines by address, or None.  Addresses are
    compared as written: pycorecheck and the oracle both write "0x%x".
    The last one read is kept: both comparisons read the same."""
    try:
        key = (refs_path, os.stat(refs_path).st_mtime_ns)
    except OSError:
        return None
    with _dump_lock:
        if _last_dump.get("key") == key:
            return _last_dump["lines"]
    lines = {}
    loads = json.loads
    try:
        with open(refs_path) as fh:
            for line in fh:
                if line.strip():
                    d = loads(line)
                    lines[d["addr"]] = d
    except (IOError, OSError, ValueError, KeyError, TypeError):
        return None
    with _dump_lock:
        _last_dump.clear()
        _last_dump.update(key=key, lines=lines)
    return lines


def compare_graph(oracle, report, refs_path):
    """The memory graph: (reasons, details, note).

    - Its nodes beyond the tracked objects: the untracked objects that the
      tracked ones hold, followed through untracked containers, with every
      dict's keys.  Reached from the tracked objects the child and the
      parent share (not the volatile frames), they are the same set, each
      of the same type, size and referents.
    - The report's type histogram and heap totals are the sums over the
      dump's nodes, and heap.tracked counts the tracked ones (the
      permanent generation's included).
    - Its exact bytes in all are the child's sys.getsizeof over the same
      graph (the volatile frames apart); the note says how far the lower
      bounds are from it."""
    reasons, details = [], []
    og = oracle.get("graph")
    if og is None:
        return reasons, details, ""
    if "skipped" in og:
        return reasons, details, "    memory graph: not compared: %s" % og["skipped"]
    lines = read_dump(refs_path)
    if lines is None:
        return ["no readable referents dump for the memory graph"], [], ""
    onodes = og["nodes"]
    okeys = og["dict_keys"]
    osizes = oracle.get("sizes", {})
    volatile = set(oracle.get("volatile", []))
    orefs = oracle.get("referents", {})

    def out_of(d):
        return d["referents"] + d["keys"]

    def scratch(d):
        # A frame the collector does not track is a code object's zombie
        # frame (to 3.10), which the parent reuses for the calls it makes
        # after the fork, and the child for its own: what it holds at the
        # stop is the parent's, not the child's.  It holds nothing here,
        # for either side.
        return not d.get("tracked") and short_type(d.get("type")) == "frame"

    # Both closures from the same tracked objects: those the child and
    # the parent share (not the volatile frames) whose referents
    # pycorecheck follows whole (not unknown, not partial).
    starts = [a for a, d in lines.items()
              if d.get("tracked") and not d.get("frozen") and a not in volatile
              and a in orefs and d.get("kind") != "unknown" and not d.get("partial")]
    mine = set()
    stack = []
    for a in starts:
        stack.extend(out_of(lines[a]))
    while stack:
        a = stack.pop()
        d = lines.get(a)
        if d is None or a in mine or (d.get("tracked") and not d.get("frozen")):
            continue
        mine.add(a)
        if not scratch(d):
            stack.extend(out_of(d))
    theirs = set()
    stack = []
    for a in starts:
        stack.extend(orefs[a][1])
        stack.extend(okeys.get(a, ()))
    while stack:
        a = stack.pop()
        o = onodes.get(a)
        if o is None or a in theirs:
            continue
        theirs.add(a)
        d = lines.get(a) or {}
        # What pycorecheck says it cannot follow (an untracked object of
        # an unknown traversal) holds nothing for either side.
        if d.get("kind") != "unknown" and not d.get("partial") and not scratch(d):
            stack.extend(o[2])
            stack.extend(o[3])
    missing = sorted(theirs - mine)
    extra = sorted(mine - theirs)
    # Frozen objects the shared heap does not reach are nodes of the
    # parent's graph that the child, walking from gc.get_objects(), never
    # saw; and what the dump could not read is no node of its.
    extra = [a for a in extra if not (lines[a].get("frozen") and a not in onodes)]
    if missing or extra:
        reasons.append("memory graph: %d untracked nodes missing, %d extra (oracle %d, pycorecheck %d)" % (
            len(missing), len(extra), len(theirs), len(mine)))
        for label, addrs in (("missing", missing), ("extra", extra)):
            if addrs:
                c = collections.Counter(
                    (onodes.get(a) or [lines.get(a, {}).get("type", "?")])[0] for a in addrs)
                details.append("    %s: %s; e.g. %s" % (label, ", ".join(
                    "%s x%d" % kv for kv in c.most_common(8)), ", ".join(addrs[:MAX_EXAMPLES])))
    bad_types, bad_sizes, bad_refs = [], collections.OrderedDict(), []
    exact = bound = 0
    for a in sorted(mine & theirs):
        d, o = lines[a], onodes[a]
        if short_type(d.get("type")) != o[0]:
            bad_types.append((a, o[0], d.get("type")))
            continue
        osz = osizes.get(a)
        if osz is not None:
            want = osz[0] if d.get("bytes_exact") else osz[1]
            if d.get("bytes_exact"):
                exact += 1
            else:
                bound += 1
            if d.get("bytes") != want:
                bad_sizes.setdefault(o[0], []).append((a, d.get("bytes"), d.get("bytes_exact"), want))
        if not d.get("partial") and not scratch(d) and set(out_of(d)) != set(o[2] + o[3]):
            bad_refs.append((a, o[0]))
    # A tracked dict's keys.
    bad_keys = []
    for a, keys in okeys.items():
        d = lines.get(a)
        if d is None or a in volatile or d.get("partial"):
            continue
        if not set(keys) <= set(out_of(d)):
            bad_keys.append((a, d.get("type")))
    if bad_types:
        reasons.append("memory graph: type names differ for %d untracked nodes" % len(bad_types))
        details.append("    e.g. %s" % ", ".join("%s %s->%s" % t for t in bad_types[:MAX_EXAMPLES]))
    size_differences(bad_sizes, "untracked nodes of the memory graph", reasons, details)
    if bad_refs:
        reasons.append("memory graph: referents and keys differ for %d untracked nodes" % len(bad_refs))
        details.append("    e.g. %s" % ", ".join("%s(%s)" % t for t in bad_refs[:MAX_EXAMPLES]))
    if bad_keys:
        reasons.append("memory graph: keys missing from %d dicts" % len(bad_keys))
        details.append("    e.g. %s" % ", ".join("%s(%s)" % t for t in bad_keys[:MAX_EXAMPLES]))
    if theirs and not exact:
        reasons.append("memory graph: no untracked node's size was compared with sys.getsizeof")

    # The report's sums are the dump's.
    heap = report.get("heap") or {}
    sums = collections.defaultdict(lambda: [0, 0, 0])
    for d in lines.values():
        s3 = sums[d.get("type")]
        s3[0] += 1
        s3[1] += 1 if d.get("tracked") else 0
        s3[2] += d.get("bytes") or 0
    hist = collections.defaultdict(lambda: [0, 0, 0])
    for t in report.get("type_histogram") or []:
        h3 = hist[t.get("type")]
        h3[0] += t.get("count", 0)
        h3[1] += t.get("tracked", 0)
        h3[2] += t.get("bytes", 0)
    if dict(sums) != dict(hist):
        diff = sorted(set(sums) ^ set(hist)) + sorted(
            t for t in set(sums) & set(hist) if sums[t] != hist[t])
        reasons.append("type_histogram is not the sum of the dump's nodes for %d types" % len(diff))
        details.append("    e.g. %s" % ", ".join("%s dump %s report %s" % (
            t, sums.get(t), hist.get(t)) for t in diff[:MAX_EXAMPLES]))
    ntracked = sum(1 for d in lines.values() if d.get("tracked"))
    nbytes = sum(d.get("bytes") or 0 for d in lines.values())
    for key, want in (("objects", len(lines)), ("tracked", ntracked), ("bytes", nbytes)):
        if heap.get(key) != want:
            reasons.append("heap.%s is %r, the dump's nodes say %r" % (key, heap.get(key), want))

    # Bytes in all, over the shared graph, where pycorecheck says its sizes
    # are sys.getsizeof's: the same, to the byte.  How far its lower bounds
    # are from the child's getsizeof (where __sizeof__ is CPython's, in C:
    # no tool reproduces a class's own) is said in the note.
    shared = [a for a in lines if a in orefs and a not in volatile] + sorted(mine & theirs)
    o_total = m_total = o_bound = m_bound = 0
    for a in shared:
        osz = osizes.get(a)
        if osz is None or (len(osz) > 2 and not osz[2]):
            continue
        if lines[a].get("bytes_exact"):
            o_total += osz[0]
            m_total += lines[a].get("bytes") or 0
        else:
            o_bound += osz[0]
            m_bound += lines[a].get("bytes") or 0
    if o_total != m_total:
        reasons.append("memory graph: %d bytes of exact sizes in all, sys.getsizeof says %d" % (
            m_total, o_total))
    gap = 100.0 * (o_bound - m_bound) / (o_total + o_bound) if o_total + o_bound else 0.0
    note = ("    memory graph: %d untracked nodes, %d sizes equal to sys.getsizeof, %d lower bounds; "
            "%d bytes exact, lower bounds %d bytes short of getsizeof (%.2f%% of all)" % (
                len(mine & theirs), exact, bound, m_total, o_bound - m_bound, gap))
    return reasons, details, note


def compare_graph_cached(oracle, report, refs_path, cache):
    """compare_graph, once per dump and report sums: the live, core and
    no-DWARF cases of one stopped process normally give the same."""
    if cache is None:
        return compare_graph(oracle, report, refs_path)
    try:
        key = ("graph", file_digest(refs_path), json.dumps(
            [report.get("heap"), report.get("type_histogram")], sort_keys=True))
    except (IOError, OSError) as e:
        return ["no referents dump: %s" % e], [], ""
    if key not in cache:
        cache[key] = compare_graph(oracle, report, refs_path)
    reasons, details, note = cache[key]
    return list(reasons), list(details), note


def compare(oracle, report, refs_path, rc, stderr, stripped=None, referents_cache=None):
    """List of failure reasons (short) and detail lines.  stripped: the
    stripped libpython the report must have read (see stripped_copy).
    referents_cache: see compare_referents."""
    reasons = []
    details = []
    otypes = oracle.get("types", {})
    want = dict((o["addr"], o["type"]) for o in oracle["unreachable"])

    # a. the unreachable set
    got = {}
    unr = (report.get("unreachable") or {}).get("objects")
    if unr is None:
        reasons.append("no unreachable.objects in the JSON")
        unr = []
    for o in unr:
        try:
            got[hex(int(o["addr"], 16))] = o.get("type")
        except (KeyError, TypeError, ValueError):
            reasons.append("bad unreachable entry %r" % (o,))
            break
    wantn = dict((hex(int(a, 16)), t) for a, t in want.items())
    missing = sorted(set(wantn) - set(got))
    extra = sorted(set(got) - set(wantn))
    if missing or extra:
        reasons.append("unreachable set differs: %d missing, %d extra (oracle %d, pycorecheck %d)" % (
            len(missing), len(extra), len(wantn), len(got)))
        for label, addrs, tmap in (("missing (oracle only)", missing, wantn),
                                   ("extra (pycorecheck only)", extra, got)):
            if not addrs:
                continue
            c = collections.Counter(tmap.get(a) or otypes.get(a, "?") for a in addrs)
            details.append("    %s: %s" % (label, ", ".join("%s x%d" % kv for kv in c.most_common())))
            details.append("      e.g. %s" % fmt_addrs(addrs, dict((a, tmap.get(a) or otypes.get(a, "?")) for a in addrs)))
    else:
        for a in sorted(set(got) & set(wantn)):
            if got[a] and short_type(got[a]) != wantn[a]:
                reasons.append("unreachable type names differ")
                details.append("    e.g. %s: oracle %s, pycorecheck %s" % (a, wantn[a], got[a]))
                break

    # b. referents
    r, d, referents_note = compare_referents(oracle, refs_path, referents_cache)
    reasons += r
    details += d
    r, d, graph_note = compare_graph_cached(oracle, report, refs_path, referents_cache)
    reasons += r
    details += d
    if graph_note:
        referents_note += "\n" + graph_note

    # e. open files: the same descriptor owners, each reachable or not as
    # the interpreter saw it; names and modes of FileIO (binary) and of
    # 2.7 file objects too.
    ofiles = dict((f["addr"], f) for f in oracle.get("files", []))
    mfiles = dict((hex(int(f["addr"], 16)), f) for f in report.get("files", []))
    ofiles = dict((hex(int(a, 16)), f) for a, f in ofiles.items())
    leaked = 0
    if set(ofiles) != set(mfiles):
        only_o = sorted(set(ofiles) - set(mfiles))
        only_m = sorted(set(mfiles) - set(ofiles))
        reasons.append("open files differ: %d missing, %d extra" % (len(only_o), len(only_m)))
        for a in only_o[:MAX_EXAMPLES]:
            details.append("    missing file %s %r" % (a, ofiles[a]))
        for a in only_m[:MAX_EXAMPLES]:
            details.append("    extra file %s %r" % (a, mfiles[a]))
    for a in sorted(set(ofiles) & set(mfiles)):
        o, m = ofiles[a], mfiles[a]
        if not o["reachable"]:
            leaked += 1
        problems = []
        if o["fd"] != m.get("fd"):
            problems.append("fd %r != %r" % (m.get("fd"), o["fd"]))
        if o["reachable"] != m.get("reachable"):
            problems.append("reachable %r != %r" % (m.get("reachable"), o["reachable"]))
        if o["kind"] in ("FileIO", "file"):
            if isinstance(o.get("name"), str) and o["name"] != m.get("name"):
                problems.append("name %r != %r" % (m.get("name"), o["name"]))
            if not m.get("wrappers") and o.get("mode") != m.get("mode"):
                problems.append("mode %r != %r" % (m.get("mode"), o.get("mode")))
        if problems:
            reasons.append("file %s: %s" % (a, "; ".join(problems)))

    # f. the collector's state as the interpreter reported it
    interps = (report.get("gc") or {}).get("interpreters") or [{}]
    mine_gc = interps[0]
    ogc = oracle.get("gc") or {}
    pairs = [("thresholds", "threshold"), ("counts", "count"), ("enabled", "enabled"),
             ("debug", "debug"), ("garbage", "garbage_len")]
    if ogc.get("freeze_count") is not None:
        pairs.append(("frozen", "freeze_count"))
    if stripped:
        # The statics of gcmodule.c: unknown, said once, never guessed.
        pairs = pairs[:2] + pairs[5:]
        for mk in ("enabled", "debug", "garbage", "collecting", "callbacks"):
            if mine_gc.get(mk, 0) is not None:
                reasons.append("gc.%s is %r in a stripped interpreter, expected null" % (
                    mk, mine_gc.get(mk)))
        why = [w for w in report.get("warnings") or [] if "cannot be found" in w]
        if len(why) != 1:
            reasons.append("%d warnings about the collector's statics, expected 1" % len(why))
        module = (report.get("target") or {}).get("python_module")
        if module != stripped:
            reasons.append("python_module %r, expected the stripped %r" % (module, stripped))
    for mk, ok in pairs:
        mv, ov = mine_gc.get(mk), ogc.get(ok)
        if mk == "counts" and isinstance(ov, list) and ov:
            ov = [ov[0] - ogc.get("count_child_frames", 0)] + ov[1:]
        if isinstance(ov, bool):
            mv = bool(mv)
        if mv != ov:
            reasons.append("gc.%s is %r, the interpreter said %r" % (mk, mv, ov))

    # c. exit status
    expect = 1 if want or leaked else 0
    if rc != expect:
        reasons.append("exit status %d, expected %d" % (rc, expect))
        if stderr.strip():
            details.append("    stderr: %s" % stderr.strip().splitlines()[-1][:300])

    # d. version
    tv = (report.get("target") or {}).get("python_version")
    if tv is not None and tv != oracle.get("python"):
        reasons.append("python_version %r, expected %r" % (tv, oracle.get("python")))

    # g. every native traversal against the type's own, run in the emulator
    check = report.get("traversal_check") or {}
    if check.get("ran") and check.get("differ"):
        reasons.append("--check-traversals: %d objects' native referents differ from "
                       "their type's tp_traverse" % check["differ"])
        for t in (check.get("types") or [])[:MAX_EXAMPLES * 2]:
            details.append("    %s (traversal %s) x%d, e.g. %s: extra %s, missing %s" % (
                t.get("type"), t.get("kind"), t.get("objects", 0), t.get("example"),
                t.get("extra"), t.get("missing")))
    if check.get("ran") and not check.get("compared"):
        reasons.append("--check-traversals compared no objects")

    return reasons, details, referents_note, report


def same_for_any_threads(pcc, pcc_args, core, report):
    """The passes over the heap run on threads: the report may not depend on
    how many.  The main run had three (more than the CPUs, so that they
    also hand work to each other); one must give the same report, but for
    --check-traversals' own section."""
    rc, out, err = run_cmd([pcc, "--json", "--threads", "1"] + pcc_args + [core], PCC_TIMEOUT)
    if rc not in (0, 1):
        return ["pycorecheck --threads 1 exit %s: %s" % (
            rc, (err or b"").decode("utf-8", "replace").strip()[:300])]
    try:
        one = json.loads((out or b"").decode("utf-8"))
    except ValueError as e:
        return ["pycorecheck --threads 1 printed no valid JSON: %s" % e]
    three = dict(report)
    three.pop("traversal_check", None)
    if one != three:
        keys = sorted(k for k in set(one) | set(three) if one.get(k) != three.get(k))
        return ["the report with --threads 1 differs from the one with --threads 3 (%s)"
                % ", ".join(keys)]
    return []


def case_modes(py, opts):
    """The modes of opts.modes that apply to py.  A stripped copy is read
    from its core only (with --pcc-arg=--no-dwarf); an interpreter without
    DWARF has no no-dwarf mode: its core mode is one."""
    if py.stripped:
        return ["core"]
    out = []
    for m in opts.modes:
        if m == "no-dwarf":
            if not py.dwarf or "--no-dwarf" in opts.pcc_args:
                continue
            if py.version is not None and not any(
                    lo <= py.version[:2] < hi for lo, hi in NODWARF_SUPPORTED):
                continue
        out.append(m)
    return out


def case_name(py, fixture, mode):
    return "%s %s%s" % (py.label, fixture, "" if mode == "core" else " " + mode)


class Analysis(object):
    """One pycorecheck run on a stopped fixture: its report, or the
    result that says why there is none."""

    def __init__(self, refs):
        self.refs = refs        # its --dump-referents file
        self.report = None
        self.rc = None
        self.stderr = ""
        self.took = 0.0
        self.failure = None     # a Result when there is no report


def analyse(pcc, args, tmp, tag):
    """pycorecheck --json --check-traversals --dump-referents REFS ARGS,
    where ARGS end with the target; its output is kept in tmp as TAG.*."""
    a = Analysis(os.path.join(tmp, tag + ".refs.jsonl"))
    t0 = time.time()
    rc, out, err = run_cmd([pcc, "--json", "--check-traversals", "--dump-referents", a.refs]
                           + args, PCC_TIMEOUT)
    a.took = time.time() - t0
    a.rc = rc
    a.stderr = (err or b"").decode("utf-8", "replace")
    with open(os.path.join(tmp, tag + ".json"), "wb") as fh:
        fh.write(out or b"")
    with open(os.path.join(tmp, tag + ".stderr"), "w") as fh:
        fh.write(a.stderr)
    if rc is None:
        a.failure = Result("FAIL", "pycorecheck timed out after %ds" % PCC_TIMEOUT)
    elif rc < 0:
        a.failure = Result("FAIL", "pycorecheck killed by signal %d" % -rc, a.stderr[-2000:])
    elif rc == 3:
        a.failure = Result("FAIL", "pycorecheck could not analyse (exit 3): %s"
                           % a.stderr.strip()[:300])
    elif rc not in (0, 1):
        a.failure = Result("FAIL", "pycorecheck exit %d: %s" % (rc, a.stderr.strip()[:300]))
    else:
        try:
            a.report = json.loads((out or b"").decode("utf-8"))
        except ValueError as e:
            a.failure = Result("FAIL", "pycorecheck printed no valid JSON: %s" % e)
    return a


def judge(py, fixture, oracle, a, referents_cache, own_reasons, note, verbose):
    """The result of one analysis: compare's checks against the oracle,
    and the reasons its mode found itself (own_reasons)."""
    if a.failure is not None:
        return Result(a.failure.status, "; ".join([a.failure.reason] + own_reasons),
                      a.failure.details)
    emulation = (a.report.get("heap") or {}).get("emulation") or {}
    if fixture in NEEDS_EMULATOR and not emulation.get("built"):
        return Result("SKIP", "pycorecheck was built without the CPU emulator "
                      "(libunicorn-dev), which this fixture's C types need")
    reasons, details, notes, report = compare(oracle, a.report, a.refs, a.rc, a.stderr,
                                              py.lib if py.stripped else None, referents_cache)
    reasons += own_reasons
    extra = []
    if report.get("complete") is False:
        extra.append("    incomplete analysis; warnings: %s" % "; ".join(
            (report.get("warnings") or [])[:5]))
    extra.append(notes + ", %.1fs" % a.took + note)
    extra.append(oracle_note(oracle))
    if reasons:
        return Result("FAIL", "; ".join(reasons), "\n".join(details + extra))
    return Result("PASS", "", "\n".join(extra) if verbose else "")


# An edge into a C type's field is named by DWARF; without it, by offset.
OFFSET_EDGE = re.compile(r"^\+0x[0-9a-f]+$")


def report_differences(mine, core, mode, path="", out=None):
    """Where two reports of one stopped process differ (paths, at most a
    few), but for the fields that say how it was read (HOW_READ) and, read
    without DWARF, the edges it can only name by offset."""
    if out is None:
        out = []
    if len(out) >= MAX_EXAMPLES:
        return out
    if isinstance(mine, dict) and isinstance(core, dict):
        for k in sorted(set(mine) | set(core)):
            if path == ".target" and k in HOW_READ:
                continue
            if k == "edge" and mode == "no-dwarf" and isinstance(mine.get(k), str) \
                    and OFFSET_EDGE.match(mine[k]):
                continue
            if k not in mine or k not in core:
                out.append("%s.%s only in the %s report" % (path, k, mode if k in mine else "core"))
            else:
                report_differences(mine[k], core[k], mode, "%s.%s" % (path, k), out)
    elif isinstance(mine, list) and isinstance(core, list) and len(mine) == len(core):
        for i, (x, y) in enumerate(zip(mine, core)):
            report_differences(x, y, mode, "%s[%d]" % (path, i), out)
    elif mine != core:
        out.append("%s: %s, the core's %s" % (path or "report", json.dumps(mine)[:80],
                                             json.dumps(core)[:80]))
    return out


def same_report(report, core_report, mode):
    """Read live or without DWARF, the stopped process must give the report
    its core gives (report_differences)."""
    where = report_differences(report, core_report, mode)
    if not where:
        return []
    return ["the %s report differs from the core's: %s" % (mode, "; ".join(where))]


def live_fields(report, pid):
    tgt = report.get("target") or {}
    if tgt.get("live") is not True or tgt.get("pid") != pid \
            or not isinstance(tgt.get("pause_seconds"), (int, float)):
        return ["target.live/pid/pause_seconds wrong: %r" % (
            dict((k, tgt.get(k)) for k in ("live", "pid", "pause_seconds")),)]
    return []


def take_core(p, tmp):
    """gcore of the stopped parent: (path, None) or (None, failing Result).
    gcore leaves a stopped process stopped, untraced."""
    corebase = os.path.join(tmp, "core")
    rc, gout, gerr = run_cmd(["gcore", "-o", corebase, str(p.pid)], GCORE_TIMEOUT)
    with open(os.path.join(tmp, "gcore.log"), "wb") as fh:
        fh.write(gout or b"")
        fh.write(gerr or b"")
    core = "%s.%d" % (corebase, p.pid)
    if not os.path.exists(core):
        return None, Result("FAIL", "gcore made no core (status %s)" % rc,
                            tail(os.path.join(tmp, "gcore.log")))
    return core, None


def resume(p):
    """h. SIGCONT: the target runs to a clean exit.  [] or what is wrong."""
    os.kill(p.pid, signal.SIGCONT)
    try:
        status = p.wait(timeout=EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        status = None
    if status == 0:
        return []
    return ["after SIGCONT the target %s" % (
        "did not exit within %ds" % EXIT_TIMEOUT if status is None
        else "exited with status %d" % status)]


def run_case(py, fixture, fpath, pcc, opts):
    """Runs the fixture once and reads its stopped parent in each of its
    modes (case_modes), in the order of MODES: live first, while nothing
    else has touched it, then its core with DWARF, then without.
    Returns [(case name, Result)]."""
    modes = case_modes(py, opts)
    names = dict((m, case_name(py, fixture, m)) for m in modes)
    tmp = tempfile.mkdtemp(prefix="pcc-oracle-%s-" % fixture, dir=opts.keep)
    keep = bool(opts.keep)
    p = None
    try:
        out = os.path.join(tmp, "oracle.json")
        log = os.path.join(tmp, "fixture.log")
        with open(log, "wb") as logf:
            env = dict(os.environ, TMPDIR=tmp)  # fixtures' own files go with the case
            p = spawn([py.path, "-E", "-S", "-B", fpath, out], stdout=logf, stderr=subprocess.STDOUT,
                      stdin=subprocess.DEVNULL, cwd=tmp, env=env)
        why = wait_for_oracle(p, out, time.time() + FIXTURE_TIMEOUT)
        if why is not None:
            return [(names[m], wait_verdict(py, fixture, names[m], why, log)) for m in modes]
        with open(out) as fh:
            oracle = json.load(fh)
        verdicts = [(names[m], oracle_verdict(py, fixture, names[m], oracle)) for m in modes]
        if any(v is not None for _, v in verdicts):
            return verdicts
        if oracle.get("threading_imported"):
            say("NOTE: %s %s: threading was imported (the oracle made its at-fork hook a no-op)"
                % (py.label, fixture))

        if opts.oracle_only:
            return [(case_name(py, fixture, "core"), Result(
                "PASS", "oracle: %d tracked, %d unreachable, %d files" % (
                    oracle.get("tracked", 0), len(oracle["unreachable"]),
                    len(oracle.get("files", []))),
                oracle_note(oracle) if opts.verbose else ""))]

        results = {}
        analyses = {}
        own = dict((m, []) for m in modes)
        if "live" in modes:
            if opts.live_skip:
                results["live"] = Result("SKIP", opts.live_skip)
            else:
                analyses["live"] = analyse(pcc, opts.pcc_args + ["--pid", str(p.pid)], tmp, "live")
                # g. still stopped, nobody tracing it.
                why = target_state.settle(p.pid, True, timeout=1.0)
                if why is not None:
                    own["live"].append("the target is not stopped, or still traced, after "
                                       "pycorecheck (%s)" % why)
        from_core = [m for m in modes if m in ("core", "no-dwarf")]
        core = None
        if from_core and opts.core_skip:
            for m in from_core:
                results[m] = Result("SKIP", opts.core_skip)
        elif from_core:
            core, failure = take_core(p, tmp)
            for m in from_core:
                if failure is not None:
                    results[m] = failure
                else:
                    extra = ["--no-dwarf"] if m == "no-dwarf" else []
                    analyses[m] = analyse(pcc, ["--threads", "3"] + opts.pcc_args + extra + [core],
                                          tmp, m)
        if "live" in analyses:
            own["live"] += resume(p)
        else:
            reap(p)

        referents_cache = {}
        core_report = analyses["core"].report if "core" in analyses else None
        for m in modes:
            if m in results:
                continue
            a = analyses[m]
            note = ""
            if a.report is not None:
                if m == "core":
                    own[m] += same_for_any_threads(pcc, opts.pcc_args, core, a.report)
                elif core_report is not None:
                    own[m] += same_report(a.report, core_report, m)
                if m == "live":
                    own[m] += live_fields(a.report, p.pid)
                    note = ", stopped %.1f ms" % (
                        1e3 * ((a.report.get("target") or {}).get("pause_seconds") or 0))
            results[m] = judge(py, fixture, oracle, a, referents_cache, own[m], note,
                               opts.verbose)
        return [(names[m], results[m]) for m in modes]
    except Exception as e:  # a harness bug must not leave processes behind
        import traceback
        return [(names[m], Result("FAIL", "harness error: %s" % e, traceback.format_exc()))
                for m in modes]
    finally:
        if p is not None:
            reap(p)
        if keep:
            say("    kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", action="append", metavar="PATH", help="interpreter (repeatable)")
    ap.add_argument("--fixture", action="append", metavar="NAME", help="fixture name (repeatable)")
    ap.add_argument("--modes", default=",".join(MODES), metavar="LIST",
                    help="how each stopped fixture is read, of %s (default: all)" % ",".join(MODES))
    ap.add_argument("--pcc-arg", dest="pcc_args", action="append", default=[],
                    metavar="ARG", help="extra pycorecheck argument (repeatable), e.g. --no-dwarf")
    ap.add_argument("--keep", metavar="DIR", help="keep every case's files (cores too) under DIR")
    ap.add_argument("-j", type=int, default=2, metavar="N", help="cases in parallel (default 2)")
    ap.add_argument("-v", "--verbose", action="store_true", help="details for passing cases too")
    ap.add_argument("--stripped-only", action="store_true",
                    help="instead of each 2.7 and 3.6 interpreter, a copy whose libpython has no "
                    "symbol table (strip --strip-all), from its core only; use with "
                    "--pcc-arg=--no-dwarf")
    ap.add_argument("--oracle-only", action="store_true",
                    help="only check that the fixtures produce a sane oracle (no gcore, no pycorecheck)")
    opts = ap.parse_args(argv)
    opts.modes = [m for m in opts.modes.split(",") if m]
    unknown = [m for m in opts.modes if m not in MODES]
    if unknown or not opts.modes:
        ap.error("--modes: %s (have: %s)" % (", ".join(unknown) or "none", ",".join(MODES)))
    opts.modes = [m for m in MODES if m in opts.modes]
    if opts.keep:
        opts.keep = os.path.abspath(opts.keep)
        if not os.path.isdir(opts.keep):
            os.makedirs(opts.keep)

    def on_term(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    fixtures = discover_fixtures(opts.fixture)
    pys = discover(opts.python)
    global_skip = None
    opts.core_skip = opts.live_skip = None
    pcc = find_pycorecheck()
    if not opts.oracle_only:
        if not os.access(pcc, os.X_OK):
            global_skip = "pycorecheck not built: %s" % pcc
        else:
            for tool in ("gdb", "gcore"):
                if not shutil.which(tool):
                    opts.core_skip = "%s not found (install gdb)" % tool
            if "live" in opts.modes:
                opts.live_skip = target_state.ptrace_skip_reason(pcc)
    say("pycorecheck: %s (%s)" % (pcc, ", ".join(opts.modes)))
    cases = []
    passed = failed = skipped = 0
    for py in pys:
        if py.skip is None and global_skip is None:
            probe(py, opts.pcc_args)
        if opts.stripped_only:
            if py.version is None or not any(lo <= py.version[:2] < hi for lo, hi in STATIC_GC):
                continue
            py = stripped_copy(py)
            if py.skip is None:
                probe(py, opts.pcc_args)
        say("python %s: %s%s" % (py.label, py.path, "" if py.version is None else
                                 " (%s)" % ".".join(map(str, py.version))))
        for name, path in fixtures:
            reason = global_skip or py.skip
            if reason:
                for m in case_modes(py, opts):
                    say("SKIP: %s (%s)" % (case_name(py, name, m), reason))
                    skipped += 1
            else:
                cases.append((py, name, path))
    if opts.stripped_only and not cases and not skipped:
        say("SKIP: stripped (no 2.7 or 3.6 interpreter with a shared libpython to strip)")
        skipped += 1

    ex = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.j))
    futs = [ex.submit(run_case, py, name, path, pcc, opts) for py, name, path in cases]
    try:
        for fut in concurrent.futures.as_completed(futs):
            for name, res in fut.result():
                line = "%s: %s" % (res.status, name)
                if res.reason:
                    line += " (%s)" % res.reason
                if res.details:
                    line += "\n" + res.details
                say(line)
                if res.status == "PASS":
                    passed += 1
                elif res.status == "FAIL":
                    failed += 1
                else:
                    skipped += 1
    except BaseException:
        _stopping.set()
        for f in futs:
            f.cancel()
        reap_all()
        ex.shutdown(wait=True)
        raise
    finally:
        reap_all()
    ex.shutdown(wait=True)
    for line in limitations_summary():
        say(line)
    say("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    if failed:
        return 1
    if passed == 0:
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
