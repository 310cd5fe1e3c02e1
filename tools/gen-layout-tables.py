#!/usr/bin/env python3
"""Regenerate src/cpython/layout_tables.c, the struct layouts pycorecheck
uses when a core's interpreter has no DWARF.

  tools/gen-layout-tables.py [--python PYTHON]... [--headers VERSION INCLUDE_ROOT BASE]...

--python: an interpreter whose DWARF is available (in the executable, in its
  libpython, or in a separate debug file under /usr/lib/debug/.build-id).
--headers: a version known only by its headers (e.g. Debian sid's
  libpython3.14-dev, unpacked): tools/layout-probe.c is compiled against
  INCLUDE_ROOT (the directory holding pythonX.Y/) and its DWARF read; what
  the headers do not declare is taken from the --python entry of version
  BASE (e.g. 3.13.0).

Run from a built tree (uses tools/layout-dump).  Writes the C file to stdout.
"""
import argparse
import os
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DUMP = os.environ.get("LAYOUT_DUMP", os.path.join(TOP, "tools", "layout-dump"))


def dump(path, extensions=()):
    r = subprocess.run([DUMP, path] + list(extensions), capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def build_id(path):
    r = subprocess.run(["readelf", "-n", path], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        if "Build ID" in line:
            return line.split()[-1]
    return None


def with_dwarf(path):
    """The file holding path's DWARF: its separate debug file, or itself."""
    bid = build_id(path)
    if bid:
        c = "/usr/lib/debug/.build-id/%s/%s.debug" % (bid[:2], bid[2:])
        if os.path.exists(c):
            return c
    return path


# Extension modules whose structs the layout names.  2.7 builds them as
# files in lib-dynload (3.x links them into libpython); pycorecheck reads
# their DWARF after the interpreter's when they are loaded, and so does
# the table.
EXTENSIONS = ("_io", "_collections", "_functools")


def python_entry(py):
    info = subprocess.run(
        [py, "-E", "-S", "-c",
         "import sys, sysconfig, os\n"
         "print('%d %d %d' % sys.version_info[:3])\n"
         "print(int(hasattr(sys, 'gettotalrefcount')))\n"
         "d = sysconfig.get_config_var('LIBDIR') or ''\n"
         "n = sysconfig.get_config_var('INSTSONAME') or ''\n"
         "p = os.path.join(d, n)\n"
         "print(p if n and os.path.exists(p) and sysconfig.get_config_var('Py_ENABLE_SHARED') else '')\n"
         "for m in " + repr(EXTENSIONS) + ":\n"
         "    print(getattr(__import__(m), '__file__', '') or '')\n"],
        capture_output=True, text=True, check=True).stdout.splitlines()
    version = tuple(int(x) for x in info[0].split())
    debug = info[1] == "1"
    extensions = [with_dwarf(f) for f in info[3:] if f.endswith(".so")]
    for f in [os.path.realpath(py)] + ([info[2]] if info[2] else []):
        bid = build_id(f)
        cands = []
        if bid:
            cands.append("/usr/lib/debug/.build-id/%s/%s.debug" % (bid[:2], bid[2:]))
        cands.append(f)
        for c in cands:
            if os.path.exists(c):
                # The interpreter's own DWARF must describe PyObject:
                # an executable linked to libpython has only main().
                text = dump(c) and dump(c, extensions)
                if text:
                    src = "%s (%s)" % (py, " + ".join(os.path.basename(x) for x in [c] + extensions))
                    # A Py_TRACE_REFS build (_ob_next/_ob_prev before
                    # ob_refcnt) says so, for the report's layout source;
                    # pycorecheck tells such cores apart by the layout.
                    if "OB_NEXT" in parse(text):
                        src += ", Py_TRACE_REFS"
                    return version, debug, src, text
    sys.exit("gen-layout-tables: no DWARF for %s" % py)


def parse(text):
    fields = {}
    for tok in text.split():
        k, v = tok.split("=", 1)
        fields[k] = v
    return fields


def headers_entry(version, root, base):
    major, minor = version[0], version[1]
    inc = os.path.join(root, "python%d.%d" % (major, minor))
    with tempfile.TemporaryDirectory() as tmp:
        so = os.path.join(tmp, "probe.so")
        subprocess.run(["gcc", "-g", "-shared", "-fPIC", "-fno-eliminate-unused-debug-types",
                        "-o", so, os.path.join(TOP, "tools", "layout-probe.c"),
                        "-I" + root, "-I" + inc, "-I" + os.path.join(inc, "internal")],
                       check=True)
        text = dump(so)
    if not text:
        sys.exit("gen-layout-tables: the probe for %s has no layout" % inc)
    merged = dict(parse(base[3]))
    probe = parse(text)
    # Whole structs the headers declare replace the base's: a member the
    # headers' struct lacks must not survive from the base.
    declared = set(k.split("_")[0] for k in probe)
    for k in list(merged):
        if not k.startswith("@") and k.split("_")[0] in declared and k not in probe:
            del merged[k]
    merged.update(probe)
    text = " ".join("%s=%s" % kv for kv in merged.items())
    src = "headers of %d.%d.%d in %s, private structs of %d.%d.%d" % (
        version + (root,) + base[0])
    return version, False, src, text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", action="append", default=[])
    ap.add_argument("--headers", nargs=3, action="append", default=[],
                    metavar=("VERSION", "INCLUDE_ROOT", "BASE"))
    a = ap.parse_args()
    entries = [python_entry(p) for p in a.python]
    for ver, root, base in a.headers:
        v = tuple(int(x) for x in ver.split("."))
        b = [e for e in entries if ".".join(map(str, e[0])) == base]
        if not b:
            sys.exit("gen-layout-tables: no --python entry of version %s" % base)
        entries.append(headers_entry(v, root, b[0]))
    out = sys.stdout
    out.write("/* SPDX-License-Identifier: MIT */\n/*\n"
              " * Generated by tools/gen-layout-tables.py: struct layouts read from the\n"
              " * DWARF of the interpreters (or header probes) named in each entry.\n"
              " * Used, after checking them against the core, when the core's\n"
              " * interpreter has no debug info.\n */\n"
              "#include \"config.h\"\n\n#include \"layout_tables.h\"\n\n"
              "const struct pcc_builtin_layout pcc_builtin_layouts[] = {\n")
    for (v, debug, src, text) in entries:
        out.write("\t{ %d, %d, %d, %s,\n\t  \"%s\",\n\t  \"%s\" },\n" % (
            v[0], v[1], v[2], "true" if debug else "false", src, text))
    out.write("};\n\nconst size_t pcc_builtin_layouts_count =\n"
              "\tsizeof(pcc_builtin_layouts) / sizeof(pcc_builtin_layouts[0]);\n")


main()
