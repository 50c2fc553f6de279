#!/usr/bin/env bash
# Issue class C against merged execs: santad keeps an allowed file's read
# lease after its answer until the execs it answered have settled (they run
# the file, left execve, or are gone: src/santad/lease_hold.h); identical
# execs of one file are merged into one job (src/santad/exec_job.h). Played as
# nobody against santad in LOCKDOWN: 10 execs of one allowlisted program of
# nobody's, merged; the first and the 7 merged last run at once, the 2 in
# between are starved (SCHED_IDLE beside CPU hogs); once santad answered,
# nobody opens the program for writing and puts /bin/echo's code over it.
# Were the lease let go once the execs that run at once settled (santad
# followed at most 8: the first and the 7 merged last), the starved ones
# would run the new code as the allowlisted program
# (tests/lib/rewrite_merged.py). Then the same with 3 execs (one starved)
# while another allowlisted program of nobody's is decided in between: santad
# had room to hold one file's lease only (its cap was set after the lease
# holds were made), so the second pushed the first one's out and the new
# code ran in about half the attempts.
# usage: lease_merged.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
source "$here/../lib/checks.sh"
source "$here/../lib/santad_metric.sh"
chmod 0755 "$work"
mnt=$work/mnt
mkdir "$mnt/home"
chown 65534:65534 "$mnt/home"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

# Large enough (holes: nothing on disk) that 20 execs started one after the
# other all wait for its hash; small enough to hash in well under a second.
size=${SANTA_LEASE_MERGED_SIZE:-256M}
as_nobody cp /bin/true "$mnt/home/pristine"
as_nobody truncate -s "$size" "$mnt/home/pristine"
as_nobody cp --sparse=always "$mnt/home/pristine" "$mnt/home/prog"
sha=$(sha256sum < "$mnt/home/pristine" | cut -d' ' -f1)
cp /bin/echo "$work/evil-code"
chmod 0644 "$work/evil-code"

# Another allowlisted program of nobody's, small: decided at once.
as_nobody cp /bin/true "$mnt/home/other"
other_sha=$(sha256sum < "$mnt/home/other" | cut -d' ' -f1)
cp "$mnt/home/other" "$work/other-pristine"

santa_write_config LOCKDOWN "DecisionTimeoutMs = 60000" "EnableLoaderCheck = false" \
	"[StaticRule:prog]" "identifier = $sha" "rule_type = BINARY" "policy = ALLOWLIST" \
	"[StaticRule:other]" "identifier = $other_sha" "rule_type = BINARY" "policy = ALLOWLIST"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"

out=$(as_nobody "$mnt/home/prog" EVIL-RAN 2>&1) && st=0 || st=$?
check "the allowlisted program runs untouched (exit $st)" test "$st" -eq 0 -a -z "$out"

# Attempts go on until 4 were clean (no starved exec slipped past its exec
# point before the writer came: rewrite_merged.py), at most 30 or 45 s.
want=4
max_attempts=30
execs=10
merged0=$(santad_metric /santa/decisions/merged)
result=$(as_nobody /usr/bin/python3 "$here/../lib/rewrite_merged.py" "$mnt/home/prog" \
	"$mnt/home/pristine" "$work/evil-code" "$max_attempts" "$want" "$execs" 7)
read -r ran evil_execs clean busy missed <<< "$result"
merged=$(($(santad_metric /santa/decisions/merged) - merged0))
echo "# $((clean + busy + missed)) attempts of $execs execs ($merged merged): $clean clean, $busy with a starved exec past its exec point before the writer (ETXTBSY), $missed not played; the new code ran in $ran ($evil_execs execs)"
check "code written over an allowlisted program while merged execs of it were starved never ran ($ran of $clean attempts, $evil_execs execs)" \
	test "$ran" -eq 0
check "the attack was played: $clean clean attempts (at least 2)" test "$clean" -ge 2
check "the execs were merged ($merged, at least $((clean * (execs - 1))))" \
	test "$merged" -ge $((clean * (execs - 1)))

# The same while another allowlisted file of nobody's is decided in between:
# santad holds both leases (it has room for as many files as execs may be
# merged), so the second does not push the first one's out.
result=$(as_nobody /usr/bin/python3 "$here/../lib/rewrite_merged.py" "$mnt/home/prog" \
	"$mnt/home/pristine" "$work/evil-code" "$max_attempts" 8 3 1 "$mnt/home/other" \
	"$work/other-pristine")
read -r ran evil_execs clean busy missed <<< "$result"
echo "# with another file decided in between: $((clean + busy + missed)) attempts, $clean clean, $busy ETXTBSY, $missed not played; the new code ran in $ran ($evil_execs execs)"
check "code written over an allowlisted program, while another allowlisted file was decided and its exec starved, never ran ($ran of $clean attempts, $evil_execs execs)" \
	test "$ran" -eq 0
check "the attack with another file was played: $clean clean attempts (at least 4)" test "$clean" -ge 4

kill "$pid"
st=0
wait "$pid" || st=$?
pid=
check "santad exits 0" test "$st" -eq 0
check_finish lease_merged
