#!/usr/bin/env bash
# Decision latency while a million-rule clean sync is applied (issue 22).
# santad in LOCKDOWN on a private tmpfs, rules.db holding RULES rules. A timer
# (fork + execve + wait in C) execs, back to back, one program santad has
# cached (another user's copy: no kernel ignore mark, santad answers) and,
# every FIRST_EVERY execs, a program never seen (a fresh copy with bytes of
# its own: hashed, looked up in rules.db, decided), and records each exec's
# start and duration. Two phases on one santad:
#   idle  IDLE_SECONDS of the storm alone
#   sync  the storm while SYNCS clean imports of RULES rules are applied
#         back to back (`santactl rule --import --clean`: the request and
#         code path of a CLEAN sync, SANTAD_RULE_IMPORT with sync_type CLEAN,
#         without the sync service's HTTP); two rule sets alternate, so each
#         import deletes and writes a million rules.
# "during santactl" counts the execs that started during a santactl call
# (its own parsing of the JSON included, when santad is idle); "during the
# write" those that started while santad applied the batch: santactl's end
# minus santad's own time for it (its log line; a santad older than the rule
# writer does not say, and gets the first window only).
# Prints p50 / p99 / p99.9 / max per kind and phase, ratios to idle, and the
# TIMEOUT lines. Nothing is asserted.
# usage: bench/sync_latency.sh SANTAD [SANTACTL]   (as root; Release build)
#   env: RULES=1000000 SYNCS=3 IDLE_SECONDS=20 FIRST_EVERY=10 FRESH=6000
set -euo pipefail
santad=$(realpath "$1")
santactl=$(realpath "${2:-$(dirname "$santad")/../santactl/santactl}")
rules_bench=$(realpath "$(dirname "$santad")/../../bench/rules_bench")
n_rules=${RULES:-1000000}
n_syncs=${SYNCS:-3}
idle_secs=${IDLE_SECONDS:-20}
first_every=${FIRST_EVERY:-10}
n_fresh=${FRESH:-6000}

here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/lib/private_tmpfs.sh" "$@"
source "$here/../tests/lib/wait.sh"
chmod 0755 "$work"
mnt=$work/mnt

# ---- the timer: "kind start_us duration_us status" per exec, until told to stop ----
cat > "$work/storm.c" <<'EOC'
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
/* storm CACHED FRESHDIR NFRESH EVERY SECONDS|0: until SIGTERM (0) or SECONDS pass. */
static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }
static long long usec(void) { struct timespec t; clock_gettime(CLOCK_REALTIME, &t); return t.tv_sec * 1000000LL + t.tv_nsec / 1000; }
int main(int argc, char **argv) {
	if (argc != 6) return 2;
	int n_fresh = atoi(argv[3]), every = atoi(argv[4]), fresh = 0, st;
	long long end = atof(argv[5]) > 0 ? usec() + (long long)(atof(argv[5]) * 1e6) : 0;
	char path[4096];
	signal(SIGTERM, on_term);
	for (long i = 0; !stop && (!end || usec() < end); i++) {
		const char *kind = "cached", *prog = argv[1];
		if (i % every == every - 1 && fresh < n_fresh) {
			snprintf(path, sizeof(path), "%s/f%d", argv[2], fresh++);
			kind = "first";
			prog = path;
		}
		char *args[] = { (char *)prog, NULL };
		long long a = usec();
		pid_t p = fork();
		if (p == 0) { execv(prog, args); _exit(127); }
		while (waitpid(p, &st, 0) < 0)
			;
		printf("%s %lld %lld %d\n", kind, a, usec() - a, WIFEXITED(st) ? WEXITSTATUS(st) : 128);
	}
	return 0;
}
EOC
cc -O2 -Wall -o "$work/storm" "$work/storm.c"

# ---- programs and rules ----
mkdir -p "$mnt/other" "$mnt/fresh"
{ cat /bin/true; printf 'cached'; } > "$mnt/other/cached"
chmod 0755 "$mnt/other/cached"
chown -R 4242:4242 "$mnt/other" # no ignore mark: santad's cache answers
python3 - "$mnt/fresh" "$n_fresh" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
body = open("/bin/true", "rb").read()
for i in range(n):
    p = "%s/f%d" % (d, i)
    with open(p, "wb") as f:
        f.write(body + b"fresh%d" % i)
    os.chmod(p, 0o755)
PY
# The programs are allowed by a path scope (santactl refuses rule changes
# when static rules are set); each first decision still looks its hash up in
# rules.db before the scope applies.
"$rules_bench" "$n_rules" "$work/state/rules.db" > /dev/null
python3 - "$work" "$n_rules" <<'PY'
import sys
work, n = sys.argv[1], int(sys.argv[2])
for name, salt in (("a", 0x5a5a), ("b", 0xa5a5)):
    with open("%s/rules-%s.json" % (work, name), "w") as f:
        f.write('{"rules": [\n')
        for i in range(n):
            ident = "%016x%016x%016x%016x" % ((i * 2654435761) & (2**64 - 1), i, salt, i ^ salt)
            pol = "BLOCKLIST" if i % 3 == 0 else "ALLOWLIST"
            f.write('%s{"identifier": "%s", "policy": "%s", "rule_type": "BINARY"}\n' % ("," if i else "", ident, pol))
        f.write("]}\n")
PY
santa_write_config LOCKDOWN "EnableLoaderCheck = false" "AllowedPathRegex = ^$mnt/(fresh|other)/"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"
"$work/storm" "$mnt/other/cached" "$mnt/fresh" 0 1 1 > /dev/null # decided and cached

# ---- idle ----
"$work/storm" "$mnt/other/cached" "$mnt/fresh" $((n_fresh / 2)) "$first_every" "$idle_secs" > "$work/idle.txt"
used=$(grep -c '^first' "$work/idle.txt" || true)
timeouts_idle=$(grep -c "|reason=TIMEOUT|" "$work/santa.log" || true)

# ---- sync ----
# The rest of the fresh programs, renumbered from 0 for the second storm.
for ((i = used; i < n_fresh; i++)); do mv "$mnt/fresh/f$i" "$mnt/fresh/g$((i - used))"; done
for ((i = 0; i < n_fresh - used; i++)); do mv "$mnt/fresh/g$i" "$mnt/fresh/f$i"; done
"$work/storm" "$mnt/other/cached" "$mnt/fresh" $((n_fresh - used)) "$first_every" 0 > "$work/sync.txt" &
storm=$!
: > "$work/windows.txt"
for ((s = 0; s < n_syncs; s++)); do
	set_name=$([ $((s % 2)) -eq 0 ] && echo a || echo b)
	t0=${EPOCHREALTIME/./}
	"$santactl" rule --import "$work/rules-$set_name.json" --clean > /dev/null
	t1=${EPOCHREALTIME/./}
	ms=$(grep -o "rule(s) applied (CLEAN) in [0-9]* ms" "$work/santad.err" | tail -1 | grep -o "in [0-9]*" | cut -c4- || true)
	echo "$t0 $t1 ${ms:-}" >> "$work/windows.txt"
done
kill -TERM "$storm"
wait "$storm" || true
timeouts_sync=$(($(grep -c "|reason=TIMEOUT|" "$work/santa.log" || true) - timeouts_idle))

python3 - "$work" "$timeouts_idle" "$timeouts_sync" "$n_rules" <<'PY'
import sys
work, t_idle, t_sync, n_rules = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def load(name):
    return [(k, int(a), int(d), int(rc)) for k, a, d, rc in (l.split() for l in open("%s/%s.txt" % (work, name)))]
wins, whole = [], []
for line in open(work + "/windows.txt"):
    f = line.split()
    t0, t1 = int(f[0]), int(f[1])
    whole.append((t0, t1))
    wins.append((t1 - int(f[2]) * 1000, t1) if len(f) > 2 else (t0, t1))
def pct(v, p):
    v = sorted(v)
    return v[max(0, min(len(v) - 1, int(p * len(v) + 0.999999) - 1))]
def stats(samples, kind):
    v = [d for k, a, d, rc in samples if k == kind]
    bad = sum(1 for k, a, d, rc in samples if k == kind and rc != 0)
    return (len(v), bad, pct(v, .5), pct(v, .99), pct(v, .999), max(v)) if v else None
idle, sync = load("idle"), load("sync")
def inside(windows):
    return [s for s in sync if any(a <= s[1] < b for a, b in windows)]
print("sync_latency: %d rules; %d clean imports; santactl's time for each: %s ms; santad's: %s" % (
    n_rules, len(whole), ", ".join(str((b - a) // 1000) for a, b in whole),
    ", ".join(str((b - a) // 1000) + " ms" for a, b in wins) if wins != whole else "not logged"))
print("| phase | kind | execs | failed | p50 µs | p99 µs | p99.9 µs | max µs |")
print("|---|---|---|---|---|---|---|---|")
base = {}
phases = [("idle", idle), ("during santactl", inside(whole))]
if wins != whole:
    phases.append(("during the write", inside(wins)))
for name, samples in phases:
    for kind in ("cached", "first"):
        st = stats(samples, kind)
        if not st:
            print("| %s | %s | 0 | | | | | |" % (name, kind))
            continue
        if name == "idle":
            base[kind] = st
            cells = ["{:,}".format(x) for x in st[2:]]
        else:
            b = base.get(kind)
            cells = ["{:,} (x{:.1f})".format(x, x / b[i + 2]) if b and b[i + 2] else "{:,}".format(x)
                     for i, x in enumerate(st[2:])]
        print("| %s | %s | %d | %d | %s |" % (name, kind, st[0], st[1], " | ".join(cells)))
during = phases[-1][1]
within = [d for k, a, d, rc in during if k == "cached"]
print("%s: cached execs over 10 ms: %d of %d; all decisions over 10 ms: %d of %d" % (
    phases[-1][0], sum(1 for d in within if d > 10000), len(within),
    sum(1 for s in during if s[2] > 10000), len(during)))
print("TIMEOUT lines: idle %d, sync phase %d" % (t_idle, t_sync))
PY
