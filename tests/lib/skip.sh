# Sourced by test scripts: santa_skip REASON ends a test that cannot run here.
# Outside CI it exits 77 (ctest: "Skipped"). Under CI (CI=true) a skip is a
# failure: a test that silently does not run proves nothing, so CI machines
# must have everything the suite needs (scripts/install-deps.sh installs it).
santa_skip() {
	if [ "${CI:-}" = true ]; then
		echo "not ok - cannot run under CI: $1"
		exit 1
	fi
	echo "SKIP: $1"
	exit 77
}
