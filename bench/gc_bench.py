"""Build a heap of about N GC-tracked objects, time gc.collect() on it, then
stop (SIGSTOP) so that bench/run.sh can take a core and time pycorecheck on
the same heap.

    python3 bench/gc_bench.py N

The heap is a mix like a service's: "records" that are instances of a class
(attribute values inline in 3.11+, a __dict__ before), each with a list, a
dict and a tuple that stay tracked (they hold containers), plus about 1% of
the objects as garbage in small reference cycles (pairs of instances pointing
at each other, and self-referencing lists).

Automatic collection is disabled.  gc.collect() is timed in-process, best of
3; before each run the garbage is rebuilt so that every run finds the same
amount, and it is built once more before stopping, so the core holds it.
Prints one JSON line on stdout: {"n", "tracked", "collect_seconds",
"python"}.
"""

import gc
import json
import os
import platform
import signal
import sys
import time


class Record:

    def __init__(self, i, tags, meta, key):
        self.id = i
        self.tags = tags
        self.meta = meta
        self.key = key


class Node:
    def __init__(self, name):
        self.name = name
        self.other = None


def build_live(n_records):
    records = []
    append = records.append
    for i in range(n_records):
        tags = ["t", i]                    # list: tracked
        meta = {"tags": tags, "n": i}      # dict holding a container: tracked
        key = (tags, i)                    # tuple holding a container: tracked
        append(Record(i, tags, meta, key))  # instance: tracked
    return records


def build_garbage(n_objects):
    """About n_objects tracked objects in cycles, unreachable on return."""
    for i in range(n_objects // 3):
        a = Node("a")
        b = Node("b")
        a.other = b
        b.other = a
        loop = []
        loop.append(loop)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gc_bench.py N")
    n = int(sys.argv[1])
    gc.disable()
    garbage_objects = n // 100
    # 4 tracked objects per record, plus the records list itself.
    records = build_live((n - garbage_objects) // 4)

    best = None
    for _ in range(3):
        build_garbage(garbage_objects)
        t0 = time.perf_counter()
        gc.collect()
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)

    build_garbage(garbage_objects)
    objs = gc.get_objects()
    tracked = len(objs)
    del objs
    print(json.dumps({
        "n": n,
        "tracked": tracked,
        "collect_seconds": round(best, 6),
        "python": platform.python_version(),
        "pid": os.getpid(),
    }), flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)
    # Keep the heap alive until here (the process is killed while stopped).
    return records


if __name__ == "__main__":
    main()
