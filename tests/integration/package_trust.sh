#!/usr/bin/env bash
# Package trust end to end (docs/package-trust.md): santad in LOCKDOWN on a
# private tmpfs, with a dpkg database and apt lists of the test's own making
# (an archive signed by a key made here with gpg), so that SIGNINGID,
# CERTIFICATE and TEAMID rules have packaged programs to match. Checks the
# precedence (BINARY > SIGNINGID > CERTIFICATE > TEAMID), that a modified or
# user-owned copy of a packaged program is unknown, that an archive with a
# forged signature gives no identity, that a package installed while santad
# runs is trusted without a restart and a removed one no longer is, and what
# santactl fileinfo and status show.
# usage: package_trust.sh SANTAD SANTACTL   (as root)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")

source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
source "$(dirname "$0")/../lib/wait.sh"
mnt=$work/mnt
chmod 0755 "$work" # nobody runs the programs on the tmpfs below it

failures=0
pass() { echo "ok - $1"; }
fail() { echo "not ok - $1"; failures=$((failures + 1)); }

source "$(dirname "$0")/../lib/package_fixture.sh"

tool_sha=$(sha256sum < "$mnt/usr/bin/tool" | cut -d' ' -f1)

santa_write_config LOCKDOWN "DecisionTimeoutMs = 5000" "$(package_trust_config)"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"

ran() { "$@" > /dev/null 2>&1; }
as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
denied() { # PATH: the exec failed with EPERM
	local out
	if out=$("$1" 2>&1 < /dev/null); then return 1; fi
	case "$out" in *"Operation not permitted"*) return 0 ;; *) echo "($out)"; return 1 ;; esac
}
in_log() { grep -qF -- "$1" "$work/santa.log" 2> /dev/null; }
line_for() { wait_until 20 in_log "$1" && grep -F -- "$1" "$work/santa.log" | tail -n 1; }
rule() { "$santactl" rule "$@" > /dev/null; }
status_json() { "$santactl" status --json; }
pkg_field() { status_json | python3 -c "import json,sys; print(json.load(sys.stdin)['package_trust']['$1'])"; }

loaded() { [ "$(pkg_field loaded)" = True ]; }
wait_until 60 loaded || fail "package trust never loaded: $(pkg_field error)"
[ "$(pkg_field packages)" = 5 ] && [ "$(pkg_field packages_with_archive)" = 2 ] &&
	[ "$(pkg_field archives)" = 1 ] && [ "$(pkg_field archives_unsigned)" = 1 ] &&
	pass "status: 5 packages, 2 in the signed archive, the forged archive not trusted" ||
	fail "status package trust: $(status_json | python3 -c 'import json,sys; print(json.load(sys.stdin)["package_trust"])')"

# Every packaged program is verified ahead, so no decision pays the MD5 pass.
prescan_field() { status_json | python3 -c "import json,sys; print(json.load(sys.stdin)['package_trust']['prescan']['$1'])"; }
prescan_done() { [ "$(prescan_field done)" = True ]; }
wait_until 60 prescan_done || fail "the prescan never finished"
[ "$(prescan_field verified)" = 6 ] && [ "$(prescan_field refused)" = 0 ] &&
	pass "prescan: the 6 packaged programs (a conffile among them) verified before any runs" ||
	fail "prescan: verified $(prescan_field verified), refused $(prescan_field refused)"

# No package rule: LOCKDOWN blocks the packaged programs as unknown.
denied "$mnt/usr/bin/tool" && pass "no rule: a packaged program is unknown in LOCKDOWN" ||
	fail "no rule: tool was not denied"

# Critical system binaries (as dpkg installed them, in no archive here): never unknown.
ran as_user "$mnt/usr/bin/crit-sh" && pass "critical (dash's program): runs in LOCKDOWN with no rule" ||
	fail "dash's program was denied as unknown"
line=$(line_for "path=$mnt/usr/bin/crit-sh") || line=
case "$line" in *"decision=ALLOW|reason=SIGNINGID|explain=critical system binary|"*) pass "logged as a critical system binary" ;;
*) fail "critical log line: '$line'" ;; esac
out=$("$santactl" fileinfo --key Rule "$mnt/usr/bin/crit-sh")
[ "$out" = "Allowed (SigningID)" ] && pass "fileinfo: a critical binary's Rule is Allowed (SigningID)" ||
	fail "fileinfo Rule of a critical binary: $out"
crit_sh_sha=$(sha256sum < "$mnt/usr/bin/crit-sh" | cut -d' ' -f1)
crit_santa_sha=$(sha256sum < "$mnt/usr/bin/crit-santa" | cut -d' ' -f1)
rule --block --identifier "$crit_sh_sha"
rule --block --identifier "$crit_santa_sha"
denied "$mnt/usr/bin/crit-sh" && pass "an admin's BINARY block still denies dash's program" ||
	fail "BINARY block on dash's program did not deny it"
ran "$mnt/usr/bin/crit-santa" && pass "santa's own program runs even under a BINARY block (it would disable Santa)" ||
	fail "santa's program was denied by a block rule"
rule --remove --identifier "$crit_sh_sha"
rule --remove --identifier "$crit_santa_sha"
# A user cannot make a program critical: bytes not dpkg's are unknown.
printf 'x' >> "$mnt/usr/bin/crit-sh"
denied "$mnt/usr/bin/crit-sh" && pass "a modified critical program is unknown (denied)" ||
	fail "a modified critical program ran"
truncate -s -1 "$mnt/usr/bin/crit-sh"

# SIGNINGID: TEAMID:package, as Santa's TEAMID:signing.id.
# santactl reads the identifier from the file, as Santa reads it from a signature.
rule --allow --signingid --path "$mnt/usr/bin/tool"
out=$("$santactl" rule --check --signingid --identifier "$team_id:santa-tool")
[ "$out" = "Allowed (SigningID)" ] && pass "rule --signingid --path: the rule is $team_id:santa-tool" ||
	fail "rule --signingid --path did not add $team_id:santa-tool: $out"
ran "$mnt/usr/bin/tool" && pass "SIGNINGID $team_id:santa-tool allows tool" || fail "SIGNINGID rule did not allow tool"
ran as_user "$mnt/usr/bin/tool" && pass "... for every user" || fail "SIGNINGID rule did not allow tool for nobody"
[ "$(pkg_field verified)" = 0 ] && pass "decisions found the verified programs: no MD5 pass at decision time" ||
	fail "decisions read $(pkg_field verified) files for their MD5 although the prescan had verified them"
# Both lines, the decision's and the cached exec's (the kernel no longer asks), name the key.
signed_line="decision=ALLOW|reason=SIGNINGID|sha256=$tool_sha|cert_sha256=$certificate|cert_cn=Santa Test Archive <archive@example.test>|teamid=$team_id|pid="
two_lines() { [ "$(grep -cF -- "$signed_line" "$work/santa.log")" -ge 2 ]; }
if wait_until 20 two_lines; then
	pass "log lines (decided and cached): reason=SIGNINGID with cert_sha256, cert_cn and teamid"
else
	fail "SIGNINGID log lines: $(grep -F "path=$mnt/usr/bin/tool" "$work/santa.log") (want cert $certificate)"
fi
# What dpkg runs that md5sums does not list: the package's maintainer scripts, its conffiles.
ran "$dpkg/info/santa-tool.postinst" && pass "santa-tool's maintainer script runs (its package's, by dpkg's directory)" ||
	fail "santa-tool's postinst was denied"
ran "$mnt/etc/cron.daily/santa-tool" && pass "santa-tool's conffile runs (status's Conffiles MD5)" ||
	fail "santa-tool's conffile was denied"
# A user cannot borrow that path: a root-owned program no package has, bind-mounted over the
# script in their own namespace (the path is the same, the inode is not).
install -m 0755 /bin/cat "$mnt/usr/bin/unpackaged"
attempt=$(setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Urm sh -c '
	mount -t tmpfs tmpfs "$1" && : > "$1/santa-tool.postinst" &&
	mount --bind "$2" "$1/santa-tool.postinst" && "$1/santa-tool.postinst" < /dev/null 2>&1' sh "$dpkg/info" "$mnt/usr/bin/unpackaged" 2>&1) &&
	fail "an unpackaged program ran under the maintainer script's name: $attempt" || {
	case "$attempt" in *"Operation not permitted"*) pass "an unpackaged program bind-mounted over a maintainer script's path is still denied" ;;
	*) fail "the bind-mount attempt failed otherwise: $attempt" ;; esac; }
denied "$mnt/usr/bin/other" && pass "another package of that archive is still unknown" ||
	fail "other was not denied with only tool's SIGNINGID rule"

# TEAMID: every package of archives signed by that key.
rule --allow --teamid --identifier "$team_id"
ran "$mnt/usr/bin/other" && pass "TEAMID $team_id allows every package of the archive" || fail "TEAMID rule did not allow other"
line=$(line_for "reason=TEAMID") || line=
case "$line" in *"decision=ALLOW|reason=TEAMID|"*"teamid=$team_id|"*"path=$mnt/usr/bin/other"*) pass "log line: reason=TEAMID" ;;
*) fail "TEAMID log line: '$line'" ;; esac

# CERTIFICATE beats TEAMID; SIGNINGID beats CERTIFICATE; BINARY beats SIGNINGID.
rule --block --certificate --identifier "$certificate"
denied "$mnt/usr/bin/other" && pass "CERTIFICATE block beats the TEAMID allow" || fail "CERTIFICATE block did not beat TEAMID"
line=$(line_for "decision=DENY|reason=CERT|") || line=
case "$line" in *"|cert_sha256=$certificate|"*"path=$mnt/usr/bin/other"*) pass "log line: reason=CERT naming the certificate" ;;
*) fail "CERT log line: '$line'" ;; esac
ran "$mnt/usr/bin/tool" && pass "SIGNINGID allow beats the CERTIFICATE block" || fail "SIGNINGID did not beat CERTIFICATE"
rule --block --identifier "$tool_sha"
denied "$mnt/usr/bin/tool" && pass "BINARY block beats the SIGNINGID allow" || fail "BINARY did not beat SIGNINGID"
rule --remove --identifier "$tool_sha"
rule --remove --certificate --identifier "$certificate"

# Not the bytes dpkg installed: unknown, whatever the package rules say.
cp "$mnt/usr/bin/tool" "$work/tool.orig"
printf 'x' >> "$mnt/usr/bin/tool"
denied "$mnt/usr/bin/tool" && pass "modified packaged program (one byte appended) is unknown" ||
	fail "a modified packaged program ran"
install -m 0755 "$work/tool.orig" "$mnt/usr/bin/tool"
ran "$mnt/usr/bin/tool" && pass "restored bytes are trusted again" || fail "restored tool denied"
# A user's copy: same bytes, not root's, not at dpkg's path.
chown 65534:65534 "$mnt/home/user"
as_user cp "$mnt/usr/bin/tool" "$mnt/home/user/tool"
out=$(as_user "$mnt/home/user/tool" 2>&1) && fail "nobody's copy of a packaged program ran" || {
	case "$out" in *"Operation not permitted"*) pass "a user's copy of a packaged program is unknown (denied)" ;;
	*) fail "nobody's copy failed, not with EPERM: $out" ;; esac; }
# Group-writable: anyone in the group could have written it.
chmod 0775 "$mnt/usr/bin/other"
denied "$mnt/usr/bin/other" && pass "a group-writable packaged program is unknown" || fail "group-writable other ran"
chmod 0755 "$mnt/usr/bin/other"
[ "$(pkg_field unverified)" -ge 1 ] && pass "status counts refused files" || fail "status unverified count: $(pkg_field unverified)"

# An archive whose signature is not by a trusted key gives no identity.
rule --allow --teamid --identifier "${other_fpr: -10}"
denied "$mnt/usr/bin/rogue" && pass "a package from an archive without a good signature is unknown" ||
	fail "rogue ran: its archive's signature is not by a trusted key"

# fileinfo shows the package chain, and the decision santad would make.
fi_json=$("$santactl" fileinfo --json "$mnt/usr/bin/tool")
if python3 - "$fi_json" "$team_id" "$certificate" "$archive_fpr" <<'PY'
import json, sys
info = json.loads(sys.argv[1])[0]
team, cert, fpr = sys.argv[2:5]
chain = info["Signing Chain"][0]
assert info["Team ID"] == team, info
assert info["Signing ID"] == team + ":santa-tool", info
assert info["Package"] == "santa-tool 1.0-1 (amd64)", info
assert info["Rule"] == "Allowed (SigningID)", info
assert chain["SHA-256"] == cert and chain["SHA-1"] == fpr, chain
assert chain["Common Name"] == "Santa Test Archive <archive@example.test>", chain
assert chain["Organization"] == "Santa Test" and chain["Organizational Unit"] == team, chain
PY
then pass "fileinfo --json: Team ID, Signing ID, Package, Rule and Signing Chain"
else fail "fileinfo --json: $fi_json"; fi
fi_text=$("$santactl" fileinfo "$mnt/usr/bin/tool")
grep -q "^    1\. SHA-256 *: $certificate\$" <<< "$fi_text" &&
	grep -q "^Signing ID: $team_id:santa-tool\$" <<< "$fi_text" &&
	pass "fileinfo shows the Signing ID and Signing Chain as Santa does" || fail "fileinfo human form: $fi_text"

# Santa's --filter (any, or --filter-inclusive all) and --cert-index.
out=$("$santactl" fileinfo --key Path --filter "Signing ID=SANTA-TOOL$" "$mnt/usr/bin/tool" "$mnt/usr/bin/other")
[ "$out" = "$mnt/usr/bin/tool" ] && pass "fileinfo --filter (case-insensitive regex on a key)" || fail "fileinfo --filter: $out"
out=$("$santactl" fileinfo --key Path --filter "Package=santa-tool" --filter "Path=other\$" "$mnt/usr/bin/tool" "$mnt/usr/bin/other" | wc -l)
[ "$out" = 2 ] && pass "fileinfo: any filter suffices" || fail "fileinfo two filters: $out files"
out=$("$santactl" fileinfo --key Path --filter-inclusive --filter "Package=santa-tool" --filter "Path=other\$" "$mnt/usr/bin/tool" "$mnt/usr/bin/other")
[ -z "$out" ] && pass "fileinfo --filter-inclusive: every filter must match" || fail "fileinfo --filter-inclusive: $out"
out=$("$santactl" fileinfo --json --cert-index 0 "$mnt/usr/bin/tool")
[ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[0]["SHA-256"])' "$out")" = "$certificate" ] &&
	pass "fileinfo --cert-index 0: the signing key's certificate keys" || fail "fileinfo --cert-index: $out"

# While dpkg works, its status file is rewritten many times; santad may not get a new view
# in time (here: it cannot, the status file is broken, so the view in force stays). A
# package's programs must run all the same, from dpkg's records as they are on disk.
cp "$dpkg/status" "$work/status.good"
echo "this line is not a field" > "$dpkg/status"
load_failed() { [ -n "$(pkg_field error)" ]; }
wait_until 30 load_failed || fail "a broken status file was not reported"
gen=$(pkg_field generation)
# 1. dpkg unpacks santa-tool 1.1-1: control files in tmp.ci, the new file in place, info/ not yet updated.
mkdir -p "$dpkg/tmp.ci"
install -m 0755 /bin/sync "$mnt/usr/bin/tool"   # the new version's bytes
printf 'Package: santa-tool\nVersion: 1.1-1\nArchitecture: amd64\n' > "$dpkg/tmp.ci/control"
md5line "$mnt/usr/bin/tool" > "$dpkg/tmp.ci/md5sums"
ran "$mnt/usr/bin/tool" && pass "upgrade, while dpkg unpacks: the new file runs (tmp.ci's md5sums)" ||
	fail "upgrade: the new file was denied while dpkg unpacked it"
# 2. dpkg moved the new md5sums into info/ (status not rewritten yet).
mv "$dpkg/tmp.ci/md5sums" "$dpkg/info/santa-tool.md5sums"
rm -r "$dpkg/tmp.ci"
install -m 0755 /bin/sync "$mnt/usr/bin/tool"   # a new inode: nothing cached about it
ran "$mnt/usr/bin/tool" && pass "upgrade, once dpkg recorded the new MD5: runs (info's md5sums as on disk)" ||
	fail "upgrade: the new file was denied after dpkg recorded it"
# 3. A new package: its md5sums written, its program run by its postinst at once.
install -m 0755 /bin/hostname "$mnt/usr/bin/new"
md5line "$mnt/usr/bin/new" > "$dpkg/info/santa-new.md5sums.tmp"
mv "$dpkg/info/santa-new.md5sums.tmp" "$dpkg/info/santa-new.md5sums"
ran "$mnt/usr/bin/new" && pass "a package installed a moment ago: its program runs (recent md5sums)" ||
	fail "a new package's program was denied before santad had a new view"
# ...and a file no md5sums vouches for is still unknown meanwhile.
install -m 0755 /bin/cat "$mnt/usr/bin/new2"
denied "$mnt/usr/bin/new2" && pass "meanwhile, a root-owned file no package lists is unknown" ||
	fail "new2 ran"
[ "$(pkg_field generation)" = "$gen" ] && pass "all of it under the old view (generation $gen)" ||
	fail "the view changed meanwhile: the checks above proved less than they say"
# dpkg finishes: the status file says so, and the next view has it all.
python3 - "$work/status.good" <<'PY'
import sys
text = open(sys.argv[1]).read().replace("Package: santa-tool\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nVersion: 1.0-1",
                                        "Package: santa-tool\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nVersion: 1.1-1")
open(sys.argv[1], "w").write(text)
PY
{ cat "$work/status.good"; status_entry santa-new 1.0; } > "$dpkg/status-new"
mv "$dpkg/status-new" "$dpkg/status"
reloaded() { [ "$(pkg_field generation)" -gt "$gen" ] && [ -z "$(pkg_field error)" ]; }
wait_until 30 reloaded && pass "the repaired status file is loaded" || fail "no new view after the status was repaired"
ran "$mnt/usr/bin/tool" && ran "$mnt/usr/bin/new" && pass "after the new view: both still run" ||
	fail "after the new view, tool or new was denied"
fi_json=$("$santactl" fileinfo --json --key Package "$mnt/usr/bin/tool")
case "$fi_json" in *'"santa-tool 1.1-1 (amd64)"'*) pass "fileinfo: santa-tool 1.1-1" ;; *) fail "fileinfo after the upgrade: $fi_json" ;; esac

# apt update moves the lists on: the installed version is no longer listed. Still the archive's.
make_archive test.example_debian_dists_stable "$archive_fpr" "Santa Test" \
	santa-tool=1.2-1 santa-other=2.0 santa-later=3.0 santa-new=1.0
gen=$(pkg_field generation)
newer() { [ "$(pkg_field generation)" -gt "$gen" ]; }
wait_until 30 newer || fail "no new view after apt's lists changed"
ran "$mnt/usr/bin/tool" && pass "after apt update lists 1.2-1 only, installed 1.1-1 still runs (archive by name)" ||
	fail "installed 1.1-1 denied once its archive listed 1.2-1 only"

# A package installed while santad runs: trusted without a restart, once dpkg's status says so.
denied "$mnt/usr/bin/later" && pass "before its install, later is unknown" || fail "later ran before it was installed"
{ cat "$dpkg/status"; status_entry santa-later 3.0; } > "$dpkg/status-new"
mv "$dpkg/status-new" "$dpkg/status"   # dpkg replaces its status file by rename
later_runs() { ran "$mnt/usr/bin/later"; }
wait_until 30 later_runs && pass "installed while santad runs: trusted by TEAMID without a restart" ||
	fail "later still denied 30 s after its install"
# Removed: its programs are no longer trusted, though the kernel had stopped asking about them.
ran "$mnt/usr/bin/tool" || fail "tool denied before the removal"
python3 - "$dpkg/status" <<'PY'
import sys
paras = open(sys.argv[1]).read().split("\n\n")
keep = [p for p in paras if p.strip() and not p.startswith("Package: santa-tool\n")]
open(sys.argv[1] + "-new", "w").write("\n\n".join(keep) + "\n\n")
PY
mv "$dpkg/status-new" "$dpkg/status"
tool_denied() { denied "$mnt/usr/bin/tool" > /dev/null; }
wait_until 30 tool_denied && pass "removed: tool is unknown again (decisions and ignore marks flushed)" ||
	fail "tool still runs 30 s after its package was removed"
[ "$(pkg_field generation)" -ge 3 ] && pass "status: the view was reloaded (generation $(pkg_field generation))" ||
	fail "generation $(pkg_field generation)"

kill "$pid"
santad_gone() { ! kill -0 "$pid" 2> /dev/null; }
wait_until 60 santad_gone || kill -9 "$pid"
status=0
wait "$pid" || status=$?
pid=
# Exit 0: under the sanitizers that also means no leak and no memory error.
[ "$status" -eq 0 ] && pass "santad stopped cleanly" || fail "santad exited with $status: $(tail -5 "$work/santad.err")"
exit $((failures > 0))
