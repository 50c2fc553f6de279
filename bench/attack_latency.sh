#!/usr/bin/env bash
# Root's latency while an unprivileged user attacks santad (the hardening
# issue's classes A to G). santad in LOCKDOWN on a private tmpfs, a fresh
# santad for each phase, and in each phase root measures, spread over
# PHASE_SECONDS:
#   - cached execs of an allowlisted root-owned program (a kernel ignore mark
#     answers them: santad is not asked) and of the same program owned by
#     another user (no mark: santad's cache answers on its loop);
#   - first decisions: each sample a fresh root-owned copy of the allowlisted
#     program (a new inode, never seen: hashed and looked up);
#   - root's santactl status now and then, and santad's open fds;
# then santad's stop time on SIGTERM with the attack still on (class G).
# Phases (PHASES, default all; idle always runs first, for the ratios):
#   idle  no attacker
#   A     nobody execs three 1 PiB files of holes in loops and 1,000 fresh
#         unknown programs at once, again and again (tests/adversarial/load.sh)
#   B     the fd flood: two 1 PiB loops and 1,100 short execs at once, santad's
#         fd limit 1024 (the others have the unit's LimitNOFILE, 65536, or the
#         shell's hard limit if lower: raising it needs CAP_SYS_RESOURCE)
#   C     nobody rewrites a large copy of an allowlisted program while santad
#         hashes it, in a loop (tests/adversarial/rewrite.sh; C_MIB, 64)
#   D     500 user namespaces each holding a tmpfs, and a loop making more,
#         each running an unknown program from its tmpfs
#   E     execs by relative path of fresh programs deeper than PATH_MAX
#         (tests/adversarial/paths.sh)
#   F     F1 + F2 + F3 (each also a phase of its own, not run by default):
#   F1    300 connections to santad.sock that never say HELLO (nobody)
#   F2    `santactl rule --export` in a loop, as uid 4242 (nobody's idle
#         connections would take its place); RULES rules in rules.db
#         (default 1,000,000, in every phase)
#   F3    20,000 bind mounts in a user namespace (nobody)
# Every attacker runs as nobody (F2: uid 4242) in a process group of its own
# under a hard time limit, and is killed (the whole group) at the end of its
# phase; the script checks that none is left. A full run takes 5 to 10 minutes.
# usage: bench/attack_latency.sh SANTAD [SANTACTL]   (as root; Release build)
#   env: PHASES="idle A B C D E F"  PHASE_SECONDS=25  CACHED=3000  FIRST=50
#        RULES=1000000  C_MIB=64  LOGS=DIR (keep each phase's santa.log and santad.err)
#        MARK_TYPE=mount (as the tests: FAN_MARK_MOUNT on each mount under the
#        private tmpfs) or filesystem (santad's default without WatchPaths)
set -euo pipefail
santad=$(realpath "$1")
santactl=$(realpath "${2:-$(dirname "$santad")/../santactl/santactl}")
rules_bench=$(realpath "$(dirname "$santad")/../../bench/rules_bench")
phases=${PHASES:-idle A B C D E F}
secs=${PHASE_SECONDS:-25}
n_cached=${CACHED:-3000}
n_first=${FIRST:-50}
n_rules=${RULES:-1000000}
c_mib=${C_MIB:-64}
mark_type=${MARK_TYPE:-mount}
case $mark_type in mount | filesystem) ;; *) echo "attack_latency: MARK_TYPE is mount or filesystem"; exit 2 ;; esac
keep_logs=${LOGS:+$(mkdir -p "$LOGS" && realpath "$LOGS")}
fd_limit=$(ulimit -Hn)
[ "$fd_limit" = unlimited ] || [ "$fd_limit" -gt 65536 ] && fd_limit=65536
for p in $phases; do
	case $p in idle | A | B | C | D | E | F | F1 | F2 | F3) ;; *) echo "attack_latency: unknown phase '$p' (idle A B C D E F F1 F2 F3)"; exit 2 ;; esac
done
phases="idle $(tr ' ' '\n' <<< "$phases" | { grep -vx idle || true; } | tr '\n' ' ')"

here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/lib/private_tmpfs.sh" "$@"
source "$here/../tests/lib/wait.sh"
chmod 0755 "$work"
mnt=$work/mnt
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

# ---- root's timer: fork + execve + wait in C, so that no shell cost is measured ----
cat > "$work/lat.c" <<'EOC'
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
/*
 * lat MARKED LOOPCACHED FIRSTDIR NCACHED NFIRST SECONDS: NFIRST rounds spread
 * over SECONDS; each round execs FIRSTDIR/fI once (a file never run), then
 * MARKED and LOOPCACHED NCACHED/NFIRST/2 times each. Prints, per kind, in
 * microseconds: "kind n failed p50 p99 p99.9 max" (a failed exec is timed too).
 * On SIGTERM (santad stalled past the script's limit) it reports what it has:
 * the exec it was waiting for counts with the time waited so far, and
 * "stuck KIND" says which.
 */
static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e6 + t.tv_nsec / 1e3; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
static double run(const char *path, int *failed) {
	char *args[] = { (char *)path, NULL };
	int st, r;
	double a = now();
	pid_t p = fork();
	if (p == 0) { execv(path, args); _exit(127); }
	while (p > 0 && (r = waitpid(p, &st, 0)) < 0 && errno == EINTR && !stop)
		;
	if (stop) return now() - a;
	if (p < 0 || r < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) (*failed)++;
	return now() - a;
}
static double pct(const double *t, int n, double p) { int i = (int)(p * n + 0.999999) - 1; return t[i < 0 ? 0 : i]; }
static void report(const char *kind, double *t, int n, int failed) {
	if (n == 0) { printf("%s 0 0\n", kind); return; }
	qsort(t, n, sizeof(*t), cmp);
	printf("%s %d %d %.0f %.0f %.0f %.0f\n", kind, n, failed, pct(t, n, .5), pct(t, n, .99), pct(t, n, .999), t[n - 1]);
}
int main(int argc, char **argv) {
	if (argc != 7) return 2;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term; /* no SA_RESTART: waitpid returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	int rounds = atoi(argv[5]), per = atoi(argv[4]) / rounds / 2, r, i, nm = 0, nl = 0, nf = 0, fm = 0, fl = 0, ff = 0;
	double secs = atof(argv[6]), *m = calloc(rounds * per + 1, sizeof(double)), *l = calloc(rounds * per + 1, sizeof(double));
	double *f = calloc(rounds, sizeof(double)), start = now();
	const char *stuck = NULL;
	char path[4096];
	for (r = 0; r < rounds && !stuck; r++) {
		snprintf(path, sizeof(path), "%s/f%d", argv[3], r);
		f[nf++] = run(path, &ff);
		if (stop) { stuck = "first"; break; }
		for (i = 0; i < per && !stuck; i++) {
			m[nm++] = run(argv[1], &fm);
			if (stop) { stuck = "marked"; break; }
			l[nl++] = run(argv[2], &fl);
			if (stop) stuck = "loop";
		}
		if (stuck) break;
		double next = start + secs * 1e6 * (r + 1) / rounds, t = now();
		if (t < next) usleep((useconds_t)(next - t));
		if (stop) stuck = "(none: between execs)";
	}
	report("marked", m, nm, fm);
	report("loop", l, nl, fl);
	report("first", f, nf, ff);
	printf("elapsed %.0f\n", now() - start);
	if (stuck) printf("stuck %s\n", stuck);
	return 0;
}
EOC
cc -O2 -Wall -o "$work/lat" "$work/lat.c"

# ---- the programs ----
cp /bin/true "$mnt/allowed" # root's, 0755: a kernel ignore mark once decided
mkdir -p "$mnt/other" "$mnt/first" "$mnt/home"
cp "$mnt/allowed" "$mnt/other/allowed"
chown -R 4242:4242 "$mnt/other" # another user's copy: santad's cache answers
chown 65534:65534 "$mnt/home"
allowed_sha=$(sha256sum < "$mnt/allowed" | cut -d' ' -f1)
{ cat /bin/true; printf 'unknown'; } > "$work/unknown" # a program no rule names
chmod 0755 "$work/unknown"

# Attackers' files, made once as nobody: petabytes of holes, fresh programs,
# the large allowlisted program (C), the long path's directory (E).
as_nobody sh -c '
	for i in 1 2 3; do cp /bin/ls "$1/peta$i" && truncate -s 1P "$1/peta$i"; done
	for i in $(seq 1 1100); do cp "$3" "$1/f$i"; done
	echo extra >> "$1/f1"
	cp /bin/true "$1/pristine" && truncate -s "$2M" "$1/pristine" && cp "$1/pristine" "$1/big"
	mkdir "$1/d" "$1/deep" "$1/bm"' sh "$mnt/home" "$c_mib" "$work/unknown"
big_sha=$(sha256sum < "$mnt/home/pristine" | cut -d' ' -f1)
cp /bin/echo "$work/evil-code"
chmod 0644 "$work/evil-code"

if [ "$n_rules" -gt 0 ]; then
	"$rules_bench" "$n_rules" "$work/state/rules.db" > /dev/null
fi
santa_write_config LOCKDOWN \
	"[StaticRule:allowed]" "identifier = $allowed_sha" "rule_type = BINARY" "policy = ALLOWLIST" \
	"[StaticRule:big]" "identifier = $big_sha" "rule_type = BINARY" "policy = ALLOWLIST"
if [ "$mark_type" = filesystem ]; then
	sed -i 's/^WatchMarkType = mount$/WatchMarkType = filesystem/' "$work/santa.conf"
fi
chmod 0644 "$work/santa.conf"
export SANTA_CONFIG=$work/santa.conf

# ---- attackers ----
attackers=()
attack_limit=$((secs * 6 + 120)) # seconds: however this script ends, no attacker lives longer
attack() { # CODE [ARG...]: sh -c CODE as nobody, in a process group of its own (timeout's)
	local code=$1
	shift
	timeout -s KILL "$attack_limit" setpriv --reuid="${attacker_uid:-65534}" --regid="${attacker_uid:-65534}" --clear-groups -- \
		sh -c "$code" sh "$@" < /dev/null > /dev/null 2>&1 &
	attackers+=($!)
}
stop_attack() {
	local a left=0
	for a in "${attackers[@]}"; do kill -KILL -- "-$a" 2> /dev/null || true; done
	for a in "${attackers[@]}"; do wait "$a" 2> /dev/null || true; done
	group_gone() { ! kill -0 -- "-$1" 2> /dev/null; }
	for a in "${attackers[@]}"; do wait_until 10 group_gone "$a" || left=$((left + 1)); done
	[ "$left" -eq 0 ] || echo "attack_latency: $left attacker group(s) still alive after SIGKILL" >&2
	attackers=()
}
trap 'stop_attack; santa_cleanup' EXIT
stats=$work/stats
mkdir -p "$stats"
chmod 0777 "$stats"

peta_loops() { # N: nobody's first N petabyte files, each exec'd in a loop
	local i
	for i in $(seq 1 "$1"); do attack 'while :; do "$1" 2> /dev/null; done' "$mnt/home/peta$i"; done
}
flood() { # N: nobody's first N fresh programs, all at once, again and again
	attack 'n=$1 h=$2; while :; do i=1; while [ $i -le $n ]; do "$h/f$i" 2> /dev/null & i=$((i + 1)); done; wait; done' \
		"$1" "$mnt/home"
}
attack_A() { peta_loops 3; flood 1000; }
attack_B() { peta_loops 2; flood 1100; }
attack_C() {
	attack 'exec python3 "$1" "$2" "$3" "$4" 0 "$5"' \
		"$here/../tests/lib/rewrite_race.py" "$mnt/home/big" "$mnt/home/pristine" "$work/evil-code" "$stats/C"
}
attack_D() {
	# 500 namespaces that stay, each with a tmpfs on nobody's directory...
	attack 'i=0; while [ $i -lt 500 ]; do
			unshare -Urm sh -c "mount -t tmpfs tmpfs \"\$1\" && exec sleep 100000" sh "$1" &
			i=$((i + 1)); done; echo 500 > "$2/D-held"; wait' "$mnt/home/d" "$stats"
	# ...and a loop of new ones, each running an unknown program from its tmpfs.
	attack 'while :; do
			if unshare -Urm sh -c "mount -t tmpfs tmpfs \"\$1\" && cp \"\$2\" \"\$1/x\" && \"\$1/x\"" sh "$1" "$2" 2> /dev/null
			then echo r; else echo d; fi >> "$3/D"; done' "$mnt/home/d" "$work/unknown" "$stats"
}
attack_E() {
	attack 'exec python3 - "$@" <<"PY"
import os, shutil, sys
home, prog, out = sys.argv[1:4]
os.chdir(home + "/deep")
for _ in range(24):  # 24 x 201 bytes: past PATH_MAX
    os.makedirs("d" * 200, exist_ok=True)
    os.chdir("d" * 200)
ran = denied = i = 0
while True:
    name = "p%d" % i
    shutil.copyfile(prog, name)
    os.chmod(name, 0o755)
    pid = os.fork()
    if pid == 0:
        try:
            os.execv("./" + name, [name])
        except OSError:
            pass
        os._exit(126)
    _, st = os.waitpid(pid, 0)
    ran += st == 0
    denied += st != 0
    os.unlink(name)
    i += 1
    if i % 20 == 0:
        with open(out + ".tmp", "w") as f:
            f.write("%d fresh programs past PATH_MAX: ran %d, denied %d\n" % (i, ran, denied))
        os.rename(out + ".tmp", out)
PY' "$mnt/home" "$work/unknown" "$stats/E"
}
attack_F() { attack_F1; attack_F2; attack_F3; }
attack_F1() {
	attack 'exec python3 - "$@" <<"PY"
import os, select, socket, sys, time
path, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
socks, opened = [], 0
while True:
    while len(socks) < n:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            s.connect(path)
        except OSError:
            s.close()
            time.sleep(0.05)
            continue
        socks.append(s)
        opened += 1
    with open(out + ".tmp", "w") as f:
        f.write("%d connections that never said HELLO (%d open)\n" % (opened, len(socks)))
    os.rename(out + ".tmp", out)
    r, _, _ = select.select(socks, [], [], 1.0)
    for s in r:
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data:
            socks.remove(s)
            s.close()
    if r:
        time.sleep(0.05)
PY' "$work/run/santad.sock" 300 "$stats/F-conns"
}
attack_F2() { # as another user: nobody's idle connections would take its place (a per-uid cap)
	attacker_uid=4242 attack 'while :; do "$1" rule --export /dev/null > /dev/null 2>&1 && echo ok >> "$2" || { echo failed >> "$2"; sleep 0.2; }; done' \
		"$santactl" "$stats/F-exports"
}
attack_F3() {
	attack 'exec unshare -Urm python3 - "$@" <<"PY"
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
base, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(base + "/src", exist_ok=True)
done, t0 = 0, time.monotonic()
for i in range(n):
    d = "%s/m%d" % (base, i)
    os.makedirs(d, exist_ok=True)
    if libc.mount((base + "/src").encode(), d.encode(), None, 4096, None) != 0:  # MS_BIND
        break
    done += 1
with open(out, "w") as f:
    f.write("%d bind mounts in a user namespace (made in %.1f s)\n" % (done, time.monotonic() - t0))
while True:
    time.sleep(3600)
PY' "$mnt/home/bm" 20000 "$stats/F-mounts"
}
# attack_on PHASE: whether the attack has reached santad (polled, bounded).
attack_on() {
	case $1 in
	idle) true ;;
	A | B) grep -q "|reason=TIMEOUT|.*|path=$mnt/home/peta" "$work/santa.log" 2> /dev/null ;;
	C) grep -qF "|path=$mnt/home/big" "$work/santa.log" 2> /dev/null ;;
	D) [ -e "$stats/D-held" ] && [ -s "$stats/D" ] ;;
	E) [ -s "$stats/E" ] ;;
	F) attack_on F1 && attack_on F2 && attack_on F3 ;;
	F1) [ -s "$stats/F-conns" ] ;;
	F2) [ -s "$stats/F-exports" ] ;;
	F3) [ -s "$stats/F-mounts" ] ;;
	esac
}
notes() { # PHASE: what the attacker saw, one line
	case $1 in
	A | B)
		local allowed
		allowed=$(grep -F "|path=$mnt/home/" "$work/santa.log" | grep -F "|decision=ALLOW|" |
			sed -n 's/.*|reason=\([A-Z_]*\)|.*/\1/p' | sort | uniq -c | xargs echo)
		echo "nobody's exec lines: $(grep -cF "|path=$mnt/home/" "$work/santa.log" || true), allowed: ${allowed:-none}" ;;
	C)
		cat "$stats/C" 2> /dev/null || echo "no race finished"
		echo "; santa.log for it: $(grep -F "|path=$mnt/home/big" "$work/santa.log" |
			sed -n 's/.*|decision=\([A-Z_]*\)|reason=\([A-Z_]*\)|.*/\1|\2/p' | sort | uniq -c | xargs echo)" ;;
	D) echo "$(cat "$stats/D-held" 2> /dev/null || echo 0) namespaces held; new ones ran the unknown program $(grep -c r "$stats/D" || true) times, denied $(grep -c d "$stats/D" || true)" ;;
	E) cat "$stats/E" 2> /dev/null || echo "no exec finished" ;;
	F | F1 | F2 | F3)
		[ ! -e "$stats/F-conns" ] || echo "$(cat "$stats/F-conns");"
		[ ! -e "$stats/F-exports" ] || echo "exports of $n_rules rules by uid 4242: $(grep -c ok "$stats/F-exports" || true) done, $(grep -c failed "$stats/F-exports" || true) failed;"
		[ ! -e "$stats/F-mounts" ] || cat "$stats/F-mounts"
		;;
	esac
}

# ---- one phase ----
observe() { # root's santactl status every few seconds, and santad's fds: "rc ms fds" lines
	local i t0 rc
	for i in $(seq 1 8); do
		[ ! -e "$work/observe-stop" ] || break
		t0=${EPOCHREALTIME/./}
		rc=0
		timeout 10 "$santactl" status > /dev/null 2>&1 || rc=$?
		echo "$rc $(((${EPOCHREALTIME/./} - t0) / 1000)) $(ls "/proc/$pid/fd" 2> /dev/null | wc -l)"
		sleep "$(awk -v s="$secs" 'BEGIN { print s / 9 }')"
	done
}
run_phase() {
	local phase=$1 out i t0 observer on_ms
	out=$work/result.$phase
	rm -rf "$mnt/first/$phase" "$mnt/first/$phase-warm" "$work/santa.log" "${stats:?}"/*
	mkdir "$mnt/first/$phase" "$mnt/first/$phase-warm"
	for i in $(seq 0 $((n_first - 1))); do cp "$mnt/allowed" "$mnt/first/$phase/f$i"; done
	cp "$mnt/allowed" "$mnt/first/$phase-warm/f0"
	# santad's fd limit: the unit's LimitNOFILE (or as much of it as this
	# shell may give), or systemd's default in B.
	printf '#!/bin/sh\nexec prlimit --nofile=%s -- "%s" "$@"\n' \
		"$([ "$phase" = B ] && echo 1024:1024 || echo "$fd_limit:$fd_limit")" "$santad" > "$work/santad-limited"
	chmod 0755 "$work/santad-limited"
	t0=${EPOCHREALTIME/./}
	# The bind mounts are made before santad starts: made under santad's
	# scans they take minutes here, and what is measured is santad living
	# with them (it finds them at start and on every scan after).
	case $phase in F | F3)
		attack_F3
		wait_until 120 attack_on F3 || echo "attack_latency: phase $phase: the bind mounts were not made after 120 s" >&2 ;;
	esac
	santa_start_santad "$work/santad-limited"
	# Cached from now on (bounded: a stalled santad is the attacks' business).
	timeout -k 5 -s TERM 30 "$work/lat" "$mnt/allowed" "$mnt/other/allowed" "$mnt/first/$phase-warm" 8 1 0 > /dev/null
	case $phase in
	idle | F3) ;;
	F) attack_F1; attack_F2 ;;
	*) "attack_$phase" ;;
	esac
	wait_until 120 attack_on "$phase" || echo "attack_latency: phase $phase: the attack had not reached santad after 120 s; measuring anyway" >&2
	on_ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
	rm -f "$work/observe-stop"
	observe > "$work/observe.$phase" &
	observer=$!
	# A stalled santad is reported, not waited for: 30 s past the phase's
	# time the timer reports what it has.
	timeout -k 5 -s TERM $((secs + 30)) "$work/lat" "$mnt/allowed" "$mnt/other/allowed" "$mnt/first/$phase" \
		"$n_cached" "$n_first" "$secs" > "$out" || echo "attack_latency: phase $phase: the timer did not end by itself" >&2
	touch "$work/observe-stop"
	wait "$observer" 2> /dev/null || true
	echo "notes $(notes "$phase" | tr '\n' ' ')(on after ${on_ms} ms)" >> "$out" # before santad stops: unwatched then
	# Class G: SIGTERM with the attack still on; SIGKILL after 20 s. (bash
	# reaps its exited children at once: kill -0 then fails.)
	t0=${EPOCHREALTIME/./}
	kill -TERM "$pid"
	while kill -0 "$pid" 2> /dev/null && [ $((${EPOCHREALTIME/./} - t0)) -lt 20000000 ]; do sleep 0.01; done
	echo "stop $(((${EPOCHREALTIME/./} - t0) / 1000))" >> "$out"
	kill -KILL "$pid" 2> /dev/null || true
	wait "$pid" 2> /dev/null || true
	pid=
	stop_attack
	echo "timeouts $(grep -c "|reason=TIMEOUT|" "$work/santa.log" || true)" >> "$out"
	echo "root_timeouts $(grep -F "|path=$mnt/first/$phase/" "$work/santa.log" | grep -c "|reason=TIMEOUT|" || true)" >> "$out"
	awk '$1 != 0 {bad++} $2 > ms {ms = $2} $3 > fds {fds = $3} END {printf "status %d %d %d %d\n", NR - bad, NR, ms, fds}' \
		"$work/observe.$phase" >> "$out"
	if [ -n "$keep_logs" ]; then
		cp "$work/santa.log" "$keep_logs/santa.log.$phase"
		cp "$work/santad.err" "$keep_logs/santad.err.$phase"
		rm -rf "$keep_logs/stats.$phase" && cp -r "$stats" "$keep_logs/stats.$phase"
	fi
}

echo "attack_latency: santad $santad, LOCKDOWN, WatchMarkType $mark_type, $n_rules rules in rules.db; each phase ${secs} s:" \
	"$n_cached cached execs, $n_first first decisions; santad's fd limit $fd_limit (B: 1024); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for phase in $phases; do
	echo "  phase $phase ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))"
	run_phase "$phase"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$work" $phases <<'PY'
import sys
work, phases = sys.argv[1], sys.argv[2:]
res = {}
for p in phases:
    d = {}
    for line in open("%s/result.%s" % (work, p)):
        k, _, v = line.rstrip("\n").partition(" ")
        d[k] = v
    res[p] = d
def num(p, k, i):
    try:
        return float(res[p][k].split()[i])
    except (KeyError, IndexError, ValueError):
        return None
def cell(p, k, i, scale=1.0, fmt="%.0f"):
    v = num(p, k, i)
    if v is None:
        return "?"
    v /= scale
    s = fmt % v
    base = num("idle", k, i)
    if p != "idle" and base:
        s += " (x%.1f)" % (v / (base / scale))
    return s
names = {"idle": "idle", "A": "A petabyte holes + 1,000 fresh programs", "B": "B fd flood (limit 1024)",
         "C": "C rewrite race", "D": "D tmpfs in user namespaces", "E": "E paths past PATH_MAX",
         "F": "F idle conns + export + 20,000 bind mounts", "F1": "F1 300 idle connections",
         "F2": "F2 rule --export loop", "F3": "F3 20,000 bind mounts"}
print()
print("| phase | cached (kernel mark) p50 / p99 / p99.9 / max µs | cached (santad's cache) p50 / p99 / max µs "
      "| first decision median / p99 / max ms | failed execs | root's first decisions by TIMEOUT | TIMEOUT lines "
      "| santactl status ok, slowest ms | santad fds (max) | santad stop ms |")
print("|---" * 10 + "|")
for p in phases:
    failed = sum(int(num(p, k, 1) or 0) for k in ("marked", "loop", "first"))
    st = res[p].get("status", "? ? ? ?").split()
    name = names[p] + (" (stalled: see below)" if "stuck" in res[p] else "")
    print("| %s | %s / %s / %s / %s | %s / %s / %s | %s / %s / %s | %d | %s/%s | %s | %s/%s, %s | %s | %s |" % (
        name,
        cell(p, "marked", 2), cell(p, "marked", 3), cell(p, "marked", 4), cell(p, "marked", 5),
        cell(p, "loop", 2), cell(p, "loop", 3), cell(p, "loop", 5),
        cell(p, "first", 2, 1000, "%.2f"), cell(p, "first", 3, 1000, "%.2f"), cell(p, "first", 5, 1000, "%.2f"),
        failed, res[p].get("root_timeouts", "?"), int(num(p, "first", 0) or 0), res[p].get("timeouts", "?"),
        st[0], st[1], cell(p, "status", 2), st[3], cell(p, "stop", 0)))
print()
for p in phases:
    note = res[p].get("notes", "")
    fails = ", ".join("%s %d" % (k, num(p, k, 1)) for k in ("marked", "loop", "first") if (num(p, k, 1) or 0) > 0)
    if fails:
        note += "; root's failed execs: " + fails
    if "stuck" in res[p]:
        note += "; root's timer gave up after %.0f s waiting for a %s exec (its wait so far is its sample, a lower " \
            "bound; %d cached and %d first execs done)" % (
                (num(p, "elapsed", 0) or 0) / 1e6, res[p]["stuck"], sum(int(num(p, k, 0) or 0) for k in ("marked", "loop")),
                int(num(p, "first", 0) or 0))
    if note:
        print("  %s: %s" % (p, note))
PY
