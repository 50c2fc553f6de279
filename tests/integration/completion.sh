#!/usr/bin/env bash
# The bash completion offers every flag each santactl command's usage lists
# (the usage text santactl prints for an unknown flag is the reference).
# usage: completion.sh SANTACTL SOURCE_DIR
set -euo pipefail
santactl=$(realpath "$1")
source "$2/packaging/bash-completion/santactl"
failures=0
for cmd in rule fileinfo sync metrics bundleinfo checkcache; do
	flags=$(SANTA_CONFIG=/nonexistent "$santactl" "$cmd" --no-such-flag-x 2>&1 |
		grep -oE -- '--[a-z][a-z0-9-]+' | grep -vx -- '--no-such-flag-x' | sort -u || true)
	COMP_WORDS=(santactl "$cmd" --)
	COMP_CWORD=2
	COMPREPLY=()
	set +e # completion functions run without -e: compgen fails when nothing matches
	_santactl
	set -e
	for flag in $flags; do
		if ! printf '%s\n' "${COMPREPLY[@]}" | grep -qx -- "$flag"; then
			echo "not ok - santactl $cmd: the completion does not offer $flag"
			failures=$((failures + 1))
		fi
	done
	echo "ok - santactl $cmd: $(wc -w <<< "$flags") flags checked"
done
exit $((failures > 0))
