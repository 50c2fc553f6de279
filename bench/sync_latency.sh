#!/usr/bin/env bash
# Decision latency while a million-rule clean sync is applied (issue 22).
# santad in LOCKDOWN on a private tmpfs, rules.db holding RULES rules. A timer
# (fork + execve + wait in C) execs, back to back, one program santad has
# cached (another user's copy: no kernel ignore mark, santad answers) and,
# every FIRST_EVERY execs, a program never seen (a fresh copy with bytes of
# its own: hashed, looked up in rules.db, decided), and records each exec's
# start and duration. Three phases on one santad:
#   idle  IDLE_SECONDS of the storm alone
#   hogs  IDLE_SECONDS of the cached storm beside two CPU hogs (a control:
#         what CPU load alone does to the exec'ing process's wait)
#   sync  the storm while SYNCS clean syncs of RULES rules run back to back
#         (`santactl sync`: santasyncservice, as _santasync, downloads the
#         rules from a local test server, tests/integration/sync_server.py,
#         in pages of 200,000 and hands them to santad, SANTAD_SYNC_RULES,
#         CLEAN); two rule sets alternate, so each sync deletes and writes
#         a million rules.
# "during the sync" counts the execs that started during a `santactl sync`
# (the download included, while santad is idle); "during the write" those
# that started while santad applied the batch, from santad's log line (its
# time and, from the rule writer on, how long the batch took; a santad that
# does not say gets the first window only).
# Prints p50 / p99 / p99.9 / max per kind and phase, ratios to idle, and the
# TIMEOUT lines. Nothing is asserted.
# usage: bench/sync_latency.sh SANTAD [SANTACTL [HELPER_DIR]]   (as root; Release build)
#   env: RULES=1000000 SYNCS=3 IDLE_SECONDS=20 FIRST_EVERY=10 FRESH=6000
#        KEEP=DIR (keep the samples, the windows and santad's log there)
set -euo pipefail
santad=$(realpath "$1")
santactl=$(realpath "${2:-$(dirname "$santad")/../santactl/santactl}")
helpers=$(realpath "${3:-$(dirname "$santad")/../../libexec}")
rules_bench=$(realpath "$(dirname "$santad")/../../bench/rules_bench")
n_rules=${RULES:-1000000}
n_syncs=${SYNCS:-3}
idle_secs=${IDLE_SECONDS:-20}
first_every=${FIRST_EVERY:-10}
n_fresh=${FRESH:-6000}

here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/lib/private_tmpfs.sh" "$@"
source "$here/../tests/lib/wait.sh"
source "$here/../tests/lib/install_bins.sh"
chmod 0755 "$work" # the sync service reads santa.conf
mnt=$work/mnt
srv=$work/server
mkdir -p "$srv"
santa_install_bins "$work/libexec" "$helpers" # where _santasync can reach them
santa_install_bins "$work/bin" "$santactl"
santactl=$work/bin/santactl
source "$here/../tests/lib/sync_server.sh"
storm=
server_pid=
trap '[ -z "$storm" ] || kill "$storm" 2> /dev/null; kill $server_pid 2> /dev/null; santa_cleanup' EXIT
sync_server_start "$work/port"
server_pid=$sync_server_pid
port=$sync_server_port

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
# Two sets of RULES rules, as the server's pages (rules-a/N.json, rules-b/N.json).
python3 - "$srv" "$n_rules" <<'PY'
import json, os, sys
srv, n = sys.argv[1], int(sys.argv[2])
per = 200000
for name, salt in (("a", 0x5a5a), ("b", 0xa5a5)):
    os.makedirs("%s/rules-%s" % (srv, name))
    for page, start in enumerate(range(0, n, per)):
        rules = [{"identifier": "%016x%016x%016x%016x" % ((i * 2654435761) & (2**64 - 1), i, salt, i ^ salt),
                  "policy": "BLOCKLIST" if i % 3 == 0 else "ALLOWLIST", "rule_type": "BINARY"}
                 for i in range(start, min(n, start + per))]
        body = {"rules": rules}
        if start + per < n:
            body["cursor"] = "page-%d" % (page + 1)
        with open("%s/rules-%s/%d.json" % (srv, name, page), "w") as f:
            json.dump(body, f)
PY
echo '{"client_mode": "LOCKDOWN", "sync_type": "clean", "full_sync_interval": 86400}' > "$srv/preflight.json"
santa_write_config LOCKDOWN "EnableLoaderCheck = false" "AllowedPathRegex = ^$mnt/(fresh|other)/" \
	"HelperDirectory = $work/libexec" "MachineID = bench-machine" \
	"SyncBaseURL = http://127.0.0.1:$port/santa"
chmod 0644 "$work/santa.conf"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"
"$work/storm" "$mnt/other/cached" "$mnt/fresh" 0 1 1 > /dev/null # decided and cached

# ---- idle ----
# santad's own view: decisions answered within each bound (read to answer).
latency_snapshot() { # FILE
	"$santactl" metrics --json /santa/decision_latency_usec > "$1" 2> /dev/null || : > "$1"
}

"$work/storm" "$mnt/other/cached" "$mnt/fresh" $((n_fresh / 2)) "$first_every" "$idle_secs" > "$work/idle.txt"
used=$(grep -c '^first' "$work/idle.txt" || true)
timeouts_idle=$(grep -c "|reason=TIMEOUT|" "$work/santa.log" || true)
latency_snapshot "$work/lat-idle-end.json"

# ---- control: the cached storm beside two plain CPU hogs (nice 0), no sync ----
# On two CPUs a sync keeps about two threads busy (the sync service parsing,
# santad's rule writer): this phase shows what that much CPU load alone does
# to the exec'ing process's own wait, santad doing nothing more than idle.
hogs=()
for h in 1 2; do timeout $((idle_secs + 30)) sh -c 'while :; do :; done' & hogs+=($!); done
"$work/storm" "$mnt/other/cached" "$mnt/fresh" 0 1 "$idle_secs" > "$work/hogs.txt"
kill "${hogs[@]}" 2> /dev/null || true
wait "${hogs[@]}" 2> /dev/null || true
latency_snapshot "$work/lat-hogs-end.json"

# ---- sync ----
# The rest of the fresh programs, renumbered from 0 for the second storm.
for ((i = used; i < n_fresh; i++)); do mv "$mnt/fresh/f$i" "$mnt/fresh/g$((i - used))"; done
for ((i = 0; i < n_fresh - used; i++)); do mv "$mnt/fresh/g$i" "$mnt/fresh/f$i"; done
has_sync_helper() { pgrep -f "^santasyncservice" -P "$pid" > /dev/null; }
wait_until 30 has_sync_helper || { echo "sync_latency: santad did not start its sync service"; exit 1; }
"$work/storm" "$mnt/other/cached" "$mnt/fresh" $((n_fresh - used)) "$first_every" 0 > "$work/sync.txt" &
storm=$!
: > "$work/windows.txt"
for ((s = 0; s < n_syncs; s++)); do
	rm -rf "$srv/rules"
	cp -r "$srv/rules-$([ $((s % 2)) -eq 0 ] && echo a || echo b)" "$srv/rules"
	t0=${EPOCHREALTIME/./}
	"$santactl" sync > "$work/sync-$s.out" 2>&1 || echo "sync_latency: sync $s failed: $(tail -1 "$work/sync-$s.out")" >&2
	t1=${EPOCHREALTIME/./}
	# "[2026-12-07T13:55:38.985Z] N santad: sync: 1000000 rule(s) applied (CLEAN) in 2345 ms"
	line=$(grep "sync: [0-9]* rule(s) applied" "$work/santad.err" | tail -1)
	at=$(date -d "$(sed -n 's/^\[\([^]]*\)\].*/\1/p' <<< "$line")" +%s%6N 2> /dev/null || true)
	ms=$(grep -o "applied (CLEAN) in [0-9]* ms" <<< "$line" | grep -o "in [0-9]*" | cut -c4- || true)
	echo "$t0 $t1 ${at:-0} ${ms:-}" >> "$work/windows.txt"
done
kill -TERM "$storm"
wait "$storm" || true
storm=
latency_snapshot "$work/lat-sync-end.json"
timeouts_sync=$(($(grep -c "|reason=TIMEOUT|" "$work/santa.log" || true) - timeouts_idle))
kill "$pid"
wait_until 30 bash -c "! kill -0 $pid 2> /dev/null" || echo "sync_latency: santad did not stop within 30 s" >&2
pid=
if [ -n "${KEEP:-}" ]; then
	mkdir -p "$KEEP"
	cp "$work/idle.txt" "$work/sync.txt" "$work/windows.txt" "$work/santad.err" "$work/santa.log" "$KEEP/"
fi

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
    wins.append((int(f[2]) - int(f[3]) * 1000, int(f[2])) if len(f) > 3 else (t0, t1))
def pct(v, p):
    v = sorted(v)
    return v[max(0, min(len(v) - 1, int(p * len(v) + 0.999999) - 1))]
def stats(samples, kind):
    v = [d for k, a, d, rc in samples if k == kind]
    bad = sum(1 for k, a, d, rc in samples if k == kind and rc != 0)
    return (len(v), bad, pct(v, .5), pct(v, .99), pct(v, .999), max(v)) if v else None
idle, sync, hogs = load("idle"), load("sync"), load("hogs")
def inside(windows):
    return [s for s in sync if any(a <= s[1] < b for a, b in windows)]
print("sync_latency: %d rules; %d clean syncs; santactl sync's time for each: %s ms; santad's write: %s" % (
    n_rules, len(whole), ", ".join(str((b - a) // 1000) for a, b in whole),
    ", ".join(str((b - a) // 1000) + " ms" for a, b in wins) if wins != whole else "not logged"))
print("| phase | kind | execs | failed | p50 µs | p99 µs | p99.9 µs | max µs |")
print("|---|---|---|---|---|---|---|---|")
base = {}
phases = [("idle", idle), ("beside 2 CPU hogs, no sync", hogs), ("during the sync", inside(whole))]
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
# santad's own view (from reading the event to answering it), for telling
# santad's latency from the exec'ing process's own wait for a CPU.
import json
def buckets(name):
    try:
        m = json.load(open("%s/%s.json" % (work, name)))["metrics"]["/santa/decision_latency_usec"]
    except (OSError, ValueError, KeyError):
        return None
    out = {}
    def walk(x):
        if isinstance(x, dict):
            if "value" in x and "data" in x:
                out[x["value"]] = int(x["data"])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(m)
    return out
a, h, b = buckets("lat-idle-end"), buckets("lat-hogs-end"), buckets("lat-sync-end")
if a and h and b and "10000" in a and "+Inf" in a:
    def over(x, y):
        return (y["+Inf"] - y["10000"]) - ((x["+Inf"] - x["10000"]) if x else 0)
    print("santad's own decision latency (event read to answer) over 10 ms: idle %d of %d; "
          "beside the hogs %d of %d; sync phase %d of %d" % (
              over(None, a), a["+Inf"], over(a, h), h["+Inf"] - a["+Inf"],
              over(h, b), b["+Inf"] - h["+Inf"]))
PY
