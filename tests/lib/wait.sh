# Sourced by tests/lib/checks.sh: bounded polls for asynchronous effects.
# A test never sleeps and hopes: it waits until the effect is there, up to a
# timeout generous enough for a loaded CI machine, and fails saying what it
# waited for. A check that something did NOT happen first waits for a later
# event that must come after it (a marker), so the absence means something.
#
#   wait_until SECONDS COMMAND...        0 once COMMAND succeeds, 1 at the timeout
#   check_eventually WHAT SECONDS COMMAND...   a check that passes once COMMAND does
#   wait_or_die SECONDS WHAT COMMAND...  setup that must happen: ends the script otherwise
#
# Polls start at 20 ms and back off to 200 ms, so a fast effect is seen fast
# and a slow one costs few polls. SECONDS may be fractional.

wait_until() {
	local timeout=$1
	shift
	local deadline delay=0.02
	# Microseconds since the epoch, from bash itself (no process per poll).
	deadline=$((${EPOCHREALTIME/./} + $(awk -v t="$timeout" 'BEGIN { printf "%d", t * 1000000 }')))
	while :; do
		"$@" && return 0
		[ "${EPOCHREALTIME/./}" -lt "$deadline" ] || break
		sleep "$delay"
		case $delay in 0.02) delay=0.05 ;; 0.05) delay=0.1 ;; *) delay=0.2 ;; esac
	done
	# One last look: the effect may have landed during the final sleep.
	"$@"
}

check_eventually() {
	local what=$1 timeout=$2
	shift 2
	if wait_until "$timeout" "$@"; then
		pass "$what"
	else
		fail "$what (not true after ${timeout} s: $*)"
	fi
}

wait_or_die() {
	local timeout=$1 what=$2
	shift 2
	wait_until "$timeout" "$@" && return 0
	echo "not ok - $what (not true after ${timeout} s: $*)"
	[ -n "${work:-}" ] && [ -f "$work/santad.err" ] && tail -40 "$work/santad.err" | sed 's/^/# /'
	exit 1
}
