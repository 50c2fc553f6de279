#!/usr/bin/env bash
# The event log's queue is capped by bytes, not only by records: with its
# writer stalled, a flood of execs of a program with a long path (each record
# ~5 KB) costs santad at most EVENT_LOG_QUEUE_BYTES (8 MiB), and what does
# not fit is dropped and counted (decisions.log_dropped, /santa/event_log/
# dropped). With the record cap alone (65,536) the same flood stayed queued:
# ~30 MB here, 278 MB at the cap. Once the writer moves again, lines come.
# The writer is stalled by santa.log being a FIFO nobody reads: its write()
# blocks once the pipe is full (a hung disk, or NSS waiting for LDAP, in
# life). The flood is run by nobody.
# usage: log_queue.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
mnt=$work/mnt
source "$(dirname "$0")/../lib/checks.sh"
export SANTA_CONFIG=$work/santa.conf
# ASan keeps freed memory aside (256 MB) before reusing it: the records
# dropped at the cap would count against santad's RSS. Without effect on a
# build without ASan.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0

cap_kib=8192     # EVENT_LOG_QUEUE_BYTES
margin_kib=12288 # the allocator's own (ASan: redzones, shadow), what else santad holds a moment
floods=6000

# nobody runs the flood: $work may be passed through, not listed.
chmod 0711 "$work"
# A program whose path is ~3,800 bytes: every line of it is about 4 KB.
long=$mnt
for i in $(seq 1 15); do long=$long/$(printf 'd%.0s' $(seq 1 250))$i; done
mkdir -p "$long"
printf 'int main(void) { return 0; }\n' > "$work/hello.c"
cc -static -o "$long/t" "$work/hello.c"
cc -static -o "$mnt/marker" "$work/hello.c"
prog=$long/t
echo "# program path: ${#prog} bytes"

mkfifo -m 0600 "$work/santa.log"
# Held open for reading, never read: santad's open succeeds, its writes fill the pipe and block.
exec 3<> "$work/santa.log"
santa_write_config MONITOR "EnableLoaderCheck = false"
santa_start_santad "$santad"

# "QUEUED QUEUED_BYTES DROPPED LOST": the event log's queue and its losses
# (lost: lines whose notification the kernel's queue lost). Each request waits
# up to 2 s for the stalled writer (the log barrier), then is answered.
counts() {
	local m lost
	m=$("$santactl" metrics --json 2>> "$work/santactl.err" | python3 -c '
import json, sys
m = json.load(sys.stdin)["metrics"]
v = lambda name: sum(int(p["data"]) for l in m[name]["fields"].values() for p in l)
print(v("/santa/event_log/queue_depth"), v("/santa/event_log/queue_bytes"), v("/santa/event_log/dropped"))' 2> /dev/null)
	lost=$("$santactl" status --json 2>> "$work/santactl.err" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["daemon"]["log_lines_lost"])' 2> /dev/null)
	echo "${m:-x} ${lost:-x}"
}
numbers() { [[ "$*" =~ ^[0-9\ ]+$ ]]; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }

# Decided once (and marked, so the kernel stops asking): the flood is logged, not decided.
for _ in 1 2 3; do "$prog"; done
# Enough lines that the pipe is full and the writer blocked before the flood.
for _ in $(seq 1 100); do "$prog"; done
queued_ge() { read -r q _ < <(counts); numbers "$q" && [ "$q" -ge "$1" ]; }
wait_or_die 60 "the writer stalled: lines queue up" queued_ge 20
before=$(rss_kib)
snapshot() {
	read -r queued_before _ dropped_before lost_before < <(counts)
	numbers "$queued_before $dropped_before $lost_before"
}
wait_or_die 30 "the counts before the flood" snapshot
echo "# santad RSS before the flood: $before KiB; queued $queued_before, dropped $dropped_before"

# The flood is an ordinary user's (nobody): any user can run programs on a watched filesystem.
setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	bash -c 'for _ in $(seq 1 "$1"); do "$2"; done' flood "$floods" "$prog"
# Every exec of the flood has its record queued or dropped, or its notification
# lost (counted): then santad has taken all of it. A notification read before
# its exec finished waits for the next batch: a marker's exec brings one.
accounted() {
	"$mnt/marker"
	read -r queued queued_bytes dropped lost < <(counts)
	numbers "$queued $queued_bytes $dropped $lost" &&
		[ $((queued + dropped + lost - queued_before - dropped_before - lost_before)) -ge $floods ]
}
wait_or_die 180 "santad took every exec of the flood" accounted
after=$(rss_kib)
echo "# after: RSS $after KiB (+$((after - before))); queued $queued ($queued_bytes bytes), dropped $dropped, lost $lost"

check "the queue holds at most its byte cap ($queued_bytes bytes)" \
	test "$queued_bytes" -le $((cap_kib * 1024))
check "records beyond it were dropped and counted ($dropped)" test "$dropped" -gt "$dropped_before"
status_dropped_ge() {
	local n
	n=$("$santactl" status --json 2>> "$work/santactl.err" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["daemon"]["events_log_dropped"])' 2> /dev/null)
	numbers "$n" && [ "$n" -ge "$1" ]
}
check_eventually "status says so too (events_log_dropped)" 60 status_dropped_ge "$dropped"
check "santad's RSS grew by at most the cap and a margin (+$((after - before)) KiB)" \
	test $((after - before)) -le $((cap_kib + margin_kib))

# The writer moves again: what was queued is written, and new lines come.
cat "$work/santa.log" > "$work/lines" &
reader=$!
exec 3<&-
"$mnt/marker"
check_eventually "once the writer moves, lines are written again" 120 \
	grep -q "|path=$mnt/marker\(|\|\$\)" "$work/lines"
kill "$reader" 2> /dev/null || true
wait "$reader" 2> /dev/null || true
# santactl's complaints, if any (a loaded machine: handshakes late): retried above.
[ ! -s "$work/santactl.err" ] || sort "$work/santactl.err" | uniq -c | sed 's/^/# santactl: /'

check_finish log_queue
