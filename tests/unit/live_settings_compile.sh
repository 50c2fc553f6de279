#!/bin/sh
# A policy generation holds no restart-only setting (src/santad/settings.h):
# reading a live one from d->policy->cfg compiles, each restart-only one is
# a compile error ("no member named"), not just a script's finding.
# usage: live_settings_compile.sh CC SOURCE_DIR
set -u
cc=$1
src=$2
probe() { # FIELD: compiles the probe reading it; prints the compiler's output
	"$cc" -std=gnu11 -D_GNU_SOURCE -DFIELD="$1" -I"$src/include" -I"$src/src/santad" \
		-fsyntax-only "$src/tests/unit/live_settings_probe.c" 2>&1
}
status=0
for f in client_mode fail_closed sync_base_url enable_kernel_ignore_marks helper_directory; do
	if ! out=$(probe "$f"); then
		echo "FAIL: the live setting $f does not compile: $out"
		status=1
	fi
done
for f in watch_paths rules_db_path events_db_path event_log_type run_directory \
	hash_worker_threads file_changes_regex decision_cache_size enable_loader_check \
	sync_state_path santa_gui_path enable_package_trust package_trust_keyrings; do
	if out=$(probe "$f"); then
		echo "FAIL: the restart-only setting $f can be read from a policy"
		status=1
	elif ! printf '%s\n' "$out" | grep -q "no member named.*$f"; then
		echo "FAIL: reading $f from a policy fails, but not for want of the field: $out"
		status=1
	fi
done
[ "$status" -eq 0 ] && echo "ok: live settings compile, restart-only ones do not"
exit "$status"
