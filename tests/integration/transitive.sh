#!/usr/bin/env bash
# Transitive rules in LOCKDOWN: a program with an ALLOWLIST_COMPILER rule (a
# copy of cp stands in for a compiler) writes a program, which then runs;
# a program nobody's compiler wrote stays blocked; bytes another process
# slips into a compiler's output right after it closed it get no rule; the
# rule shows in santactl and is ignored while EnableTransitiveRules is off.
# usage: transitive.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
chmod 0755 "$work"
mnt=$work/mnt
source "$(dirname "$0")/../lib/checks.sh"

cp /usr/bin/cp "$mnt/cc"
cc_sha=$(sha256sum "$mnt/cc" | cut -d' ' -f1)
id_sha=$(sha256sum /usr/bin/id | cut -d' ' -f1)

write_config() {  # EnableTransitiveRules value, extra lines...
	{
		santa_test_config
		cat <<CONF
ClientMode = LOCKDOWN
SantactlPath = $santactl
EnableTransitiveRules = $1
# The race below stops santad (SIGSTOP) while a compiler writes: with the
# loader check's FAN_OPEN_PERM every open on the watched mount would wait for it.
EnableLoaderCheck = false
CONF
		shift
		printf '%s\n' "$@"
	} > "$work/santa.conf"
	chmod 0644 "$work/santa.conf"
}
write_config true
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"
"$santactl" rule --compiler --sha256 "$cc_sha" > /dev/null

runs() { "$@" > /dev/null 2>&1; }
exec_lines() { grep -cF "path=$1" "$work/santa.log" 2> /dev/null || true; }  # PATH: its exec lines so far
more_lines() { [ "$(exec_lines "$1")" -gt "$2" ]; }
# PATH [SEEN]: the reason= of its last exec line, once it has more than SEEN
# lines (default 0): the log is written after the answer, so the line of the
# exec just made may not be there yet, and an older one must not stand in for it.
log_reason() {
	wait_until 20 more_lines "$1" "${2:-0}" || true
	grep -F "path=$1" "$work/santa.log" | sed -n 's/.*|reason=\([A-Z_]*\)|.*/\1/p' | sed -n '$p'
}
in_err() { grep -qF -- "$1" "$work/santad.err"; }
err_count() { [ "$(grep -cF -- "$1" "$work/santad.err")" -ge "$2" ]; }
# A round trip through santad's loop: whatever the loop was doing when asked
# (writing a rule, logging) is done when the answer comes.
loop_round_trip() { "$santactl" status > /dev/null; }
no_rule() { grep -q "No rule exists" <<< "$("$santactl" rule --check --sha256 "$1")"; }

# Written by hand: nobody's compiler made it, so LOCKDOWN blocks it.
cat /usr/bin/whoami > "$mnt/byhand"
chmod 0755 "$mnt/byhand"
if runs "$mnt/byhand"; then fail "a program written by hand ran in LOCKDOWN"; else pass "a program written by hand is blocked"; fi

# Written by the compiler: it runs at once (its rule may still be on its way).
check "the compiler runs (reason COMPILER)" "$mnt/cc" /usr/bin/id "$mnt/built"
check "the compiler's exec is logged with reason COMPILER" test "$(log_reason "$mnt/cc")" = COMPILER
check "the compiler's output runs right away" runs "$mnt/built" -u
reason=$(log_reason "$mnt/built")
check "allowed as TRANSITIVE or PENDING_TRANSITIVE (it was $reason)" \
	bash -c "[ '$reason' = TRANSITIVE ] || [ '$reason' = PENDING_TRANSITIVE ]"
check_eventually "santad recorded a transitive rule naming the compiler" 20 \
	in_err "transitive rule for $mnt/built ($id_sha), written by compiler $cc_sha"
check "rule --check says Transitive" grep -q "Allowed (.*Transitive)" <<< "$("$santactl" rule --check --sha256 "$id_sha")"
check "santactl status counts it" python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["database"]["transitive_rules"]==1 and d["database"]["binary_rules"]==1 and d["database"]["transitive_writes_dropped"]==0, d["database"]' <<< "$("$santactl" status --json)"
"$santactl" flushcache > /dev/null
seen=$(exec_lines "$mnt/built")
check "after a cache flush it runs by its rule" runs "$mnt/built" -u
check "with reason TRANSITIVE" test "$(log_reason "$mnt/built" "$seen")" = TRANSITIVE

# Another process appends to the compiler's output right after the compiler closed it.
"$mnt/cc" /usr/bin/hostname "$mnt/raced"
printf '\n# appended by someone else\n' >> "$mnt/raced"
if runs "$mnt/raced"; then fail "bytes appended to a compiler's output ran"; else pass "bytes appended to a compiler's output are blocked"; fi
# santad is done with the compiler's output once it logged either outcome: the
# append seen (no rule), or a rule for the bytes it hashed before the append.
raced_done() { in_err "$mnt/raced was changed by another process" || in_err "transitive rule for $mnt/raced ("; }
check_eventually "santad dealt with the compiler's output" 20 raced_done
loop_round_trip
raced_sha=$(sha256sum "$mnt/raced" | cut -d' ' -f1)
check "no rule for the changed bytes" no_rule "$raced_sha"

# The same, made certain: santad is stopped while the compiler closes its output and
# another process appends to it, so both events wait in the kernel's queue, in order,
# and the file santad hashes already holds the appended bytes.
mkfifo "$work/fifo"
"$mnt/cc" "$work/fifo" "$mnt/raced2" &
cc_pid=$!
# Once santad let the compiler start, it waits for the fifo; santad is stopped meanwhile.
cc_started() { [ "$(readlink "/proc/$cc_pid/exe" 2> /dev/null)" = "$mnt/cc" ]; }
wait_or_die 20 "the compiler started, waiting for the fifo" cc_started
kill -STOP "$pid"
cat /usr/bin/uname > "$work/fifo"
wait "$cc_pid"
printf '\n# appended by someone else\n' >> "$mnt/raced2"
chmod 0755 "$mnt/raced2" # cp gave it the fifo's mode
kill -CONT "$pid"
check_eventually "santad saw the foreign write queued behind the compiler's close" 20 \
	in_err "$mnt/raced2 was changed by another process"
if runs "$mnt/raced2"; then fail "bytes slipped into a compiler's output before santad looked ran"; else pass "bytes slipped in before santad looked are blocked"; fi

# A compiler's output that is no program (a data file) gets no rule. The marker:
# a program the compiler writes next. One thread hashes what compilers wrote, in
# order, so once the program's rule is logged (and the loop answered santactl
# after that) the data file was dealt with too.
"$mnt/cc" /etc/hostname "$mnt/data.txt"
"$mnt/cc" /usr/bin/tty "$mnt/marker1"
wait_or_die 20 "the marker program after the data file got its rule" in_err "transitive rule for $mnt/marker1 ("
loop_round_trip
check "a data file a compiler wrote gets no rule" bash -c "! grep -qF 'transitive rule for $mnt/data.txt' '$work/santad.err'"
check "and santactl knows no rule for it" no_rule "$(sha256sum < "$mnt/data.txt" | cut -d' ' -f1)"

# EnableTransitiveRules off: the rule is kept but not honoured; on again: honoured.
write_config false
kill -HUP "$pid"
wait_or_die 20 "santad turned transitive rules off on SIGHUP" in_err "transitive rules off"
if runs "$mnt/built" -u; then fail "a transitive rule was honoured while transitive rules are off"; else pass "transitive rules off: the compiler's output is blocked"; fi
"$mnt/cc" /usr/bin/groups "$mnt/built2" || true
write_config true
kill -HUP "$pid"
wait_or_die 20 "santad turned transitive rules on again on SIGHUP" err_count "transitive rules on" 2
check "transitive rules on again: the kept rule is honoured" runs "$mnt/built" -u
# The marker for built2: a program the compiler writes now gets its rule, so
# had built2's close been taken while rules were off, its rule would be there.
"$mnt/cc" /usr/bin/printenv "$mnt/marker2"
wait_or_die 20 "the marker program after built2 got its rule" in_err "transitive rule for $mnt/marker2 ("
loop_round_trip
check "and a compiler's output written while they were off got no rule" \
	bash -c "! grep -qF 'transitive rule for $mnt/built2 ' '$work/santad.err'"
check "(santactl knows no rule for it)" no_rule "$(sha256sum < "$mnt/built2" | cut -d' ' -f1)"

# StaticRules: a rule pinned in the configuration applies on SIGHUP, without a restart.
byhand_sha=$(sha256sum "$mnt/byhand" | cut -d' ' -f1)
reloads=$(grep -c "configuration reloaded" "$work/santad.err")
write_config true "[StaticRule:byhand]" "identifier = $byhand_sha" "rule_type = BINARY" "policy = ALLOWLIST"
kill -HUP "$pid"
wait_or_die 20 "santad reloaded the configuration with the static rule" \
	err_count "configuration reloaded" $((reloads + 1))
check "a static rule added with SIGHUP applies at once" runs "$mnt/byhand"
check "santactl status counts the static rule" python3 -c 'import json,sys; assert json.load(sys.stdin)["static_rules"]["rule_count"] == 1' <<< "$("$santactl" status --json)"
check "santactl rule --check shows it" grep -q "^Allowed" <<< "$("$santactl" rule --check --sha256 "$byhand_sha")"

check_finish transitive
