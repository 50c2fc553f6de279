# Sourced by the tests in which a user's server holds one of santad's threads
# (tests/adversarial/fuse_stall.sh, fuse_walk.sh), after checks.sh, with
# $santactl and $work set: what must go on meanwhile, as if nothing held it.
#
#   check_not_held PREFIX ALLOWED UNKNOWN
#     root's ALLOWED (allowlisted) program runs and the UNKNOWN one is denied
#     (exit 126), each within 3 s; `santactl status` answers within 5 s; both
#     are then decided by rule in santa.log (ALLOW BINARY, DENY UNKNOWN), not
#     by a deadline. PREFIX starts each check's description.
#   ms_since START: milliseconds since START (an ${EPOCHREALTIME/./})
#   decided_by_rule DECISION REASON PROGRAM: PROGRAM's line in santa.log says so

ms_since() { echo $(((${EPOCHREALTIME/./} - $1) / 1000)); }

decided_by_rule() {
	grep -q "decision=$1|reason=$2|.*|path=$3\$\|decision=$1|reason=$2|.*|path=$3|" "$work/santa.log"
}

check_not_held() {
	local prefix=$1 allowed=$2 unknown=$3 t0 t r
	t0=${EPOCHREALTIME/./}
	if timeout -s KILL 10 "$allowed"; then r=ran; else r="exit $?"; fi
	t=$(ms_since "$t0")
	check "${prefix}root's allowlisted program runs within 3 s meanwhile ($r after $t ms)" \
		test "$r" = ran -a "$t" -lt 3000
	t0=${EPOCHREALTIME/./}
	if timeout -s KILL 10 "$unknown" 2> /dev/null; then r=ran; else r="exit $?"; fi
	t=$(ms_since "$t0")
	check "${prefix}an unknown program is denied within 3 s meanwhile ($r after $t ms)" \
		test "$r" = "exit 126" -a "$t" -lt 3000
	t0=${EPOCHREALTIME/./}
	if timeout -s KILL 10 "$santactl" status > "$work/status.txt" 2>&1; then r=answered; else r="exit $?"; fi
	t=$(ms_since "$t0")
	check "${prefix}santactl status answers within 5 s meanwhile ($r after $t ms)" \
		test "$r" = answered -a "$t" -lt 5000
	check_eventually "${prefix}the allow is by rule (ALLOW BINARY), not a deadline" 10 \
		decided_by_rule ALLOW BINARY "$allowed"
	check_eventually "${prefix}the denial is by rule (DENY UNKNOWN), not a deadline" 10 \
		decided_by_rule DENY UNKNOWN "$unknown"
}
