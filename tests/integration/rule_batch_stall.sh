#!/usr/bin/env bash
# Decisions go on while a rule batch is being written (issue 22: a batch was
# applied on santad's loop, holding the one rules.db connection, so a
# million-rule sync held cached execs and new events for seconds and workers'
# lookups until their deadline). santad built with its test hooks (CMake
# SANTA_TEST_HOOKS, Debug builds only) and SANTA_TEST_RULE_BATCH_STALL_MS
# holds every batch's transaction open that long before its commit. While
# the second batch (a block rule) is held:
#  - a program santad decided before runs at once (santad's cache, on the
#    loop: another user's file, so no kernel ignore mark spares the question);
#  - a program never seen runs at once: its worker looks its rule up in
#    rules.db while the batch is open (the rule from the first batch);
#  - neither waits for the batch: it is still held when they return.
# Once santactl's block is answered, the program it blocks is denied: a
# decision cached under the old rules does not outlive the commit.
# usage: rule_batch_stall.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
source "$here/../lib/checks.sh"
chmod 0755 "$work"
mnt=$work/mnt
stall_ms=6000

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
sha() { sha256sum < "$1" | cut -d' ' -f1; }

mkdir "$mnt/other"
{ cat /bin/true; printf 'cached'; } > "$mnt/other/cached"
{ cat /bin/true; printf 'victim'; } > "$mnt/other/victim"
{ cat /bin/true; printf 'fresh'; } > "$mnt/other/fresh"
chmod 0755 "$mnt/other"/*
chown -R 65534:65534 "$mnt/other" # not root's: no ignore mark, santad's cache answers
cat > "$work/allow.json" <<EOF
{"rules": [
  {"identifier": "$(sha "$mnt/other/cached")", "policy": "ALLOWLIST", "rule_type": "BINARY"},
  {"identifier": "$(sha "$mnt/other/victim")", "policy": "ALLOWLIST", "rule_type": "BINARY"},
  {"identifier": "$(sha "$mnt/other/fresh")", "policy": "ALLOWLIST", "rule_type": "BINARY"}
]}
EOF

santa_write_config LOCKDOWN "DecisionTimeoutMs = 3000" "EnableLoaderCheck = false"
export SANTA_CONFIG=$work/santa.conf
SANTA_TEST_RULE_BATCH_STALL_MS=$stall_ms santa_start_santad "$santad"
grep -q "built with test hooks" "$work/santad.err" ||
	{ fail "santad was built without its test hooks (CMake SANTA_TEST_HOOKS)"; check_finish rule_batch_stall; }

held() { grep -c "test hook: rule batch of .* held open" "$work/santad.err" || true; }
resumed() { grep -c "test hook: rule batch goes on" "$work/santad.err" || true; }

# The first batch (held too): three allow rules.
"$santactl" rule --import "$work/allow.json" > /dev/null
check "the first batch was held and then committed" test "$(held)" -eq 1 -a "$(resumed)" -eq 1
check "the cached program runs (decided, cached)" "$mnt/other/cached"
check "the victim runs (decided, cached)" "$mnt/other/victim"
wait_or_die 30 "their decisions are logged" grep -qF "|path=$mnt/other/victim" "$work/santa.log"

# The second batch: block the victim. santactl waits for the commit.
"$santactl" rule --block --sha256 "$(sha "$mnt/other/victim")" > "$work/block.out" 2>&1 &
blocker=$!
wait_or_die 30 "the second batch is held open" bash -c "[ \$(grep -c 'held open' '$work/santad.err') -ge 2 ]"
t0=$(now_ms)
rc=0
"$mnt/other/cached" || rc=$?
t1=$(now_ms)
rc2=0
"$mnt/other/fresh" || rc2=$?
t2=$(now_ms)
resumed_after=$(resumed)
echo "# while the batch was held: cached exec $((t1 - t0)) ms, first decision $((t2 - t1)) ms"
check "the cached program ran while the batch was held (exit $rc)" test "$rc" -eq 0
check "in $((t1 - t0)) ms (under 2 s; the batch is held $stall_ms ms)" test $((t1 - t0)) -lt 2000
check "the never-seen program ran while the batch was held (exit $rc2)" test "$rc2" -eq 0
check "in $((t2 - t1)) ms (under 2 s)" test $((t2 - t1)) -lt 2000
check "the batch was still held when both returned" test "$resumed_after" -eq 1
check_eventually "the first decision is logged: ALLOW by its BINARY rule" 30 \
	grep -q "decision=ALLOW|reason=BINARY|.*|path=$mnt/other/fresh" "$work/santa.log"

rc=0
wait "$blocker" || rc=$?
check "santactl's block is answered once the batch committed (exit $rc)" test "$rc" -eq 0 -a "$(resumed)" -eq 2
rc=0
"$mnt/other/victim" 2> /dev/null || rc=$?
check "the victim is denied at once after the answer (exit $rc): no cached allow outlived the commit" \
	test "$rc" -ne 0
check_eventually "its line: DENY by the BINARY rule" 30 \
	grep -q "decision=DENY|reason=BINARY|.*|path=$mnt/other/victim" "$work/santa.log"
check "status counts three binary rules (the block replaced an allow)" \
	bash -c "'$santactl' status | grep -qE 'Binary Rules +\\| 3\$'"
kill "$pid"
check_eventually "santad stops" 30 bash -c "! kill -0 $pid 2> /dev/null"
pid=
check_finish rule_batch_stall
