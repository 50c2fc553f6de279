#!/bin/bash
# lib/ipc's surface must not grow back silently (issue 22): the archive's
# global definitions must be exactly lib/ipc/exports.txt, its "public" names
# declared in the public headers and its "tests"/"internal" names in none.
# usage: check-ipc-exports.sh NM LIBSANTA_IPC.A EXPORTS.TXT INCLUDE_DIR
set -u
nm=$1 lib=$2 list=$3 inc=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# Strong global definitions: a sanitizer's or coverage's helpers are weak or
# dotted or reserved (__*), and are the compiler's, not lib/ipc's.
if ! "$nm" -g --defined-only "$lib" >"$tmp/nm"; then
	echo "cannot list $lib's symbols with $nm"
	exit 1
fi
awk 'NF == 3 && $2 ~ /^[TDBRG]$/ && $3 !~ /^__|\./ { print $3 }' "$tmp/nm" | sort -u >"$tmp/exported"
awk '/^# public:/ { s = "public" } /^# (tests|internal):/ { s = "private" }
     !/^#/ && NF { print s, $1 }' "$list" >"$tmp/listed"
awk '{ print $2 }' "$tmp/listed" | sort -u >"$tmp/all"
awk '$1 == "public" { print $2 }' "$tmp/listed" | sort -u >"$tmp/public"
awk '$1 == "private" { print $2 }' "$tmp/listed" | sort -u >"$tmp/private"

# report TITLE MARK NAMES: prints the names under the title when there are any.
report() {
	[ -n "$3" ] || return 0
	echo "$1"
	echo "$3" | sed "s/^/  $2 /"
	fail=1
}

# What the public headers declare: every "ipc_name(" there.
cat "$inc/santa/ipc.h" "$inc/santa/ipc_msg.h" | grep -o '\bipc_[a-z0-9_]*(' | tr -d '(' |
	sort -u >"$tmp/declared"

report "exported by libsanta_ipc.a but not in $list (make them static, or list them):" + \
	"$(comm -23 "$tmp/exported" "$tmp/all")"
report "in $list but not exported by libsanta_ipc.a (remove them from the list):" - \
	"$(comm -13 "$tmp/exported" "$tmp/all")"
report "listed as public but declared in neither santa/ipc.h nor santa/ipc_msg.h:" '?' \
	"$(comm -23 "$tmp/public" "$tmp/declared")"
report "declared in santa/ipc.h or santa/ipc_msg.h but not listed as public:" + \
	"$(comm -23 "$tmp/declared" "$tmp/public")"
while read -r name; do
	if grep -lw -- "$name" "$inc"/santa/*.h >"$tmp/where" 2>/dev/null; then
		echo "$name is lib/ipc's own (tests/internal) but a public header names it: $(cat "$tmp/where")"
		fail=1
	fi
done <"$tmp/private"

if [ "$fail" = 0 ]; then
	echo "libsanta_ipc.a exports $(wc -l <"$tmp/exported") symbols," \
		"$(wc -l <"$tmp/public") of them public, as $list says"
fi
exit "$fail"
