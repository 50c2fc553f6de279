# Sourced by the integration scripts: TAP-like "ok - ..." / "not ok - ..." lines
# and a failure count; check_finish NAME ends the script (exit 1 on any failure,
# with the tail of santad's log).
failures=0
pass() { echo "ok - $1"; }
fail() { echo "not ok - $1"; failures=$((failures + 1)); }
check() { # DESCRIPTION COMMAND...: passes when the command succeeds
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
check_finish() {
	if [ "$failures" -gt 0 ]; then
		echo "$failures check(s) failed"
		[ -f "$work/santad.err" ] && tail -40 "$work/santad.err" | sed 's/^/# /'
		exit 1
	fi
	echo "all $1 checks passed"
}
source "$(dirname "${BASH_SOURCE[0]}")/wait.sh"
