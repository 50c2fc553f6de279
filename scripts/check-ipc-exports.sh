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

extra=$(comm -23 "$tmp/exported" "$tmp/all")
if [ -n "$extra" ]; then
	echo "exported by libsanta_ipc.a but not in $list (make them static, or list them):"
	echo "$extra" | sed 's/^/  + /'
	fail=1
fi
gone=$(comm -13 "$tmp/exported" "$tmp/all")
if [ -n "$gone" ]; then
	echo "in $list but not exported by libsanta_ipc.a (remove them from the list):"
	echo "$gone" | sed 's/^/  - /'
	fail=1
fi

# What the public headers declare: every "ipc_name(" there.
cat "$inc/santa/ipc.h" "$inc/santa/ipc_msg.h" | grep -o '\bipc_[a-z0-9_]*(' | tr -d '(' |
	sort -u >"$tmp/declared"
undeclared=$(comm -23 "$tmp/public" "$tmp/declared")
if [ -n "$undeclared" ]; then
	echo "listed as public but declared in neither santa/ipc.h nor santa/ipc_msg.h:"
	echo "$undeclared" | sed 's/^/  ? /'
	fail=1
fi
unlisted=$(comm -23 "$tmp/declared" "$tmp/public")
if [ -n "$unlisted" ]; then
	echo "declared in santa/ipc.h or santa/ipc_msg.h but not listed as public:"
	echo "$unlisted" | sed 's/^/  + /'
	fail=1
fi
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
