#!/usr/bin/env python3
"""Make hostile variants of a core (or ELF file) for tests/hostile_core.test.

Each command reads IN and writes OUT; nothing is committed, the inputs are
cores taken at test time.

  ntfile IN OUT COUNT [PATH]  append a PT_NOTE with an NT_FILE of COUNT
                              one-page entries at unmapped addresses, named
                              /nonexistent/pcc-I (or all PATH)
  phnum IN OUT VALUE          set e_phnum
  xnum IN OUT                 extended numbering: e_phnum = PN_XNUM, the
                              count in section 0's sh_info (the layout the
                              kernel writes for over 65,534 segments)
  notetype IN OUT TYPE NEW    change the type of every note of type TYPE
  rename IN OUT OLD NEW       replace the path OLD by NEW (of the same
                              length) wherever a NUL-terminated string
                              (NT_FILE, the link map) names it
  debug-offsets IN OUT FT      set the free_threaded word of 3.13+'s
                              _Py_DebugOffsets ("xdebugpy" cookie) to FT
  damage-dwarf IN OUT         set the DWARF version of the compilation
                              unit in the middle of .debug_info to 99
  link-map-loop IN OUT PATH   point l_next of the link map entry whose
                              l_name is PATH at the entry itself
  grow IN OUT SIZE            set p_filesz and p_memsz of the last PT_LOAD
                              to SIZE (a core that claims more bytes)
  no-build-id IN OUT          change the type of the GNU build id note of
                              an ELF file, so that it has no build id
"""
import struct
import sys

PT_NOTE = 4
PN_XNUM = 0xFFFF
NT_FILE = 0x46494C45
NT_GNU_BUILD_ID = 3


def ehdr(b):
    (phoff, shoff) = struct.unpack_from("<QQ", b, 0x20)
    (phentsize, phnum, shentsize, shnum) = struct.unpack_from("<HHHH", b, 0x36)
    return phoff, shoff, phentsize, phnum, shentsize, shnum


def phdrs(b):
    phoff, _, phentsize, phnum, _, _ = ehdr(b)
    return [struct.unpack_from("<IIQQQQQQ", b, phoff + i * phentsize)
            for i in range(phnum)]


def notes(b):
    """(offset of the type field, type) of every note in every PT_NOTE."""
    out = []
    for ph in phdrs(b):
        if ph[0] != PT_NOTE:
            continue
        off, end = ph[2], ph[2] + ph[5]
        while off + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", b, off)
            out.append((off + 8, ntype))
            off += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
    return out


def append_note(b, note):
    """Append note bytes and a copy of the program headers plus a PT_NOTE."""
    phoff, _, phentsize, phnum, _, _ = ehdr(b)
    b += b"\0" * (-len(b) % 8)
    note_off = len(b)
    b += note
    b += b"\0" * (-len(b) % 8)
    new_phoff = len(b)
    b += b[phoff:phoff + phnum * phentsize]
    b += struct.pack("<IIQQQQQQ", PT_NOTE, 4, note_off, 0, 0, len(note), 0, 4)
    struct.pack_into("<Q", b, 0x20, new_phoff)
    struct.pack_into("<H", b, 0x38, phnum + 1)
    return b


def nt_file(count, path):
    base, page = 0x100000000000, 0x1000
    table = bytearray(struct.pack("<QQ", count, page))
    names = bytearray()
    for i in range(count):
        start = base + i * 2 * page
        table += struct.pack("<QQQ", start, start + page, 0)
        names += (path or "/nonexistent/pcc-%d" % i).encode() + b"\0"
    desc = bytes(table + names)
    hdr = struct.pack("<III", 5, len(desc), NT_FILE) + b"CORE\0\0\0\0"
    return hdr + desc + b"\0" * (-len(desc) % 4)


def main(argv):
    cmd, src, dst = argv[1], argv[2], argv[3]
    with open(src, "rb") as f:
        b = bytearray(f.read())
    if cmd == "ntfile":
        path = argv[5] if len(argv) > 5 else None
        b = append_note(b, nt_file(int(argv[4]), path))
    elif cmd == "phnum":
        struct.pack_into("<H", b, 0x38, int(argv[4], 0))
    elif cmd == "xnum":
        _, shoff, _, phnum, shentsize, shnum = ehdr(b)
        if shoff == 0 or shnum == 0:
            # No section headers (a kernel core): add one, section 0.
            b += b"\0" * (-len(b) % 8)
            shoff = len(b)
            b += b"\0" * 64
            struct.pack_into("<Q", b, 0x28, shoff)
            struct.pack_into("<HHH", b, 0x3A, 64, 1, 0)
        struct.pack_into("<I", b, shoff + 0x2C, phnum)
        struct.pack_into("<H", b, 0x38, PN_XNUM)
    elif cmd == "notetype":
        old, new = int(argv[4], 0), int(argv[5], 0)
        for off, ntype in notes(b):
            if ntype == old:
                struct.pack_into("<I", b, off, new)
    elif cmd == "rename":
        old, new = argv[4].encode() + b"\0", argv[5].encode() + b"\0"
        if len(old) != len(new):
            sys.exit("rename: %s and %s differ in length" % (argv[4], argv[5]))
        b = bytearray(bytes(b).replace(old, new))
    elif cmd == "debug-offsets":
        at, found = 0, 0
        while True:
            at = bytes(b).find(b"xdebugpy", at)
            if at < 0:
                break
            (version,) = struct.unpack_from("<Q", b, at + 8)
            if version >> 24 == 3:
                struct.pack_into("<Q", b, at + 16, int(argv[4], 0))
                found += 1
            at += 8
        if not found:
            sys.exit("debug-offsets: no _Py_DebugOffsets in " + src)
    elif cmd == "damage-dwarf":
        _, shoff, _, _, shentsize, shnum = ehdr(b)
        (shstrndx,) = struct.unpack_from("<H", b, 0x3E)
        sh = [struct.unpack_from("<IIQQQQIIQQ", b, shoff + i * shentsize)
              for i in range(shnum)]
        strtab = sh[shstrndx][4]
        info = None
        for s_ in sh:
            name = bytes(b[strtab + s_[0]:strtab + s_[0] + 12])
            if name.startswith(b".debug_info\0"):
                info = s_
        if info is None:
            sys.exit("damage-dwarf: no .debug_info in " + src)
        units, off, end = [], info[4], info[4] + info[5]
        while off + 6 < end:
            (length,) = struct.unpack_from("<I", b, off)
            hdr = 4
            if length == 0xFFFFFFFF:
                (length,) = struct.unpack_from("<Q", b, off + 4)
                hdr = 12
            units.append(off + hdr)
            off += hdr + length
        struct.pack_into("<H", b, units[len(units) // 2], 99)
    elif cmd == "link-map-loop":
        loads = [ph for ph in phdrs(b) if ph[0] == 1 and ph[5]]

        def vaddr(off):
            for ph in loads:
                if ph[2] <= off < ph[2] + ph[5]:
                    return ph[3] + off - ph[2]
            return None

        def offset(addr):
            for ph in loads:
                if ph[3] <= addr < ph[3] + ph[5]:
                    return ph[2] + addr - ph[3]
            return None

        name = argv[4].encode() + b"\0"
        done, at = False, 0
        while not done:
            at = bytes(b).find(name, at)
            if at < 0:
                break
            addr = vaddr(at)
            at += 1
            if addr is None or bytes(b[at - 2:at - 1]) not in (b"\0", b""):
                continue
            ptr = struct.pack("<Q", addr)
            p = 0
            while True:
                p = bytes(b).find(ptr, p)
                if p < 0:
                    break
                entry = vaddr(p - 8) if p >= 8 else None
                if entry is not None and p % 8 == 0 and offset(entry + 24):
                    struct.pack_into("<Q", b, offset(entry + 24), entry)
                    done = True
                p += 8
        if not done:
            sys.exit("link-map-loop: no link map entry for " + argv[4])
    elif cmd == "grow":
        phoff, _, phentsize, phnum, _, _ = ehdr(b)
        last = max(i for i, ph in enumerate(phdrs(b)) if ph[0] == 1)
        at = phoff + last * phentsize
        struct.pack_into("<QQ", b, at + 0x20, int(argv[4], 0), int(argv[4], 0))
    elif cmd == "no-build-id":
        for off, ntype in notes(b):
            if ntype == NT_GNU_BUILD_ID:
                struct.pack_into("<I", b, off, 0x7F000003)
    else:
        sys.exit("unknown command " + cmd)
    with open(dst, "wb") as f:
        f.write(b)


if __name__ == "__main__":
    main(sys.argv)
