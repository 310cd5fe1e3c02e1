#!/usr/bin/env python3
"""After pycorecheck --pid, every target continues.

A busy target: threads allocating and dropping reference cycles in a loop
(automatic collection on), until the test says stop; then it joins them,
prints "done N" and exits 0.  Against it:
  - pycorecheck --pid, several times while it runs (exit 0 or 1);
  - pycorecheck killed by SIGINT, SIGTERM, SIGHUP and SIGKILL while the
    threads are stopped (PCC_TEST_SLOW_READ_MS holds the seize window open),
    and sent SIGPIPE there (ignored by pycorecheck: it just finishes);
  - pycorecheck failing on purpose while they are stopped
    (PCC_TEST_FAIL_AFTER_SEIZE=1: exit 3, one line on stderr);
after each: no tracer left, no thread left stopped, and the work goes on.
A SIGUSR1 sent to the target while pycorecheck holds it is not lost.  At the
end the target must print "done" and exit 0.

A stopped target (SIGSTOP before pycorecheck came) gets the same treatment
and must still be stopped after each (every thread in state T), then
SIGCONT lets it finish the same way.  It is also read through /proc/PID/mem
(PCC_TEST_NO_VM_READV=1): the same unreachable set as with process_vm_readv.

Environment: PYCORECHECK, PCC_LIVE_PYTHON (the interpreter; default the
first pyenv 3.13 ... 3.8 found, else /usr/bin/python3.11 with its -dbg
package), PYENV_ROOT.  Exit 0 pass, 1 fail, 77 skipped (says why).
"""
from __future__ import print_function

import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from target_state import ptrace_skip_reason, settle, thread_states, tracer

PCC = os.environ.get("PYCORECHECK") or os.path.abspath("pycorecheck")
SLOW_MS = 1500

TARGET = r'''
import gc, os, signal, sys, threading, time
stop_file = sys.argv[1]
usr1 = []
signal.signal(signal.SIGUSR1, lambda s, f: usr1.append(s))
deadline = time.time() + float(sys.argv[2])
counts = []
errors = []

class Node(object):
    def __init__(self, i):
        self.i = i
        self.peer = None

def work(k):
    n = 0
    try:
        while n == 0 or (not os.path.exists(stop_file) and time.time() < deadline):
            for i in range(200):
                a = Node(i); b = Node(i + 1)
                a.peer = b; b.peer = a          # a cycle, dropped at once
                l = [a, b]; l.append(l)
                d = {"k": k, "l": l}; d["d"] = d
            n += 1
            if n == 1:
                running[k].set()
            if n % 50 == 0:
                time.sleep(0.001)
    except BaseException as e:
        errors.append(repr(e))
    counts.append(n)

running = [threading.Event() for k in range(4)]
threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
for t in threads:
    t.start()
for e in running:
    e.wait(60)
print("started", flush=True)  # every thread is in its loop
while not os.path.exists(stop_file) and time.time() < deadline:
    time.sleep(0.01)
for t in threads:
    t.join()
if errors or len(counts) != 4 or min(counts) == 0:
    print("broken", errors, counts, flush=True)
    sys.exit(1)
if time.time() >= deadline:
    print("deadline reached before the test said stop", flush=True)
    sys.exit(1)
print("done", sum(counts), "usr1=%d" % len(usr1), flush=True)
'''

passed = failed = 0


def ok(name):
    global passed
    passed += 1
    print("PASS: live-resume %s" % name, flush=True)


def bad(name, why):
    global failed
    failed += 1
    print("FAIL: live-resume %s (%s)" % (name, why), flush=True)


def skip_all(why):
    print("SKIP: live-resume (%s)" % why)
    print("0 passed, 0 failed, 1 skipped")
    sys.exit(77)


def find_python():
    env = os.environ.get("PCC_LIVE_PYTHON")
    if env:
        return env
    root = os.environ.get("PYENV_ROOT") or "/root/.pyenv"
    for minor in (13, 12, 11, 10, 9, 8):
        for d in sorted(glob.glob(os.path.join(root, "versions", "3.%d.*" % minor))):
            exe = os.path.join(d, "bin", "python3.%d" % minor)
            if os.access(exe, os.X_OK) and glob.glob(os.path.join(d, "lib", "libpython3.*.so*")):
                return exe
    if os.access("/usr/bin/python3.11", os.X_OK) and glob.glob("/usr/lib/debug/.build-id/*/*.debug"):
        return "/usr/bin/python3.11"
    return None


def default_signals():
    # A test run in the background may have SIGINT ignored: pycorecheck
    # must see it as a user would.
    for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)


def run_pcc(pid, env_extra=None, send=None, timeout=120, args=(), stdout=None,
            to_target=None):
    """Run pycorecheck --pid; with send, deliver that signal to it once every
    thread of the target is stopped (to_target: that signal to the target
    then).  (returncode, stderr)."""
    env = dict(os.environ)
    env.pop("PCC_TEST_SLOW_READ_MS", None)
    env.pop("PCC_TEST_FAIL_AFTER_SEIZE", None)
    env.update(env_extra or {})
    p = subprocess.Popen([PCC] + list(args) + ["--pid", str(pid)],
                         stdout=stdout if stdout is not None else subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env, preexec_fn=default_signals)
    if send is not None:
        end = time.time() + 30
        while time.time() < end:
            if tracer(pid) == p.pid and all(s == "t" for s in thread_states(pid)):
                break
            if p.poll() is not None:
                break
            time.sleep(0.005)
        time.sleep(0.1)
        try:
            if to_target is not None:
                os.kill(pid, to_target)
            else:
                p.send_signal(send)
        except OSError:
            pass
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        return None, "timed out"
    return p.returncode, err.decode("utf-8", "replace")


def start_target(py, tmp, name):
    stop = os.path.join(tmp, name + ".stop")
    out = os.path.join(tmp, name + ".out")
    script = os.path.join(tmp, "target.py")
    with open(script, "w") as fh:
        fh.write(TARGET)
    fh = open(out, "w")
    p = subprocess.Popen([py, "-E", "-S", script, stop, "300"], stdout=fh,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    fh.close()
    end = time.time() + 30
    while time.time() < end:
        with open(out) as f:
            if "started" in f.read():
                break
        if p.poll() is not None:
            break
        time.sleep(0.02)
    return p, stop, out


def finish_target(name, p, stop, out):
    open(stop, "w").close()
    try:
        rc = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        rc = None
    with open(out) as f:
        text = f.read()
    if rc == 0 and "done" in text and "usr1=0" in text:
        bad("%s: the SIGUSR1 sent while it was held" % name, "lost: %r" % text.strip()[-200:])
    elif rc == 0 and "done" in text:
        ok("%s: finished its work and exited 0 (%s)" % (name, text.strip().splitlines()[-1]))
    else:
        bad("%s: finishes" % name, "exit %s, output %r" % (rc, text[-300:]))


SIGNAL_CASES = [
    ("SIGINT", signal.SIGINT, -signal.SIGINT),
    ("SIGTERM", signal.SIGTERM, -signal.SIGTERM),
    ("SIGHUP", signal.SIGHUP, -signal.SIGHUP),
    ("SIGKILL (the kernel detaches)", signal.SIGKILL, -signal.SIGKILL),
    ("SIGPIPE (ignored: pycorecheck finishes)", signal.SIGPIPE, (0, 1)),
]


def exercise(name, pid, stopped):
    """Every way of attaching, against one target."""
    for i in range(4 if not stopped else 2):
        rc, err = run_pcc(pid)
        why = settle(pid, stopped)
        if rc not in (0, 1):
            bad("%s: pycorecheck --pid run %d" % (name, i + 1), "exit %s: %s" % (rc, err.strip()[-300:]))
        elif why:
            bad("%s: run %d leaves it %s" % (name, i + 1, "stopped" if stopped else "running"), why)
        else:
            ok("%s: pycorecheck --pid run %d (exit %d), then %s" % (
                name, i + 1, rc, "still stopped" if stopped else "running"))
    for label, sig, want in SIGNAL_CASES:
        rc, err = run_pcc(pid, {"PCC_TEST_SLOW_READ_MS": str(SLOW_MS)}, send=sig)
        why = settle(pid, stopped)
        wants = want if isinstance(want, tuple) else (want,)
        if rc not in wants:
            bad("%s: %s in the seize window" % (name, label), "exit %s, want %s: %s" % (
                rc, "/".join(map(str, wants)), err.strip()[-300:]))
        elif why:
            bad("%s: %s in the seize window" % (name, label), why)
        else:
            ok("%s: %s in the seize window, then %s" % (
                name, label, "still stopped" if stopped else "running"))
    # A signal for the target while pycorecheck holds it: delivered after.
    rc, err = run_pcc(pid, {"PCC_TEST_SLOW_READ_MS": "500"}, send=True,
                      to_target=signal.SIGUSR1)
    why = settle(pid, stopped)
    if rc not in (0, 1) or why:
        bad("%s: SIGUSR1 to it while stopped" % name, "exit %s, %s" % (rc, why))
    else:
        ok("%s: SIGUSR1 to it while pycorecheck holds it (checked at the end)" % name)
    rc, err = run_pcc(pid, {"PCC_TEST_FAIL_AFTER_SEIZE": "1"})
    why = settle(pid, stopped)
    lines = err.strip().splitlines()
    if rc != 3 or len(lines) != 1 or not lines[0].startswith("pycorecheck: "):
        bad("%s: failing on purpose" % name, "exit %s, stderr %r" % (rc, err[-300:]))
    elif why:
        bad("%s: failing on purpose" % name, why)
    else:
        ok("%s: failing on purpose (exit 3: %s), then %s" % (
            name, lines[0][:80], "still stopped" if stopped else "running"))


def same_answer_both_ways(name, pid):
    """A stopped target read with process_vm_readv and through /proc/PID/mem
    (PCC_TEST_NO_VM_READV=1): the same unreachable set."""
    reports = []
    for extra in ({}, {"PCC_TEST_NO_VM_READV": "1"}):
        with tempfile.TemporaryFile() as out:
            rc, err = run_pcc(pid, extra, args=("--json",), stdout=out)
            out.seek(0)
            try:
                reports.append((rc, json.loads(out.read().decode("utf-8"))))
            except ValueError:
                reports.append((rc, None))
    (rc1, a), (rc2, b) = reports
    if a is None or b is None or rc1 not in (0, 1) or rc2 != rc1:
        bad("%s: /proc/PID/mem fallback" % name, "exit %s and %s" % (rc1, rc2))
        return
    ua = sorted(o["addr"] for o in a["unreachable"]["objects"])
    ub = sorted(o["addr"] for o in b["unreachable"]["objects"])
    warned = any("/mem" in w for w in b.get("warnings", []))
    if ua != ub or not warned:
        bad("%s: /proc/PID/mem fallback" % name, "%d vs %d unreachable, warning %s" % (
            len(ua), len(ub), warned))
    else:
        ok("%s: /proc/PID/mem fallback gives the same %d unreachable objects" % (name, len(ua)))


def main():
    if not os.access(PCC, os.X_OK):
        skip_all("pycorecheck not built: %s" % PCC)
    why = ptrace_skip_reason(PCC)
    if why:
        skip_all(why)
    py = find_python()
    if not py:
        skip_all("no CPython 3.8-3.13 with debug info (pyenv, or python3.11-dbg)")
    print("python: %s" % py, flush=True)
    tmp = tempfile.mkdtemp(prefix="pcc-live-resume-")
    procs = []
    try:
        # A busy target.
        p, stop, out = start_target(py, tmp, "busy")
        procs.append(p)
        if p.poll() is not None:
            bad("busy target", "did not start")
        else:
            exercise("busy target", p.pid, stopped=False)
            finish_target("busy target", p, stop, out)

        # A stopped one.
        p, stop, out = start_target(py, tmp, "stopped")
        procs.append(p)
        if p.poll() is not None:
            bad("stopped target", "did not start")
        else:
            os.kill(p.pid, signal.SIGSTOP)
            why = settle(p.pid, True)
            if why:
                bad("stopped target", "SIGSTOP did not stop it: %s" % why)
            else:
                exercise("stopped target", p.pid, stopped=True)
                same_answer_both_ways("stopped target", p.pid)
                open(stop, "w").close()
                os.kill(p.pid, signal.SIGCONT)
                finish_target("stopped target, after SIGCONT", p, stop, out)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for f in glob.glob(os.path.join(tmp, "*")):
            os.unlink(f)
        os.rmdir(tmp)
    print("%d passed, %d failed, 0 skipped" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
