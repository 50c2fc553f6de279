# Shared by the guest halves of tests/vm (debian_lockdown_guest.sh,
# adversarial_guest.sh), sourced from the 9p share: check lines for the host
# ("ok - ..." / "not ok - ..." in $R/checks), notes ("# ..."), bounded polls.
# Needs R, the results directory on the share.
check() { # description command...: ok when the command succeeds
	local d=$1
	shift
	if "$@"; then echo "ok - $d" | tee -a "$R/checks"; else echo "not ok - $d" | tee -a "$R/checks"; fi
}
note() { echo "# $*" | tee -a "$R/checks"; }
# Waits (at most $1 s) until the command succeeds.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}
