#!/usr/bin/env python3
"""Oracle test, live: pycorecheck --pid against CPython's own answer.

The oracle harness (tests/oracle/run_oracle.py) in live mode: for every
interpreter x fixture, run the fixture and wait for its oracle and for the
parent to stop itself, exactly as there; then, instead of taking a core,
    pycorecheck --json --dump-referents REFS --pid PARENT
on the stopped parent, and check
  a-f. the same comparisons as from a core (run_oracle.compare), exactly;
  g. the target still stopped afterwards: every thread in state T, no
     tracer left (TracerPid 0);
  h. the target resumed with SIGCONT runs to a clean exit (status 0);
  i. the JSON says live, with the pid and a pause.
The oracle is checked first exactly as there (self-check, expected garbage,
time-outs: FAIL unless a known limitation of run_oracle.KNOWN_LIMITATIONS).

Everything but the case itself comes from run_oracle.py (discovery,
fixtures, the comparison, process handling), so that both modes check the
same things.  Output and exit status as there.  Environment as there
(PYCORECHECK, TOP_SRCDIR, PCC_PYTHONS, PYENV_ROOT, ...).
"""
from __future__ import print_function

import argparse
import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
import run_oracle as ro  # noqa: E402

EXIT_TIMEOUT = 60  # SIGCONT to exit


def thread_states(pid):
    out = []
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as fh:
                s = fh.read()
        except (IOError, OSError):
            continue
        out.append(s[s.rindex(")") + 2:].split()[0])
    return out


def tracer_pid(pid):
    try:
        with open("/proc/%d/status" % pid) as fh:
            for line in fh:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except (IOError, OSError, ValueError):
        pass
    return None


def ptrace_skip_reason(pcc):
    """Why pycorecheck cannot attach to a process here, or None.  Asks it:
    Yama's ptrace_scope, a container without CAP_SYS_PTRACE or a seccomp
    filter all end in the same "cannot attach" error."""
    sleeper = subprocess.Popen(["sleep", "30"], stdin=subprocess.DEVNULL)
    try:
        r = subprocess.run([pcc, "--pid", str(sleeper.pid)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=60)
        err = r.stderr.decode("utf-8", "replace").strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return "cannot run %s: %s" % (pcc, e)
    finally:
        sleeper.kill()
        sleeper.wait()
    if "cannot attach" in err:
        return "pycorecheck cannot attach here: %s" % err[:200]
    return None


def run_case(py, fixture, fpath, pcc, opts):
    name = "%s %s live" % (py.label, fixture)
    tmp = tempfile.mkdtemp(prefix="pcc-live-%s-" % fixture, dir=opts.keep)
    keep = bool(opts.keep)
    p = None
    try:
        out = os.path.join(tmp, "oracle.json")
        log = os.path.join(tmp, "fixture.log")
        with open(log, "wb") as logf:
            env = dict(os.environ, TMPDIR=tmp)  # the fixture's own files go with the case
            p = ro.spawn([py.path, "-E", "-S", "-B", fpath, out], stdout=logf,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp, env=env)
        why = ro.wait_for_oracle(p, out, time.time() + ro.FIXTURE_TIMEOUT)
        if why is not None:
            return name, ro.wait_verdict(py, fixture, name, why, log)
        with open(out) as fh:
            oracle = json.load(fh)
        verdict = ro.oracle_verdict(py, fixture, name, oracle)
        if verdict is not None:
            return name, verdict

        refs = os.path.join(tmp, "refs.jsonl")
        t0 = time.time()
        rc, pout, perr = ro.run_cmd([pcc, "--json", "--check-traversals",
                                     "--dump-referents", refs,
                                     "--pid", str(p.pid)], ro.PCC_TIMEOUT)
        took = time.time() - t0
        perr = (perr or b"").decode("utf-8", "replace")
        with open(os.path.join(tmp, "pycorecheck.json"), "wb") as fh:
            fh.write(pout or b"")
        with open(os.path.join(tmp, "pycorecheck.stderr"), "w") as fh:
            fh.write(perr)

        # g. still stopped, nobody tracing it.  A detached group-stopped
        # thread goes back to T asynchronously: give it a moment.
        states = None
        for _ in range(50):
            states = thread_states(p.pid)
            if states and all(s == "T" for s in states) and tracer_pid(p.pid) == 0:
                break
            time.sleep(0.02)
        after = []
        if not states or not all(s == "T" for s in states):
            after.append("the target is not stopped after pycorecheck (thread states %s)"
                         % ",".join(states or ["gone"]))
        tr = tracer_pid(p.pid)
        if tr:
            after.append("the target is still traced by %d" % tr)

        # h. SIGCONT: it runs to a clean exit.
        os.kill(p.pid, signal.SIGCONT)
        try:
            status = p.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            status = None
        if status != 0:
            after.append("after SIGCONT the target %s" % (
                "did not exit within %ds" % EXIT_TIMEOUT if status is None
                else "exited with status %d" % status))

        if rc is None:
            return name, ro.Result("FAIL", "pycorecheck timed out after %ds" % ro.PCC_TIMEOUT)
        if rc < 0:
            return name, ro.Result("FAIL", "pycorecheck killed by signal %d" % -rc, perr[-2000:])
        if rc == 3:
            return name, ro.Result("FAIL", "pycorecheck could not analyse (exit 3): %s"
                                   % perr.strip()[:300])
        if rc not in (0, 1):
            return name, ro.Result("FAIL", "pycorecheck exit %d: %s" % (rc, perr.strip()[:300]))
        try:
            report = json.loads((pout or b"").decode("utf-8"))
        except ValueError as e:
            return name, ro.Result("FAIL", "pycorecheck printed no valid JSON: %s" % e)
        emulation = (report.get("heap") or {}).get("emulation") or {}
        if fixture in ro.NEEDS_EMULATOR and not emulation.get("built"):
            return name, ro.Result("SKIP", "pycorecheck was built without the CPU "
                                   "emulator (libunicorn-dev), which this fixture's "
                                   "C types need")
        reasons, details, notes, report = ro.compare(oracle, report, refs, rc, perr)
        reasons.extend(after)
        # i. the live fields
        tgt = report.get("target") or {}
        if tgt.get("live") is not True or tgt.get("pid") != p.pid \
                or not isinstance(tgt.get("pause_seconds"), (int, float)):
            reasons.append("target.live/pid/pause_seconds wrong: %r" % (
                dict((k, tgt.get(k)) for k in ("live", "pid", "pause_seconds")),))
        extra = []
        if report.get("complete") is False:
            extra.append("    incomplete analysis; warnings: %s" % "; ".join(
                (report.get("warnings") or [])[:5]))
        extra.append(notes + ", %.1fs, stopped %.1f ms" % (
            took, 1e3 * (tgt.get("pause_seconds") or 0)))
        extra.append(ro.oracle_note(oracle))
        if reasons:
            return name, ro.Result("FAIL", "; ".join(reasons), "\n".join(details + extra))
        return name, ro.Result("PASS", "", "\n".join(extra) if opts.verbose else "")
    except Exception as e:  # a harness bug must not leave processes behind
        import traceback
        return name, ro.Result("FAIL", "harness error: %s" % e, traceback.format_exc())
    finally:
        if p is not None:
            ro.reap(p)
        if keep:
            ro.say("    kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", action="append", metavar="PATH", help="interpreter (repeatable)")
    ap.add_argument("--fixture", action="append", metavar="NAME", help="fixture name (repeatable)")
    ap.add_argument("--keep", metavar="DIR", help="keep every case's files under DIR")
    ap.add_argument("-j", type=int, default=2, metavar="N", help="cases in parallel (default 2)")
    ap.add_argument("-v", "--verbose", action="store_true", help="details for passing cases too")
    opts = ap.parse_args(argv)
    if opts.keep:
        opts.keep = os.path.abspath(opts.keep)
        if not os.path.isdir(opts.keep):
            os.makedirs(opts.keep)

    def on_term(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    fixtures = ro.discover_fixtures(opts.fixture)
    pys = ro.discover(opts.python)
    pcc = ro.find_pycorecheck()
    global_skip = None
    if not os.access(pcc, os.X_OK):
        global_skip = "pycorecheck not built: %s" % pcc
    else:
        global_skip = ptrace_skip_reason(pcc)
    ro.say("pycorecheck: %s (live)" % pcc)
    cases = []
    passed = failed = skipped = 0
    for py in pys:
        if py.skip is None and global_skip is None:
            ro.probe(py)
        ro.say("python %s: %s%s" % (py.label, py.path, "" if py.version is None else
                                    " (%s)" % ".".join(map(str, py.version))))
        for name, path in fixtures:
            reason = global_skip or py.skip
            if reason:
                ro.say("SKIP: %s %s live (%s)" % (py.label, name, reason))
                skipped += 1
            else:
                cases.append((py, name, path))

    ex = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.j))
    futs = [ex.submit(run_case, py, name, path, pcc, opts) for py, name, path in cases]
    try:
        for fut in concurrent.futures.as_completed(futs):
            name, res = fut.result()
            line = "%s: %s" % (res.status, name)
            if res.reason:
                line += " (%s)" % res.reason
            if res.details:
                line += "\n" + res.details
            ro.say(line)
            if res.status == "PASS":
                passed += 1
            elif res.status == "FAIL":
                failed += 1
            else:
                skipped += 1
    except BaseException:
        ro._stopping.set()
        for f in futs:
            f.cancel()
        ro.reap_all()
        ex.shutdown(wait=True)
        raise
    finally:
        ro.reap_all()
    ex.shutdown(wait=True)
    for line in ro.limitations_summary():
        ro.say(line)
    ro.say("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    if failed:
        return 1
    if passed == 0:
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
