"""The heap behind the heap-walk fuzzer's fixture core (fuzz/make-corpus.sh).

Small (a few thousand tracked objects, so that one analysis is quick) but
with one of each shape the traversals know: dicts (split and combined),
lists, tuples, sets, deques over several blocks, OrderedDicts, defaultdicts,
partials, suspended generators and coroutines with their frames, closures,
instances with __dict__, __slots__ and inline values, subclasses of tuple
and int with a __dict__, exceptions with tracebacks, weakrefs, open files
(held and leaked), strings of every width, and objects of C types only the
emulator traverses (operator.methodcaller, itertools.chain and cycle,
lru_cache wrappers).  Half of it is garbage in cycles.  The process then
stops itself for gcore."""
from __future__ import print_function

import collections
import functools
import gc
import io
import itertools
import operator
import os
import signal
import sys
import tempfile
import weakref


class Node(object):
    def __init__(self, name):
        self.name = name
        self.other = None


class Slotted(object):
    __slots__ = ("a", "b", "__weakref__")


class TupleWithDict(tuple):
    pass


# A variable-size integer: 2.7's int is fixed-size, its long is not.
class IntWithDict(type(10 ** 30)):
    pass


class Holder(object):
    def method(self):
        return self


def gen(seed):
    local = [seed, "gen-local"]
    yield local
    yield seed


def make_closure(x):
    cell = [x]

    def inner():
        return cell, inner
    return inner


def raise_and_keep(i):
    try:
        raise ValueError("boom %d" % i)
    except ValueError:
        return sys.exc_info()


tmpdir = tempfile.mkdtemp()


def shapes(i):
    d = {"self": None, u"caf\xe9": i, u"\u4e2d\u6587": [i], u"\U0001f600": ()}
    d["self"] = d
    lst = [lst_item for lst_item in range(3)]
    lst.append(lst)
    t = (lst, d, "t%d" % i)
    h0 = Node("in-set")
    s = set([h0, "s"])
    h0.other = s
    fs = frozenset([i, "fs"])
    dq = collections.deque(range(150))
    dq.append(dq)
    od = collections.OrderedDict((str(k), k) for k in range(5))
    od["self"] = od
    dd = collections.defaultdict(list)
    dd["x"].append(dd)
    p = functools.partial(shapes, i, key=d)
    a, b = Node("a%d" % i), Node(u"b\xe9%d" % i)
    a.other, b.other = b, a
    sl = Slotted()
    sl.a, sl.b = sl, [sl]
    twd = TupleWithDict((1, 2, 3))
    twd.me = twd
    iwd = IntWithDict(10 ** 30 + i)
    iwd.me = iwd
    h = Holder()
    h.bound = h.method
    g = gen(i)
    next(g)
    c = make_closure(i)
    exc = raise_and_keep(i)
    wr = weakref.ref(a)
    sl_ref = weakref.ref(sl)
    # Objects of C types with no traversal of pycorecheck's own: their
    # referents come from the emulator (fuzz_heap's flag 2), in cycles.
    args = [i]
    mc = operator.methodcaller("append", args)
    args.append(mc)
    ch = itertools.chain([lst], args)
    cy = itertools.cycle([ch, args])
    emulated = [mc, ch, cy]
    lru = getattr(functools, "lru_cache", None)
    if lru is not None:
        cached = lru(maxsize=4)(lambda n: (cached, n))
        cached(i)
        emulated.append(cached)
    return [d, lst, t, s, fs, dq, od, dd, p, a, b, sl, twd, iwd, h, g, c,
            exc, wr, sl_ref] + emulated


def open_files(i):
    path = os.path.join(tmpdir, "f%d" % i)
    text = io.open(path, "w")
    raw = io.open(path + ".bin", "wb", buffering=0)
    buffered = io.open(path + ".buf", "wb")
    return [text, raw, buffered]


def main():
    gc.disable()
    keep = []
    for i in range(20):
        shapes(i)            # garbage: every shape in a cycle
        keep.append(shapes(i))
    keep.append(open_files(0))
    leaked = open_files(1)
    leaked.append(leaked)    # leaked files in a cycle
    del leaked
    keep.append(sys.modules)
    os.kill(os.getpid(), signal.SIGSTOP)
    return keep


main()
