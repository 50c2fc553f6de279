#!/usr/bin/env python3
"""
The man pages against the code.

santa.conf(5) documents exactly the keys, sections and static-rule keys the
parser accepts (lib/common/config.c), each with the type and range of its
table entry, the default santa_config_init() sets, and how a change applies
(a key santad warns needs a restart says so; a key nothing reads says it has
no effect, and only such a key says so). The real santad accepts every
documented name and prints the documented defaults. santad(8) documents
exactly the options `santad --help` lists. Every page renders with man and
groff without a single warning.

usage: man_pages.py SANTAD SOURCE_DIR
"""
import os
import re
import subprocess
import sys
import tempfile

santad, src = sys.argv[1], sys.argv[2]
conf_page = os.path.join(src, "packaging/man/santa.conf.5")
santad_page = os.path.join(src, "packaging/man/santad.8")
pages = [conf_page, santad_page, os.path.join(src, "packaging/man/santactl.8")]
config_c = open(os.path.join(src, "lib/common/config.c")).read()
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("not ok - " + msg)


def ok(msg):
    print("ok - " + msg)


def plain(roff):
    """A line of roff as the reader sees it (fonts, escapes and the macro itself gone)."""
    s = re.sub(r"^\.[A-Z]+ ?", "", roff)
    s = re.sub(r"\\f[BIRP]", "", s)
    s = s.replace("\\-", "-").replace("\\(em", "-").replace("\\~", " ").replace("\\&", "")
    return s.replace('"', "")


def c_string(text):
    """Adjacent C string literals joined."""
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', text))


# ---- What the parser accepts (the key table is the single source) ----
table = re.search(r"static const struct key_def keys\[\] = \{(.*?)\n\};", config_c, re.S).group(1)
table = re.sub(r"/\*.*?\*/", "", table, flags=re.S)
entries = []  # (name, kind, field, min, max, replacement)
for m in re.finditer(r'(?:([A-Z]+)\(|\{ )"(\w+)"(.*?)(?:\)|\}),?\s*$', table, re.M | re.S):
    macro, name, rest = m.group(1), m.group(2), m.group(3)
    args = [a.strip() for a in rest.split(",")]
    if macro is None:  # { "Name", KEY_TYPE, F(field), min, max, flags, replacement }
        kind = "OLD" if "KEY_FLAG_DEPRECATED" in rest else args[1]
        field = re.search(r"F\((\w+)\)", rest).group(1)
        repl = c_string(rest.split("KEY_FLAG")[-1]) if kind == "OLD" else None
        entries.append((name, kind, field, None, None, repl))
    elif macro == "OLD":
        entries.append((name, "OLD", args[2], None, None, c_string(args[3])))
    elif macro == "INT":
        entries.append((name, "INT", args[1], int(args[2]), int(args[3]), None))
    elif macro == "MACOS":
        entries.append((name, "MACOS", None, None, None, None))
    elif macro == "INERT":  # INERT(name, KEY_TYPE, field, why): accepted, warns, does nothing
        kind = {"KEY_BOOL": "BOOL", "KEY_STRING": "STR", "KEY_URL": "URL"}[args[1]]
        entries.append((name, kind, args[2], None, None, None))
    else:
        entries.append((name, macro, args[1], None, None, None))
# Every entry of the table must have been read: count its opening lines independently.
openings = len(re.findall(r'^\s*(?:[A-Z]+\(|\{ )"', table, re.M))
if len(entries) != openings or len(entries) < 50:
    fail(f"read {len(entries)} keys from the key table but it has {openings} entries")
parser_keys = {e[0] for e in entries}
parser_sections = set(re.findall(r'strcmp\(section, "(\w+)"\)', config_c))
prefix = re.search(r'#define STATIC_RULE_PREFIX "(\w+):"', config_c).group(1)
parser_sections.add(prefix + ":NAME")
parser_rule_keys = set(re.findall(r'strcmp\(name, "(\w+)"\)', config_c))

# ---- What santa.conf(5) documents ----
lines = open(conf_page).read().split("\n")
start = lines.index(".SH KEYS")
end = lines.index(".SH FILES")
doc = {}  # name -> the line after it (type, default, reload)
macos_doc = set()
in_macos = False
for i in range(start, end):
    line = lines[i]
    if line.startswith('.\\" macos-keys-begin'):
        in_macos = True
    elif line.startswith('.\\" macos-keys-end'):
        in_macos = False
    elif in_macos:
        m = re.match(r"\.BR? (\w+)", line)
        if m:
            macos_doc.add(m.group(1))
    elif line == ".TP" and lines[i + 1].startswith(".B "):
        name = lines[i + 1][3:].strip()
        if name in doc:
            fail(f"santa.conf(5) documents {name} twice")
        doc[name] = plain(lines[i + 2])
doc_keys = {n for n in doc if re.fullmatch(r"[A-Z]\w+", n)} | macos_doc
doc_sections = {n[1:-1] for n in doc if n.startswith("[")}
doc_rule_keys = {n for n in doc if re.fullmatch(r"[a-z_0-9]+", n)}


def compare(what, accepted, documented):
    for k in sorted(accepted - documented):
        fail(f"santa.conf(5) does not document the {what} {k}")
    for k in sorted(documented - accepted):
        fail(f"santa.conf(5) documents the {what} {k}, which the parser does not know")
    if accepted == documented:
        ok(f"santa.conf(5) documents exactly the {len(accepted)} {what}s the parser accepts")


compare("key", parser_keys, doc_keys)
compare("section", parser_sections, doc_sections)
compare("static-rule key", parser_rule_keys, doc_rule_keys)

# ---- Each entry: type, range, default, how it applies ----
init = config_c[config_c.index("santa_config_init(struct santa_config *cfg"):]
init = init[: init.index("\n}\n")]
defaults = {}
for field, val in re.findall(r"cfg->(\w+) = ([\w]+);", init):
    defaults[field] = {"true": "true", "false": "false"}.get(val, val if val.isdigit() else None)
for field, lits in re.findall(r"\{ F\((\w+)\), ((?:\s*\"(?:[^\"\\]|\\.)*\"\s*)+)\}", init):
    defaults[field] = c_string(lits)
for field, lit in re.findall(r"set_string\(&cfg->(\w+), \"([^\"]*)\"\)", init):
    defaults[field] = lit
for field, lit in re.findall(r"parse_strv\(&cfg->(\w+),\s*\"([^\"]*)\"\)", init):
    defaults[field] = lit
restart_fields = set(re.findall(r"o->(\w+)",
                                open(os.path.join(src, "src/santad/main.c")).read()
                                .split("warn_restart_only(struct santad *d")[1].split("\n}\n")[0]))
users = ""
for top in ("src", "lib"):
    for root, _, files in os.walk(os.path.join(src, top)):
        for f in files:
            path = os.path.join(root, f)
            # The parser and santad's settings types carry every key; neither uses one.
            if f.endswith((".c", ".h")) and not path.endswith(
                    ("lib/common/config.c", "src/santad/settings.c", "src/santad/settings.h")):
                users += open(path, errors="replace").read()
type_words = {"BOOL": "boolean", "INT": "integer", "STR": "string", "PATH": "path",
              "REGEX": "regular expression", "URL": "URL", "STRV": "list",
              "KEY_MODE": "mode", "KEY_LOG_TYPE": "one of", "KEY_ENCODING": "one of",
              "KEY_MARK_TYPE": "one of"}
checked = 0
for name, kind, field, lo, hi, repl in entries:
    if kind == "MACOS":
        if name not in macos_doc:
            fail(f"{name} is macOS-only in the parser but not listed as such")
        continue
    spec = doc.get(name)
    if spec is None:
        continue  # reported above
    if kind == "OLD":
        if not spec.startswith(f"Deprecated name of {repl} "):
            fail(f"{name}: should begin 'Deprecated name of {repl}', is: {spec}")
        continue
    checked += 1
    if not spec.startswith("Type " + type_words[kind]):
        fail(f"{name}: should begin 'Type {type_words[kind]}', is: {spec}")
    if kind == "INT" and f"{lo} to {hi}" not in spec:
        fail(f"{name}: the range {lo} to {hi} is not given: {spec}")
    want = defaults.get(field)
    if field in defaults and want is None:
        pass  # an enum default: checked against santad --check-config below
    elif want is None:
        want = {"BOOL": "false", "INT": "0", "KEY_MARK_TYPE": "filesystem"}.get(kind, "none")
        if not re.search(r"; default " + re.escape(want) + r"\b", spec):
            fail(f"{name}: the default is {want}, the page says: {spec}")
    elif kind == "STRV":
        if re.sub(r",\s+", ",", want) not in re.sub(r",\s+", ",", spec):
            fail(f"{name}: the default is {want}, the page says: {spec}")
    elif f"; default {want}" not in spec:
        fail(f"{name}: the default is {want}, the page says: {spec}")
    applies = re.search(r"SIGHUP|restart|no effect", spec)
    if not applies:
        fail(f"{name}: does not say whether SIGHUP applies it: {spec}")
    if field in restart_fields and "restart" not in spec:
        fail(f"{name}: santad warns on SIGHUP that it needs a restart, the page does not say so")
    unused = not re.search(r"\b" + field + r"\b", users)
    if unused and "no effect" not in spec:
        fail(f"{name}: nothing reads it, yet the page does not say it has no effect")
    if not unused and "no effect" in spec:
        fail(f"{name}: the page says it has no effect, but {field} is used")
ok(f"{checked} key entries checked for type, range, default and reload")
for name in sorted(parser_rule_keys | {"[" + s + "]" for s in parser_sections}):
    spec = doc.get(name, "")
    if not re.match(r"(Type |Deprecated name of )", spec):
        fail(f"{name}: the line after its name should give its type: {spec}")

# ---- The real santad: documented names are known, documented defaults are its defaults ----
with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
    f.write("".join(f"{k} = x\n" for k in sorted(doc_keys)))
    for s in sorted(doc_sections):
        f.write(f"[{s.replace(':NAME', ':t')}]\n")
        if s.startswith(prefix):
            f.write("".join(f"{k} = x\n" for k in sorted(doc_rule_keys)))
        else:
            f.write("a = b\n")
    f.flush()
    r = subprocess.run([santad, "--check-config", "--config", f.name], capture_output=True,
                       text=True, timeout=30)
unknown = [l for l in r.stderr.splitlines() if "unknown" in l]
for l in unknown:
    fail("santad does not know a documented name: " + l)
if r.returncode != 1 or "expected a boolean" not in r.stderr:
    fail(f"santad --check-config did not read the documented keys (status {r.returncode})")
elif not unknown:
    ok(f"santad knows all {len(doc_keys) + len(doc_sections) + len(doc_rule_keys)} documented names")
# An empty configuration of root's, writable by no one else (santad refuses any other).
with tempfile.NamedTemporaryFile("w", suffix=".conf") as empty:
    os.chmod(empty.name, 0o600)
    r = subprocess.run([santad, "--check-config", "--config", empty.name], capture_output=True,
                       text=True, timeout=30)
shown = 0
for key, val in re.findall(r"^(\w+) += (.+)$", r.stdout, re.M):
    if key not in doc or key == "WatchPaths":  # WatchPaths, StaticRules: counts
        continue
    shown += 1
    if ("; default " + val.lower()) not in doc[key].lower():
        fail(f"{key}: santad's default is {val}, the page says: {doc[key]}")
if shown < 10:
    fail(f"santad --check-config showed only {shown} documented defaults: {r.stdout}")
else:
    ok(f"{shown} defaults as santad --check-config prints them")

# ---- santad(8): exactly the options of santad --help ----
r = subprocess.run([santad, "--help"], capture_output=True, text=True, timeout=30)
help_opts = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-[a-zA-Z])\b", r.stdout))
page = open(santad_page).read()
opt_section = page.split(".SH OPTIONS")[1].split(".SH ")[0]
page_opts = {o.replace("\\-", "-") for o in re.findall(r"(?<![\w\\-])((?:\\-){1,2}[a-zA-Z][a-z\\-]*)", opt_section)}
page_opts = {re.sub(r"-$", "", o) for o in page_opts}
for o in sorted(help_opts - page_opts):
    fail(f"santad(8) does not document {o}")
for o in sorted(page_opts - help_opts):
    fail(f"santad(8) documents {o}, which santad --help does not list")
if help_opts == page_opts and len(help_opts) >= 8:
    ok(f"santad(8) documents exactly the {len(help_opts)} options of santad --help")
elif help_opts == page_opts:
    fail(f"read only {sorted(help_opts)} from santad --help")

# ---- Every page renders without a warning ----
env = dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="", MANWIDTH="80")
for p in pages:
    name = os.path.basename(p)
    out = subprocess.run(["man", "--warnings=w", "-E", "UTF-8", "-l", p], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60)
    grf = subprocess.run(["groff", "-man", "-ww", "-z", p], env=dict(os.environ, LC_ALL="C"),
                         capture_output=True, text=True, timeout=60)
    if out.returncode or out.stderr or grf.returncode or grf.stderr:
        fail(f"{name} renders with warnings: {out.stderr}{grf.stderr}")
    else:
        ok(f"{name} renders without warnings (man --warnings=w, groff -ww)")

sys.exit(1 if failures else 0)
