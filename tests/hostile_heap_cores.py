#!/usr/bin/env python3
"""Hostile heaps: cores of a real Python process, patched where the object
model trusts the target's words (issue 9, "Crashes, hangs and blow-ups").
Not named hostile_heap.py: automake would take it for the source of
hostile_heap.log.

    python3 tests/hostile_heap_cores.py run  # the test (tests/hostile_heap.test)
    PYTHON hostile_heap_cores.py program OUT.json  # the fixture, run by the test

The fixture builds a tuple subclass instance with a __dict__, deques, an
OrderedDict, garbage cycles of a class whose name gets invalid UTF-8 bytes,
and a class with a non-ASCII name; it writes the addresses of these objects
to OUT.json and stops itself.  The test takes a core with gcore, then for
each case patches a copy of it (addresses mapped to file offsets through the
core's PT_LOAD headers) and runs pycorecheck on it.

Every run must exit 0, 1 or 3 within the time limit, with no sanitizer
report; each case also checks what its fix promises (the object is marked
partial, the loop is reported, memory stays that of the unpatched core, the
report is valid UTF-8).

Environment: PYCORECHECK (the binary), PCC_HOSTILE_PYTHONS (colon-separated
interpreters; default: the pyenv 2.7, 3.9, 3.11 and 3.13 that exist, and
Debian's /usr/bin/python3.11 with its -dbg DWARF), PCC_TIMEOUT (seconds per
run, default 60).  Exit: 0 pass, 1 fail, 77 everything skipped.
"""
import glob
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

BAD_NAME = "PccBadName"
BAD_BYTES = b"Pcc\xff\xfe"  # written over the first 5 bytes of tp_name
MAX_ITEMS = (1 << 28) - 1   # traverse.c's container bound, minus one
BIG_BYTES = 48 << 20
N_CLAIMERS = 300


def program(out):
    """The fixture (Python 2.7 and 3.x)."""
    import collections
    import gc

    gc.disable()

    class Tup(tuple):
        pass

    t = Tup((1, 2, 3))
    t.attr = [t]  # the __dict__ holds a list that points back

    deques = [collections.deque(range(200)) for _ in range(4)]
    info = {
        "version": list(sys.version_info[:2]),
        "tuple_sub": id(t),
        "tuple_sub_type": id(Tup),
        "deques": [id(d) for d in deques],
    }
    keep = [t, Tup, deques]
    if sys.version_info >= (3, 6):
        od = collections.OrderedDict((str(i), [i]) for i in range(10))
        keep.append(od)
        info["odict"] = id(od)

    bad = type(BAD_NAME, (object,), {})
    cafe = type("Caf\xc3\xa9" if sys.version_info < (3,) else "Caf\u00e9",
                (object,), {})
    for cls in (bad, cafe):
        for _ in range(3):
            o = cls()
            o.self = o  # a garbage cycle: its type name is in the report
        del o
    info["bad_type"] = id(bad)
    keep += [bad, cafe]
    # A big zeroed buffer, and lists that will claim it all as their items.
    import ctypes
    big = bytearray(BIG_BYTES)
    info["big"] = ctypes.addressof((ctypes.c_char * BIG_BYTES).from_buffer(big))
    claimers = [[] for _ in range(N_CLAIMERS)]
    info["claimers"] = [id(x) for x in claimers]
    keep += [big, claimers]
    # Garbage cycles through a C type pycorecheck has no traversal for:
    # its objects go through the CPU emulator.
    import itertools
    for _ in range(3):
        items = []
        items.append(itertools.chain(items))
    del items
    info["chain_type"] = id(itertools.chain)
    # Enough tracked objects for a repeated walk of the lists to show.
    keep.append([[i] for i in range(20000)])

    # 3.11+ keep a __dict__ they manage themselves (3.13+ for tuple
    # subclasses too): then no dict offset is computed from ob_size.
    if sys.version_info < (3, 11) or not Tup.__flags__ & (1 << 4):
        info["dictoffset"] = True

    if sys.version_info >= (3, 9):
        import ctypes
        get = ctypes.pythonapi.PyInterpreterState_Get
        get.restype = ctypes.c_void_p
        info["interp"] = get()
        # interp->next: the first member before 3.13; from 3.13 on,
        # _Py_DebugOffsets (at the start of _PyRuntime) says where it is:
        # cookie, version, free_threaded, runtime_state {size, finalizing,
        # interpreters_head}, interpreter_state {size, id, next, ...}.
        info["interp_next_off"] = 0
        if sys.version_info >= (3, 13):
            rt = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi,
                                                       "_PyRuntime"))
            if ctypes.string_at(rt, 8) != b"xdebugpy":
                del info["interp"]
            else:
                info["interp_next_off"] = ctypes.c_uint64.from_address(
                    rt + 64).value

    with open(out + ".tmp", "w") as f:
        json.dump(info, f)
    os.rename(out + ".tmp", out)
    os.kill(os.getpid(), signal.SIGSTOP)
    time.sleep(3600)


class Core:
    """A core file's bytes, addressed by the target's virtual addresses."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = bytearray(f.read())
        d = self.data
        if d[:4] != b"\x7fELF" or d[4] != 2:
            raise ValueError("not an ELF64 core")
        phoff, = struct.unpack_from("<Q", d, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", d, 0x36)
        self.loads = []
        for i in range(phnum):
            p = phoff + i * phentsize
            ptype, _, off, vaddr, _, filesz = struct.unpack_from("<IIQQQQ", d, p)
            if ptype == 1 and filesz:
                self.loads.append((vaddr, vaddr + filesz, off))

    def offset(self, addr, n=8):
        for start, end, off in self.loads:
            if start <= addr and addr + n <= end:
                return off + addr - start
        raise KeyError("0x%x is not in the core" % addr)

    def read(self, addr):
        return struct.unpack_from("<Q", self.data, self.offset(addr))[0]

    def write(self, addr, value):
        struct.pack_into("<Q", self.data, self.offset(addr), value & (2**64 - 1))

    def write_bytes(self, addr, b):
        o = self.offset(addr, len(b))
        self.data[o:o + len(b)] = b

    def save(self, path):
        with open(path, "wb") as f:
            f.write(self.data)


# ---- the cases: each patches a core and says what the run must show ----

def deque_offsets(v):
    # dequeobject and BLOCK: 2.7 has no ob_size and data before the links.
    if v[0] == 2:
        return {"left": 16, "len": 48, "rightlink": 62 * 8}
    return {"left": 24, "len": 16, "rightlink": 8 + 64 * 8}


def patch_size(value):
    def patch(core, info):
        core.write(info["tuple_sub"] + 16, value)
    return patch


def patch_type_sizes(core, info):
    tp = info["tuple_sub_type"]
    core.write(tp + 32, 1 << 62)   # tp_basicsize
    core.write(tp + 40, 1 << 62)   # tp_itemsize


def patch_deque_loop(core, info):
    off = deque_offsets(info["version"])
    for d in info["deques"]:
        left = core.read(d + off["left"])
        core.write(left + off["rightlink"], left)
        core.write(d + off["len"], MAX_ITEMS)


def patch_odict(used, two_nodes):
    def patch(core, info):
        od = info["odict"]
        first = core.read(od + 48)       # od_first
        target = first
        if two_nodes:
            second = core.read(first + 16)
            core.write(second + 16, first)
            target = second
        else:
            core.write(first + 16, first)  # node->next = node
        if used is not None:
            core.write(od + 16, used)      # ma_used
        return target
    return patch


def patch_interp_loop(core, info):
    interp = info["interp"]
    core.write(interp + info["interp_next_off"], interp)  # interp->next = interp


def patch_interp_overlap(core, info):
    # interp->next = an "interpreter" one gc_generation (24 bytes on
    # 3.9-3.13) further on: its generation 0 is the real one's generation 1.
    interp = info["interp"]
    core.write(interp + info["interp_next_off"], interp + 24)


def patch_claimers(core, info):
    # Every list says its items are the whole buffer: each one is mapped,
    # together they are N_CLAIMERS times the buffer.
    for lst in info["claimers"]:
        core.write(lst + 16, BIG_BYTES // 8)  # ob_size
        core.write(lst + 24, info["big"])     # ob_item


def patch_bad_name(core, info):
    name = core.read(info["bad_type"] + 24)  # tp_name
    core.write_bytes(name, BAD_BYTES)


TP_TRAVERSE = 184  # offset in PyTypeObject, 2.7 to 3.14


def patch_traverse(code):
    """itertools.chain's tp_traverse points at garbage (code None) or at
    these instructions, written into the zeroed buffer."""
    def patch(core, info):
        at = 0xdeadbeef000
        if code is not None:
            at = info["big"] + 4096
            core.write_bytes(at, code)
        core.write(info["chain_type"] + TP_TRAVERSE, at)
    return patch


CASES = [
    # name, patch, needs, check
    ("dict-offset-size-min", patch_size(-(1 << 63)), None, "partial"),
    ("dict-offset-size-huge", patch_size(1 << 62), None, "partial"),
    ("dict-offset-type-sizes", patch_type_sizes, "dictoffset", "partial"),
    ("deque-block-loop", patch_deque_loop, None, "partial"),
    ("odict-loop-huge-used", patch_odict(1 << 40, False), "odict", "partial"),
    ("odict-self-loop", patch_odict(None, False), "odict", "partial"),
    ("odict-two-node-loop", patch_odict(None, True), "odict", "partial"),
    ("interp-next-loop", patch_interp_loop, "interp", "interp"),
    ("interp-next-overlap", patch_interp_overlap, "interp", "interp-overlap"),
    ("lists-share-items", patch_claimers, None, "budget"),
    ("utf8-type-name", patch_bad_name, None, "utf8"),
    # Emulated traversals that cannot be run: each object falls back.
    ("emulated-traverse-garbage", patch_traverse(None), None,
     "emulated:jumps to memory the core does not hold"),
    ("emulated-traverse-loop", patch_traverse(b"\xeb\xfe"), None,
     "emulated:runs longer than any traversal should (a loop?)"),
    ("emulated-traverse-syscall",
     patch_traverse(b"\xb8\x27\x00\x00\x00\x0f\x05\xc3"), None,
     "emulated:makes a system call"),
]


# Why a case that needs a part of the fixture cannot run.
NO = {
    "odict": "OrderedDict is written in Python before 3.6",
    "interp": "PyInterpreterState_Get and a known interp->next need 3.9+",
    "dictoffset": "the tuple subclass keeps a managed __dict__ here",
}


# ---- running pycorecheck ----

def run_pcc(pcc, args, tmp, timeout):
    """rc (None on a time-out), stdout bytes, stderr text, peak RSS (KiB),
    seconds."""
    t0 = time.time()
    out_path, err_path = os.path.join(tmp, "out"), os.path.join(tmp, "err")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = subprocess.Popen([pcc] + args, stdout=out, stderr=err,
                             stdin=subprocess.DEVNULL)
    deadline = time.time() + timeout
    rc = None
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            rc = os.waitstatus_to_exitcode(status)
            break
        if time.time() > deadline:
            p.kill()
            pid, status, usage = os.wait4(p.pid, 0)
            break
        time.sleep(0.05)
    p.returncode = rc if rc is not None else -9
    with open(out_path, "rb") as f:
        out = f.read()
    with open(err_path, "rb") as f:
        err = f.read().decode("utf-8", "replace")
    return rc, out, err, usage.ru_maxrss, time.time() - t0


SANITIZER = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
             "UndefinedBehaviorSanitizer")


def trouble(rc, err, timeout):
    """Why a run is not acceptable on bad input, or None."""
    if rc is None:
        return "hung: killed after %ds" % timeout
    for s in SANITIZER:
        if s in err:
            line = [x for x in err.splitlines() if s in x][0]
            return "sanitizer report: " + line[:200]
    if rc not in (0, 1, 3):
        return "exit status %d: %s" % (rc, err.strip()[:200])
    return None


def report_json(out):
    """The JSON report, decoded as strict UTF-8 (raises on invalid)."""
    return json.loads(out.decode("utf-8"))


def interpreters():
    env = os.environ.get("PCC_HOSTILE_PYTHONS")
    if env:
        return [p for p in env.split(":") if p]
    root = os.environ.get("PYENV_ROOT", "/root/.pyenv")
    found = []
    for v in ("2.7", "3.9", "3.11", "3.13"):
        for d in sorted(glob.glob(os.path.join(root, "versions", v + ".*"))):
            exe = os.path.join(d, "bin", "python" + v)
            if os.access(exe, os.X_OK):
                found.append(exe)
                break
    if os.access("/usr/bin/python3.11", os.X_OK) and os.path.isdir(
            "/usr/lib/debug/.build-id"):
        found.append("/usr/bin/python3.11")
    return found


def make_core(python, tmp):
    """A core of the fixture under python and its addresses, or (None, why)."""
    info_path = os.path.join(tmp, "info.json")
    p = subprocess.Popen([python, "-E", "-S", "-B", os.path.abspath(__file__),
                          "program", info_path], cwd=tmp,
                         stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(tmp, "fixture.log"), "wb"))
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if p.poll() is not None:
                with open(os.path.join(tmp, "fixture.log")) as f:
                    return None, "the fixture exited: " + f.read()[-300:]
            try:
                with open("/proc/%d/stat" % p.pid) as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                state = ""
            if state == "T" and os.path.exists(info_path):
                break
            time.sleep(0.1)
        else:
            return None, "the fixture did not stop"
        base = os.path.join(tmp, "gcore")
        subprocess.run(["gcore", "-o", base, str(p.pid)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        core = "%s.%d" % (base, p.pid)
        if not os.path.exists(core):
            return None, "gcore failed"
        with open(info_path) as f:
            return (core, json.load(f)), None
    finally:
        p.kill()
        p.wait()


def run_tests():
    pcc = os.environ.get("PYCORECHECK", "./pycorecheck")
    timeout = int(os.environ.get("PCC_TIMEOUT", "60"))
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}

    def say(what, name, why=""):
        counts[what] += 1
        print("%s: hostile-heap %s%s" % (what, name, " (%s)" % why if why else ""))
        sys.stdout.flush()

    if not os.access(pcc, os.X_OK):
        print("SKIP: hostile-heap all (pycorecheck not built: %s)" % pcc)
        return 77
    if not shutil.which("gcore"):
        print("SKIP: hostile-heap all (no gcore)")
        return 77
    pythons = interpreters()
    if not pythons:
        print("SKIP: hostile-heap all (no interpreter found)")
        return 77
    for python in pythons:
        tmp = tempfile.mkdtemp(prefix="pcc-hostile.")
        try:
            made, why = make_core(python, tmp)
            if not made:
                say("SKIP", python, why)
                continue
            core_path, info = made
            tag = "%s %d.%d" % (os.path.basename(python), info["version"][0],
                                 info["version"][1])
            rc, out, err, _, base_secs = run_pcc(
                pcc, ["--json", "--stats", core_path], tmp, timeout)
            base_anon = anon_mib(err)
            bad = trouble(rc, err, timeout)
            if bad or rc == 3:
                say("FAIL", tag + " unpatched", bad or err.strip()[:200])
                continue
            base = report_json(out)
            say("PASS", tag + " unpatched")
            original = Core(core_path)
            for name, patch, needs, check in CASES:
                if needs and needs not in info:
                    say("SKIP", "%s %s" % (tag, name), NO[needs])
                    continue
                core = Core.__new__(Core)
                core.data = bytearray(original.data)
                core.loads = original.loads
                try:
                    patch(core, info)
                except KeyError as e:
                    say("FAIL", "%s %s" % (tag, name), "cannot patch: %s" % e)
                    continue
                patched = os.path.join(tmp, "patched.core")
                core.save(patched)
                why = check_case(pcc, patched, tmp, timeout, check, base,
                                 base_anon, base_secs)
                say("FAIL" if why else "PASS", "%s %s" % (tag, name), why)
                os.unlink(patched)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed, %d skipped"
          % (counts["PASS"], counts["FAIL"], counts["SKIP"]))
    if counts["FAIL"]:
        return 1
    return 0 if counts["PASS"] else 77


def anon_mib(err):
    """pycorecheck's own memory as --stats reports it (the mmapped core,
    which a peak RSS would count, left out); None if absent."""
    for line in err.splitlines():
        m = re.search(r"anonymous memory ([0-9.]+) MiB", line)
        if m:
            return float(m.group(1))
    return None


def check_case(pcc, core, tmp, timeout, check, base, base_anon, base_secs):
    """Why the case fails, or None."""
    rc, out, err, _, secs = run_pcc(pcc, ["--json", "--stats", core], tmp,
                                    timeout)
    bad = trouble(rc, err, timeout)
    if bad:
        return bad
    # Damage inside a few objects costs about what the objects cost.
    if secs > base_secs * 3 + 5:
        return "took %.1f s, %.1f s unpatched" % (secs, base_secs)
    if rc == 3:
        return "refused a core whose damage is inside one object: " + err.strip()[:200]
    try:
        rep = report_json(out)
    except ValueError as e:
        return "the JSON report is not valid UTF-8 JSON: %s" % e
    if check == "partial":
        if rep["heap"]["partial_objects"] <= base["heap"]["partial_objects"]:
            return ("the damaged object is not marked partial (%d partial "
                    "objects, %d unpatched)"
                    % (rep["heap"]["partial_objects"],
                       base["heap"]["partial_objects"]))
    if check == "interp":
        anon = anon_mib(err)
        if anon is None or base_anon is None:
            return "--stats reported no memory"
        if anon > base_anon * 1.5 + 8:
            return "own memory %.1f MiB, %.1f MiB unpatched" % (anon, base_anon)
        if not any("loops back" in w for w in rep["warnings"]):
            return "no warning about the looping interpreter list"
        if rep["unreachable"]["count"] != base["unreachable"]["count"]:
            return "unreachable %d, %d unpatched" % (
                rep["unreachable"]["count"], base["unreachable"]["count"])
    if check == "budget":
        if not any("claim many times more" in w for w in rep["warnings"]):
            return "no warning about the containers' claimed sizes"
        if rep["heap"]["partial_objects"] <= base["heap"]["partial_objects"]:
            return "no container left partial"
    if check == "interp-overlap":
        if not any("shares the collector's lists" in w for w in rep["warnings"]):
            return "no warning about the overlapping interpreter"
        if len(rep["gc"]["interpreters"]) != len(base["gc"]["interpreters"]):
            return "%d interpreters, %d unpatched" % (
                len(rep["gc"]["interpreters"]), len(base["gc"]["interpreters"]))
    if check.startswith("emulated:"):
        emu = rep["heap"]["emulation"]
        if not emu["built"]:
            return None
        why = check.split(":", 1)[1]
        falls = [f for f in emu["fallbacks"] if f["type"] == "itertools.chain"]
        if not falls or falls[0]["reason"] != why:
            return "itertools.chain did not fall back with %r: %r" % (why, falls)
        if not any(t["type"] == "itertools.chain" for t in rep["heap"]["unknown_types"]):
            return "the chain objects are not counted as unknown"
        if rep["unreachable"]["count"] >= base["unreachable"]["count"]:
            return "unreachable %d, %d unpatched: the chains' garbage is still found" % (
                rep["unreachable"]["count"], base["unreachable"]["count"])
    if check == "utf8":
        types = [o["type"] for o in rep["unreachable"]["objects"]]
        want = "Pcc\ufffd\ufffd" + BAD_NAME[5:]
        if want not in types or "Caf\u00e9" not in types:
            return "unreachable types lack %r or 'Caf\u00e9': %s" % (
                want, sorted(set(types))[:10])
        rc, out, err, _, _ = run_pcc(pcc, [core], tmp, timeout)
        bad = trouble(rc, err, timeout)
        if bad:
            return "text: " + bad
        try:
            text = out.decode("utf-8")
        except UnicodeDecodeError as e:
            return "the text report is not valid UTF-8: %s" % e
        if "Pcc\\xff\\xfe" + BAD_NAME[5:] not in text or "Caf\u00e9" not in text:
            return "the text report does not show the names escaped / as is"
    return None


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "program":
        program(sys.argv[2])
    elif len(sys.argv) == 2 and sys.argv[1] == "run":
        sys.exit(run_tests())
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
