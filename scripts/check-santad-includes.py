#!/usr/bin/env python3
"""santad's include graph: fails when santad's own headers include each other in a cycle.

Also fails when a restart-only setting (a field of struct santad_start_settings,
settings.h) is also a field of struct santad_live_settings, the policy's
configuration (but the two that are both): the compiler then refuses a
restart-only setting read from a policy, so that a reload cannot seem to apply it.

Also reports (without failing) what a reader of the split wants to know:
  - each header's owners: the .c files defining the functions it declares
    (a module header has one; santad.h, the shared one, should have few);
  - the "import circle": .c files that depend on each other through headers
    (A includes a header declaring B's functions and B one declaring A's),
    as strongly connected components of that graph, and the largest one's
    size as one number ("import circle size: N without main.c, M with it");
  - for each .c, its santad headers and how many of santad.h's names it uses.

Usage: check-santad-includes.py [SRC_DIR] [--quiet]   (SRC_DIR: src/santad)
       check-santad-includes.py --self-test   (a made-up cycle must fail)
Needs universal-ctags (Debian: universal-ctags). Exit 0 ok, 1 cycle, 77 no ctags.
"""
import os
import re
import shutil
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
# Restart-only fields a policy also holds: turning EnableKernelIgnoreMarks off is live,
# and each helper is started from the live HelperDirectory (settings.h says why).
LIVE_TOO = {'enable_kernel_ignore_marks', 'helper_directory'}
START_STRUCT = re.compile(r'struct santad_start_settings \{(.*?)\n\};', re.S)
LIVE_STRUCT = re.compile(r'struct santad_live_settings \{(.*?)\n\};', re.S)
FIELD = re.compile(r'(\w+)\s*;')
IDENT = re.compile(r'[A-Za-z_]\w*')
COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)


def ctags(path, kinds):
    out = subprocess.run(['ctags', '-x', '--language-force=C', '--c-kinds=' + kinds, path],
                         check=True, capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def sccs(nodes, edges):
    """Tarjan's strongly connected components."""
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
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def self_test():
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for name, body in (('a.h', '#include "b.h"\nvoid a(void);\n'),
                           ('b.h', '#include "a.h"\nvoid b(void);\n'),
                           ('a.c', '#include "a.h"\nvoid a(void) {}\n')):
            with open(os.path.join(tmp, name), 'w') as fh:
                fh.write(body)
        r = subprocess.run([sys.executable, __file__, tmp, '--quiet'], capture_output=True, text=True)
        if r.returncode != 1 or 'a.h b.h' not in r.stdout:
            print('self-test: a cycle a.h <-> b.h was not reported (rc %d): %s' % (r.returncode, r.stdout))
            return 1
        os.unlink(os.path.join(tmp, 'b.h'))
        with open(os.path.join(tmp, 'a.h'), 'w') as fh:
            fh.write('struct santad_start_settings {\n\tconst char *rules_db_path; /* x */\n'
                     '\tconst char *helper_directory;\n};\n'
                     'struct santad_live_settings {\n\tbool fail_closed;\n'
                     '\tconst char *rules_db_path;\n\tconst char *helper_directory;\n};\n')
        r = subprocess.run([sys.executable, __file__, tmp, '--quiet'], capture_output=True, text=True)
        if r.returncode != 1 or 'live settings: rules_db_path' not in r.stdout \
                or 'helper_directory' in r.stdout:
            print('self-test: a restart-only setting among the live ones was not reported (rc %d): %s' %
                  (r.returncode, r.stdout))
            return 1
    return 0


def main():
    if '--self-test' in sys.argv:
        if not shutil.which('ctags'):
            return 77
        return self_test()
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    quiet = '--quiet' in sys.argv
    src = args[0] if args else os.path.join(os.path.dirname(__file__), '..', 'src', 'santad')
    if not shutil.which('ctags'):
        print('check-santad-includes: ctags not found (universal-ctags)')
        return 77
    names = sorted(f for f in os.listdir(src) if f.endswith(('.c', '.h')) and '.skel.' not in f)
    headers = [f for f in names if f.endswith('.h')]
    sources = [f for f in names if f.endswith('.c')]
    text = {}
    for f in names:
        with open(os.path.join(src, f)) as fh:
            text[f] = fh.read()
    includes = {f: [i for i in INCLUDE.findall(text[f]) if i in headers] for f in names}

    # Header cycles: the failure.
    hedges = {h: set(includes[h]) for h in headers}
    cycles = [c for c in sccs(headers, hedges) if len(c) > 1 or c[0] in hedges[c[0]]]

    defined = {c: ctags(os.path.join(src, c), 'f') for c in sources}
    declared = {h: ctags(os.path.join(src, h), 'p') for h in headers}
    owners = {h: sorted(c for c in sources if defined[c] & declared[h]) for h in headers}

    def closure(f):
        seen, todo = set(), list(includes[f])
        while todo:
            h = todo.pop()
            if h not in seen:
                seen.add(h)
                todo.extend(includes[h])
        return seen

    medges = {c: {o for h in closure(c) for o in owners[h] if o != c} for c in sources}
    circles = [c for c in sccs(sources, medges) if len(c) > 1]

    shared = 'santad.h'
    shared_names = set()
    if shared in headers:
        shared_names = (declared[shared] | ctags(os.path.join(src, shared), 'dgestu')) - {'SANTAD_H'}

    if not quiet:
        print('santad.h: %d lines, declares functions of %d .c files' %
              (text.get(shared, '').count('\n'), len(owners.get(shared, []))))
        print('headers and their owners (the .c files defining what they declare):')
        for h in headers:
            print('  %-18s %4d lines  %s' % (h, text[h].count('\n'), ' '.join(owners[h]) or '-'))
        print('each .c: its santad headers (transitively); santad.h names used / declared:')
        for c in sources:
            ids = set(IDENT.findall(COMMENT.sub(' ', text[c])))
            used = len(ids & shared_names) if shared in closure(c) else 0
            print('  %-18s %3d/%d  %s' % (c, used, len(shared_names), ' '.join(sorted(closure(c)))))
        if circles:
            for c in circles:
                print('import circle (%d files depend on each other through headers): %s' %
                      (len(c), ' '.join(c)))
        else:
            print('import circle: none')
        # main.c starts every module, so anything that calls back into it
        # (a reload, a test hook) joins everything: the circle among the modules themselves.
        rest = [c for c in sources if c != 'main.c']
        inner = [c for c in sccs(rest, {c: medges[c] - {'main.c'} for c in rest}) if len(c) > 1]
        for c in inner:
            print('  without main.c: %d files: %s' % (len(c), ' '.join(c)))
        # One number to follow from commit to commit: the largest circle's files.
        print('import circle size: %d without main.c, %d with it' %
              (max((len(c) for c in inner), default=0), max((len(c) for c in circles), default=0)))
    restart_only, live = set(), set()
    for h in headers:
        body = COMMENT.sub(' ', text[h])
        m = START_STRUCT.search(body)
        if m:
            restart_only |= set(FIELD.findall(m.group(1))) - LIVE_TOO
        m = LIVE_STRUCT.search(body)
        if m:
            live |= set(FIELD.findall(m.group(1)))
    misplaced = sorted(restart_only & live)
    if not quiet:
        print('restart-only settings (settings.h): %d, also live: %d' %
              (len(restart_only), len(misplaced)))
    for f in misplaced:
        print('FAIL: a restart-only setting among the live settings: %s (a policy would hold it)' % f)
    if cycles:
        for c in cycles:
            print('FAIL: santad headers include each other in a cycle: %s' % ' '.join(c))
        return 1
    print('header cycles: none')
    return 1 if misplaced else 0


if __name__ == '__main__':
    sys.exit(main())
