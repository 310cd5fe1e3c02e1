"""What a live target looks like from /proc, for the live tests: its
threads' states, its tracer, and whether pycorecheck may attach here at all.
Shared by tests/live/live_resume.py and tests/oracle/run_oracle.py."""
from __future__ import print_function

import os
import subprocess
import time


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


def status_field(pid, key):
    try:
        with open("/proc/%d/status" % pid) as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return line.split(None, 1)[1].strip()
    except (IOError, OSError):
        pass
    return None


def tracer(pid):
    v = status_field(pid, "TracerPid")
    return int(v) if v is not None else None


def thread_states(pid):
    out = []
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return []
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as fh:
                s = fh.read()
            out.append(s[s.rindex(")") + 2:].split()[0])
        except (IOError, OSError, ValueError):
            pass
    return out


def settle(pid, want_stopped, timeout=3.0):
    """Wait until no tracer and every thread stopped (T) or none stopped
    (neither T nor t): a detached group-stopped thread goes back to T
    asynchronously.  Returns None or what is wrong."""
    end = time.time() + timeout
    while True:
        tr = tracer(pid)
        st = thread_states(pid)
        if want_stopped:
            good = tr == 0 and st and all(s == "T" for s in st)
        else:
            good = tr == 0 and st and not any(s in ("T", "t") for s in st)
        if good:
            return None
        if time.time() > end:
            return "tracer %s, thread states %s" % (tr, "".join(st) or "gone")
        time.sleep(0.02)
