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

With MIX=ctypes in the environment, every record's key is an object of a C
type (itertools.chain, operator.methodcaller, decimal.Context, StopIteration,
types.SimpleNamespace, functools' lru_cache wrapper, in turn); four of the six
have no traversal of pycorecheck's own, so that about a twelfth of the heap
goes through the CPU emulator: bench/run.sh then reports its cost per object.
"""

import decimal
import functools
import gc
import itertools
import json
import operator
import os
import platform
import signal
import sys
import time
import types


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


def c_object(i, tags):
    """An object of a C type without a traversal in pycorecheck."""
    k = i % 6
    if k == 0:
        return itertools.chain(tags)
    if k == 1:
        return operator.methodcaller("append", tags)
    if k == 2:
        return decimal.Context(prec=10)
    if k == 3:
        return StopIteration(tags)
    if k == 4:
        return types.SimpleNamespace(tags=tags)
    return functools.lru_cache(maxsize=None)(len)


def build_live(n_records):
    records = []
    append = records.append
    c_types = os.environ.get("MIX") == "ctypes"
    for i in range(n_records):
        tags = ["t", i]                    # list: tracked
        meta = {"tags": tags, "n": i}      # dict holding a container: tracked
        # tuple holding a container, or a C object: tracked
        key = c_object(i, tags) if c_types else (tags, i)
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
