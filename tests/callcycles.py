#!/usr/bin/env python3
"""callcycles.py - no two product files call each other (issue 12).

For every product unit (libkvkit, the kvkit tool, each plugin) this reads
which objects the build links into it - the am_<target>_OBJECTS lists of the
generated Makefiles under lib/, tools/ and plugins/ - and asks nm what each
object defines and what it needs.  A needed symbol that another object of the
same unit defines as a function is an edge from one source file to the other.
nm is exact for every call that can cross files: a static function is local
to its file, and a unit resolves nothing from another unit but through a
public API that never calls back (plugins do not link libkvkit).

Prints the file-level graph (each file, the files it calls and through which
functions), then fails naming every loop: two files calling each other, or a
longer ring.

Usage: callcycles.py [TOP_BUILDDIR [DIR...]]
TOP_BUILDDIR defaults to $top_builddir, else .. (where `make check` runs
it: in tests/ of the build tree); the DIRs, to lib tools plugins.
"""
import os
import re
import shlex
import subprocess
import sys

PRODUCT_DIRS = ("lib", "tools", "plugins")


def makefiles(top, dirs):
    for d in dirs:
        for root, dirs, files in os.walk(os.path.join(top, d)):
            dirs[:] = sorted(x for x in dirs if not x.startswith("."))
            if "Makefile" in files:
                yield root


def variables(path):
    """The plain assignments of a generated Makefile, continuations joined."""
    text = open(path, encoding="utf-8", errors="replace").read()
    text = text.replace("\\\n", " ")
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def expand(value, env, depth=0):
    if depth > 20:
        return value
    return re.sub(r"\$\((\w+)\)",
                  lambda m: expand(env.get(m.group(1), ""), env, depth + 1),
                  value)


def units(top, dirs):
    """{unit name: [(source file relative to the tree, object path)]}"""
    found = {}
    for mdir in makefiles(top, dirs):
        env = variables(os.path.join(mdir, "Makefile"))
        env["OBJEXT"] = "o"
        rel = os.path.relpath(mdir, top)
        for var, value in env.items():
            m = re.match(r"^am_(\w+)_OBJECTS$", var)
            if not m:
                continue
            target = m.group(1)
            members = []
            for tok in expand(value, env).split():
                odir, base = os.path.split(tok)
                stem, ext = os.path.splitext(base)
                if stem.startswith(target + "-"):
                    stem = stem[len(target) + 1:]
                src = os.path.normpath(os.path.join(rel, odir, stem + ".c"))
                obj = os.path.join(mdir, tok)
                if ext == ".lo":
                    obj = libtool_object(obj)
                members.append((src, obj))
            if members:
                found[rel + ":" + target] = members
    return found


def libtool_object(lo):
    """The object a libtool .lo names (the PIC one when there are two), or
    the .lo itself when it is not built."""
    fields = {}
    if not os.path.exists(lo):
        return lo
    with open(lo, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^(\w+)='?([^']*)'?$", line.strip())
            if m:
                fields[m.group(1)] = m.group(2)
    for key in ("pic_object", "non_pic_object"):
        if fields.get(key, "none") != "none":
            return os.path.join(os.path.dirname(lo), fields[key])
    raise SystemExit("callcycles: %s names no object" % lo)


def symbols(obj, nm):
    """(functions defined with external linkage, symbols needed)"""
    out = subprocess.run(shlex.split(nm) + [obj], check=True, capture_output=True,
                         text=True).stdout
    defined, needed = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        kind, name = parts[-2], parts[-1]
        if kind in ("T", "W", "i"):
            defined.add(name)
        elif kind == "U":
            needed.add(name)
    return defined, needed


def graph(top, dirs, nm):
    edges = {}  # file -> {file: set of functions}
    all_units = units(top, dirs)
    if not all_units:
        raise SystemExit("callcycles: no product objects under %s "
                         "(build the tree first)" % top)
    for unit, members in sorted(all_units.items()):
        built = [os.path.exists(obj) for src, obj in members]
        if not any(built):
            # a plugin this configuration does not build (its engine's
            # library is missing): nothing of it is linked either
            print("note: %s is not built here, not checked" % unit)
            continue
        owner, needs = {}, {}
        for src, obj in members:
            if not os.path.exists(obj):
                raise SystemExit("callcycles: %s (of %s) is not built"
                                 % (obj, src))
            defined, needed = symbols(obj, nm)
            for fn in defined:
                owner[fn] = src
            needs[src] = needed
            edges.setdefault(src, {})
        for src, needed in needs.items():
            for fn in needed:
                dst = owner.get(fn)
                if dst is not None and dst != src:
                    edges[src].setdefault(dst, set()).add(fn)
    return edges


def components(edges):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def ring(edges, comp):
    """One loop through the component's first file, as a list of files."""
    start, members = comp[0], set(comp)
    prev, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges.get(v, ())):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w in members and w not in prev:
                prev[w] = v
                queue.append(w)
    return comp


def main():
    top = (sys.argv[1] if len(sys.argv) > 1
           else os.environ.get("top_builddir") or "..")
    dirs = sys.argv[2:] or PRODUCT_DIRS
    nm = os.environ.get("NM") or "nm"
    edges = graph(top, dirs, nm)

    print("File-level calls of the product code (file -> files it calls):")
    for src in sorted(edges):
        print(src)
        for dst in sorted(edges[src]):
            print("    -> %s (%s)" % (dst, ", ".join(sorted(edges[src][dst]))))

    comps = components(edges)
    if not comps:
        print("PASS: no two product files call each other")
        return 0
    for comp in comps:
        loop = ring(edges, comp)
        print("FAIL: files call each other: %s" % " -> ".join(loop))
        for a, b in zip(loop, loop[1:]):
            print("    %s -> %s: %s" % (a, b, ", ".join(sorted(edges[a][b]))))
        if len(comp) > len(loop) - 1:
            print("    (one loop of a knot of %d files: %s)"
                  % (len(comp), ", ".join(comp)))
    return 1


if __name__ == "__main__":
    sys.exit(main())
