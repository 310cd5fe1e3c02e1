"""Seed inputs for the fuzzers, written by fuzz/make-corpus.sh.

    make_seeds.py core-seeds OUTDIR CORE...   thin and damaged copies of cores
    make_seeds.py heap-seeds OUTDIR [DUMP]    patch lists for fuzz_heap

A seed for fuzz_core is kept small (a "thin" core: every segment cut to its
first page, which keeps the ELF headers libdwfl reads, the notes whole) so
that libFuzzer mutates and runs it fast; the damaged ones start it off near
the checks of the program headers and notes.  A seed for fuzz_heap follows
the patch format documented in fuzz/fuzz_heap.c; with DUMP (pycorecheck
--dump-referents of the fixture core, which lists the tracked objects in the
order fuzz_heap numbers them) some are aimed at one object of each type the
traversals treat apart: deques, OrderedDicts, frames, generators, files..."""
import os
import struct
import sys

PT_LOAD, PT_NOTE = 1, 4
NT_FILE = 0x46494C45
PAGE = 4096


def phdrs(image):
    phoff, = struct.unpack_from("<Q", image, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", image, 0x36)
    for i in range(phnum):
        off = phoff + i * phentsize
        yield off, struct.unpack_from("<IIQQQQQQ", image, off)


def thin(image, keep=PAGE):
    """The core with each PT_LOAD cut to its first keep bytes (p_filesz <
    p_memsz: the rest "not dumped"), laid out again from the end of the
    program headers."""
    out = bytearray(image)
    phoff, = struct.unpack_from("<Q", image, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", image, 0x36)
    pos = phoff + phentsize * phnum
    pieces = []
    for off, (ptype, flags, offset, vaddr, paddr, filesz, memsz,
              align) in phdrs(image):
        size = filesz if ptype == PT_NOTE else min(filesz, keep)
        data = image[offset:offset + size]
        pos = (pos + 7) & ~7
        pieces.append((pos, data))
        struct.pack_into("<IIQQQQQQ", out, off, ptype, flags, pos, vaddr,
                         paddr, len(data), memsz, align)
        pos += len(data)
    del out[phoff + phentsize * phnum:]
    out.extend(b"\0" * (pos - len(out)))
    for at, data in pieces:
        out[at:at + len(data)] = data
    return bytes(out)


def notes(image):
    """(offset of the note header, type, offset of desc, descsz)."""
    for _, (ptype, _, offset, _, _, filesz, _, _) in phdrs(image):
        if ptype != PT_NOTE:
            continue
        pos, end = offset, offset + filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", image, pos)
            desc = pos + 12 + ((namesz + 3) & ~3)
            yield pos, ntype, desc, descsz
            pos = desc + ((descsz + 3) & ~3)


def damaged(image):
    """A few ways a core goes wrong, each one change."""
    out = {}
    out["truncated-headers"] = image[:PAGE]
    out["truncated-half"] = image[:len(image) // 2]
    b = bytearray(image)
    struct.pack_into("<H", b, 0x36, 1)  # e_phnum: only the first header
    out["phnum-1"] = bytes(b)
    b = bytearray(image)
    # The last PT_LOAD claims bytes past the end of the file.
    last = [o for o, h in phdrs(image) if h[0] == PT_LOAD][-1]
    struct.pack_into("<Q", b, last + 0x20, 1 << 40)
    out["load-past-end"] = bytes(b)
    for pos, ntype, desc, descsz in notes(image):
        if ntype != NT_FILE or descsz < 16:
            continue
        b = bytearray(image)
        struct.pack_into("<Q", b, desc, 1 << 30)  # count: huge
        out["nt-file-count"] = bytes(b)
        b = bytearray(image)
        struct.pack_into("<I", b, pos + 8, 0x1234)  # type: unknown
        out["nt-file-type"] = bytes(b)
        b = bytearray(image)
        # The strings lose their terminators.
        for i in range(desc + 16, desc + descsz):
            if b[i] == 0:
                b[i] = ord("A")
        out["nt-file-unterminated"] = bytes(b)
        break
    return out


def core_seeds(outdir, cores):
    os.makedirs(outdir, exist_ok=True)
    for core in cores:
        with open(core, "rb") as f:
            image = f.read()
        if image[:4] != b"\x7fELF" or image[4] != 2:
            sys.exit("make_seeds.py: %s is not a 64-bit ELF core" % core)
        name = os.path.basename(core).rsplit(".", 1)[0]
        slim = thin(image)
        seeds = {"thin": slim}
        seeds.update(damaged(slim))
        for what, data in seeds.items():
            with open(os.path.join(outdir, "%s-%s.core" % (name, what)),
                      "wb") as f:
                f.write(data)


# fuzz_heap's patches: op, arg, off, obj, val (see fuzz/fuzz_heap.c).
WHERE_OBJECT, WHERE_REGION = 0, 1
RAW, OBJECT, SELF, SPECIAL, ADD, GC_HEAD, COPY, FLIP = range(8)
SPECIAL_ZERO, SPECIAL_MINUS_ONE, SPECIAL_INT64_MIN = 0, 2, 3


def patch(mode, off=0, obj=0, val=0, arg=0, where=WHERE_OBJECT):
    return struct.pack("<BbhIQ", where | mode << 1, arg, off, obj, val)


# Types whose traversals walk something of their own (blocks, nodes,
# frames, tables, slots) or that the files pass reads.
AIMED_TYPES = (
    "collections.deque", "collections.OrderedDict", "collections.defaultdict",
    "frame", "generator", "traceback", "ValueError", "cell", "function",
    "method", "functools.partial", "dict", "list", "tuple", "set",
    "frozenset", "type", "module", "Node", "Slotted", "TupleWithDict",
    "IntWithDict", "Holder", "weakref.ReferenceType", "_io.FileIO",
    "_io.BufferedWriter", "_io.TextIOWrapper", "property", "classmethod",
    # Emulated (fuzz/heap_fixture.py's C objects): the seeds set flag 2.
    "operator.methodcaller", "itertools.chain", "itertools.cycle",
    "functools._lru_cache_wrapper",
)
EMULATED_TYPES = AIMED_TYPES[-4:]
# Words after the header (ob_refcnt, ob_type) that the seeds break.
AIMED_OFFSETS = range(16, 96, 8)


def aimed_seeds(dump):
    import json
    objects = []
    with open(dump) as f:
        for line in f:
            o = json.loads(line)
            objects.append((int(o["addr"], 16), o["type"]))
    objects.sort()
    first = {}
    for i, (_, type_name) in enumerate(objects):
        first.setdefault(type_name, []).append(i)
    seeds = {}
    for type_name in AIMED_TYPES:
        numbers = first.get(type_name)
        if not numbers:
            continue
        obj, other = numbers[0], numbers[-1]
        tag = type_name.replace(".", "-")
        for off in AIMED_OFFSETS:
            seeds["%s-%d-self" % (tag, off)] = patch(SELF, off, obj=obj)
            seeds["%s-%d-huge" % (tag, off)] = patch(SPECIAL, off, obj=obj,
                                                     val=9)  # 1 << 40
            seeds["%s-%d-other" % (tag, off)] = patch(OBJECT, off, obj=obj,
                                                      val=other)
        # Its GC links: to itself, and a two-node loop with its kind.
        seeds["%s-gc-self" % tag] = patch(GC_HEAD, -16, obj=obj, val=obj)
        seeds["%s-gc-loop" % tag] = (patch(GC_HEAD, -16, obj=obj, val=other)
                                     + patch(GC_HEAD, -16, obj=other, val=obj))
    return seeds


def heap_seeds(outdir, dump=None):
    # Offsets for 3.8+ (PyGC_Head of 16 bytes before the object):
    # _gc_next -16, _gc_prev -8, ob_refcnt 0, ob_type 8, ob_size 16,
    # then the type's own fields (ma_used, ob_item, ...) from 16 on.
    gc_next, gc_prev, refcnt, ob_type, ob_size = -16, -8, 0, 8, 16
    seeds = {
        "none": b"",
        "gc-next-self": patch(GC_HEAD, gc_next, obj=5, val=5),
        "gc-two-node-loop": patch(GC_HEAD, gc_next, obj=10, val=11)
        + patch(GC_HEAD, gc_next, obj=11, val=10),
        "gc-prev-zero": patch(SPECIAL, gc_prev, obj=12, val=SPECIAL_ZERO),
        "refcnt-zero": patch(SPECIAL, refcnt, obj=7, val=SPECIAL_ZERO),
        "size-huge": patch(SPECIAL, ob_size, obj=3, val=SPECIAL_INT64_MIN),
        "size-minus-one": patch(SPECIAL, ob_size, obj=30, val=SPECIAL_MINUS_ONE),
        "type-is-object": patch(OBJECT, ob_type, obj=20, val=21),
        "type-is-self": patch(SELF, ob_type, obj=40),
        "fields-self": b"".join(patch(SELF, off, obj=50)
                                for off in range(16, 80, 8)),
        "fields-swapped": b"".join(patch(COPY, off, obj=60, val=61)
                                   for off in range(16, 64, 8)),
        "fields-shifted": b"".join(patch(ADD, off, obj=70 + i, val=8)
                                   for i, off in enumerate(range(16, 64, 8))),
        "bits": b"".join(patch(FLIP, off, obj=80 + i, val=i * 7)
                         for i, off in enumerate(range(-16, 64, 8))),
        "raw-region": b"".join(patch(RAW, obj=i * 37, val=0x4141414141414141,
                                     arg=7, where=WHERE_REGION)
                               for i in range(8)),
    }
    os.makedirs(outdir, exist_ok=True)
    for name, patches in seeds.items():
        # 1: also every object's labelled referents; 2: the emulator
        for flags in (0, 1, 2, 3):
            with open(os.path.join(outdir, "%s-%d" % (name, flags)),
                      "wb") as f:
                f.write(bytes([flags]) + patches)
    # Fewer flags here: libFuzzer runs every seed once before it mutates.
    for name, patches in (aimed_seeds(dump) if dump else {}).items():
        emulated = any(name.startswith(t.replace(".", "-") + "-")
                       for t in EMULATED_TYPES)
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(bytes([2 if emulated else 0]) + patches)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "core-seeds":
        core_seeds(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) in (3, 4) and sys.argv[1] == "heap-seeds":
        heap_seeds(*sys.argv[2:])
    else:
        sys.exit(__doc__)
