#!/bin/bash
# The guest half of tests/vm/debian_lockdown.sh: run by root's login shell on
# the serial console (ttyS0) of the Debian 12 VM at every boot, from the 9p
# share /mnt/santa (params, guest_lib.sh, santa.deb, hello, santa-test.gpg;
# results/ is written back). Which boot this is, is kept in
# /var/lib/santa-vm-test/stage:
#   1: dpkg -i santa.deb (santad starts in MONITOR), fileinfo, santad disabled
#   2: baseline boot (no santad), santa.conf in LOCKDOWN with one TEAMID rule
#   3: LOCKDOWN: the checks; then results are collected and the VM powers off
# Check lines ("ok - ..." / "not ok - ...") go to results/checks.
set -u
S=/mnt/santa
R=$S/results
state=/var/lib/santa-vm-test/stage
mkdir -p /var/lib/santa-vm-test "$R"
stage=$(cat "$state" 2> /dev/null || echo 1)
source "$S/params"
echo "SANTA-VM-STAGE $stage START"
exec > >(tee -a "$R/guest-$stage.log") 2>&1

source "$S/guest_lib.sh" # check, note, wait_until
# systemd is done booting (running, or degraded: failed units are listed apart).
boot_finished() {
	local s
	s=$(timeout 600 systemctl is-system-running --wait 2> /dev/null)
	echo "system state: $s"
	[ "$s" = running ] || [ "$s" = degraded ]
}
record_boot() { # name
	wait_until 120 systemd-analyze time > "$R/boot-$1" 2>&1
	cat "$R/boot-$1"
	systemd-analyze blame 2> /dev/null | head -15 > "$R/blame-$1"
	systemctl --failed --no-legend --plain > "$R/failed-$1" 2>&1
}
next_boot() {
	echo "$1" > "$state"
	sync
	echo "SANTA-VM-STAGE $stage DONE"
	systemctl reboot
	exit 0
}
santa_log=/var/log/santa/santa.log
# A santa.log line with this decision and reason (a regex: "TEAMID", "[A-Z_]*")
# for this exact path (fields compared, so a grep whose args name the path is not one).
in_log() { # decision reason path
	awk -F'|' -v d="$1" -v r="^reason=$2\$" -v p="path=$3" '
		{ dec = ""; rea = ""; pa = ""
		  for (i = 1; i <= NF; i++) {
			if ($i ~ /decision=/ && dec == "") { dec = $i; sub(/.*decision=/, "", dec) }
			if ($i ~ /^reason=/ && rea == "") rea = $i
			if ($i ~ /^path=/ && pa == "") pa = $i
		  }
		  if (dec == d && rea ~ r && pa == p) found = 1 }
		END { exit !found }' "$santa_log" 2> /dev/null
}

case $stage in
1)
	boot_finished
	record_boot first
	check "dpkg -i installs our .deb" dpkg -i "$S/santa.deb"
	check "santad runs after installation (its unit, MONITOR)" wait_until 30 systemctl -q is-active santad
	journalctl -b -u santad -o short-monotonic --no-pager > "$R/santad-journal-install.txt" 2>&1
	tail -20 "$R/santad-journal-install.txt"
	santactl fileinfo /usr/bin/ls > "$R/fileinfo-ls.txt" 2>&1
	cat "$R/fileinfo-ls.txt"
	check "santactl fileinfo /usr/bin/ls shows Debian's bookworm key's Team ID $DEBIAN_TEAMID" \
		grep -q "Organizational Unit *: $DEBIAN_TEAMID" "$R/fileinfo-ls.txt"
	systemctl disable --now santad
	next_boot 2
	;;
2)
	boot_finished
	record_boot baseline
	check "without santad enabled, santad is not running (baseline boot)" bash -c '! systemctl -q is-active santad'
	cat > /etc/santa/santa.conf <<CONF
ClientMode = LOCKDOWN
; No WatchPaths: every filesystem is watched.
SyncBaseURL = $SYNC_URL
; The host, through qemu's user network: plain http, allowed on purpose.
SyncAllowInsecureHTTP = true
SyncEnableCleanSyncEventUpload = true

[StaticRule:debian-bookworm]
identifier = $DEBIAN_TEAMID
rule_type = TEAMID
policy = ALLOWLIST
CONF
	check "santad --check-config accepts the LOCKDOWN configuration" santad --check-config --config /etc/santa/santa.conf
	check "systemctl enable santad" systemctl enable santad
	next_boot 3
	;;
3)
	boot_finished
	record_boot lockdown
	check "LOCKDOWN boot: multi-user.target reached" systemctl -q is-active multi-user.target
	check "LOCKDOWN boot: no unit failed that did not fail in the baseline boot" \
		bash -c "diff <(sort $R/failed-baseline) <(sort $R/failed-lockdown) > $R/failed-diff; cat $R/failed-diff; ! grep -q '^>' $R/failed-diff"
	check "LOCKDOWN boot: root's login shell on ttyS0 runs (this script)" true
	check "LOCKDOWN boot: a login shell of the test user works (su - santauser)" \
		bash -c '[ "$(su - santauser -c "id -un" 2>&1)" = santauser ]'
	check "santad is active (its systemd unit)" systemctl -q is-active santad
	santactl status > "$R/status.txt" 2>&1
	cat "$R/status.txt"
	check "santactl status: Mode Lockdown" grep -qi "Mode *| *Lockdown" "$R/status.txt"
	check "santactl status: package trust loaded (signed archives, packages in them)" \
		bash -c "grep -q 'Enabled *| *Yes\$' $R/status.txt && grep -Eq 'Packages *\\| *[0-9]+ \\([1-9][0-9]* in a signed archive\\)' $R/status.txt && grep -Eq 'Signed Archives *\\| *[1-9]' $R/status.txt"
	santactl fileinfo /usr/bin/ls > "$R/fileinfo-ls-lockdown.txt" 2>&1
	check "santactl fileinfo /usr/bin/ls: allowed by the TEAMID rule" grep -qi "Rule *: *Allowed (TeamID)" "$R/fileinfo-ls-lockdown.txt"

	# An unknown program in the test user's home.
	out=$(su - santauser -c "cp $S/hello ~/hello && chmod 0755 ~/hello && ~/hello" 2>&1)
	echo "unknown program: $out"
	check "an unknown program in the test user's home is denied with EPERM" grep -q "Operation not permitted" <<< "$out"
	check "... and the denial is in santa.log" wait_until 20 in_log DENY UNKNOWN /home/santauser/hello
	out=$(su - santauser -c "cp /usr/bin/id ~/id && ~/id" 2>&1)
	check "a copy of a packaged program in the test user's home is denied (EPERM)" grep -q "Operation not permitted" <<< "$out"

	# A local apt archive signed by a throwaway key (Signed-By), over the
	# network: if networking.service failed in this boot, eth0 is raised by
	# hand so that the checks after it still run (the failure is counted above).
	if ! ip route | grep -q '^default'; then
		note "no default route (networking.service: $(systemctl is-active networking)): ifup eth0 by hand"
		ifup eth0 || ifup --force eth0
	fi
	# The block reaches the sync server (the host checks what it received).
	check "santactl sync succeeds (the sync server on the host; santad's helper reaches it)" santactl sync
	santactl status > "$R/status-sync.txt" 2>&1 || true

	# A local apt archive signed by a throwaway key (Signed-By).
	install -m 0644 "$S/santa-test.gpg" /etc/apt/keyrings/santa-test.gpg
	printf 'Types: deb\nURIs: %s\nSuites: santa-test\nComponents: main\nSigned-By: /etc/apt/keyrings/santa-test.gpg\n' "$REPO_URL" \
		> /etc/apt/sources.list.d/santa-test.sources
	# Only this archive is fetched again: Debian's lists stay the pinned ones.
	apt_update() {
		apt-get update -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/santa-test.sources \
			-o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
	}
	export DEBIAN_FRONTEND=noninteractive
	check "apt-get update of the local archive" apt_update
	santactl status | grep -E 'Signed Archives|Not Trusted|Packages'
	apt-get install -y santa-vm-hello > "$R/apt-hello-before.txt" 2>&1
	st=$?
	cat "$R/apt-hello-before.txt"
	out=$(santa-vm-hello 2>&1)
	echo "apt-get install exit $st; santa-vm-hello: $out"
	check "before a TEAMID rule for the test key: installing santa-vm-hello fails in dpkg or its program is blocked (EPERM)" \
		bash -c "grep -q '^Unpacking santa-vm-hello' $R/apt-hello-before.txt && { [ $st -ne 0 ] || grep -q 'Operation not permitted' <<< '$out'; }"
	check "... and santa.log has the denial" wait_until 20 in_log DENY "[A-Z_]*" /usr/bin/santa-vm-hello
	# santactl rule refuses while StaticRules are set ("rules are managed
	# centrally", as Santa): the test key's rule is a second static rule, applied
	# by a reload (SIGHUP).
	printf '\n[StaticRule:santa-test-archive]\nidentifier = %s\nrule_type = TEAMID\npolicy = ALLOWLIST\n' "$TEST_TEAMID" >> /etc/santa/santa.conf
	systemctl reload santad
	check "a TEAMID rule for the test key ($TEST_TEAMID) is in force after a reload" \
		wait_until 20 bash -c "santactl fileinfo /usr/bin/santa-vm-hello | grep -q 'Rule *: *Allowed (TeamID)'"
	apt-get install -y santa-vm-hello > "$R/apt-hello-after.txt" 2>&1
	st=$?
	cat "$R/apt-hello-after.txt"
	check "after the rule: apt-get install santa-vm-hello succeeds" [ $st -eq 0 ]
	santactl fileinfo /usr/bin/santa-vm-hello > "$R/fileinfo-hello.txt" 2>&1
	cat "$R/fileinfo-hello.txt"
	out=$(wait_until 15 santa-vm-hello 2>&1 | tail -1)
	echo "santa-vm-hello: $out"
	check "after the rule: santa-vm-hello 1.0 runs" [ "$out" = "santa-vm-hello 1" ]
	check "... allowed by the TEAMID rule in santa.log" wait_until 20 in_log ALLOW TEAMID /usr/bin/santa-vm-hello

	# An upgrade to 2.0 while 1.0 runs.
	santa-vm-hello serve /run/hello-heartbeat &
	server=$!
	wait_until 10 test -s /run/hello-heartbeat
	ln -sfn v2 "$S/www/repo"
	# Newer than what apt has: the host's server answers If-Modified-Since by the files'
	# times, and both archives were written in the same second (apt would keep v1's lists).
	find "$S/www/v2/" -type f -exec touch {} +
	check "apt-get update (the archive now lists santa-vm-hello 2.0 only)" apt_update
	out=$(santa-vm-hello 2>&1)
	note "after apt-get update, before the upgrade, the installed santa-vm-hello 1.0: $out"
	apt-get install -y santa-vm-hello > "$R/apt-upgrade.txt" 2>&1
	st=$?
	cat "$R/apt-upgrade.txt"
	check "apt-get install upgrades santa-vm-hello to 2.0" \
		bash -c "[ $st -eq 0 ] && [ \"\$(dpkg-query -W -f='\${Version}' santa-vm-hello)\" = 2.0 ]"
	b1=$(cat /run/hello-heartbeat)
	sleep 1
	b2=$(cat /run/hello-heartbeat)
	check "santa-vm-hello 1.0, running through the upgrade, still runs ($b1 -> $b2)" \
		bash -c "kill -0 $server && [ '$b1' != '$b2' ]"
	touch /run/hello-heartbeat.stop
	out=$(wait_until 15 santa-vm-hello 2>&1 | tail -1)
	echo "santa-vm-hello: $out"
	check "after the upgrade: santa-vm-hello 2.0 runs" [ "$out" = "santa-vm-hello 2" ]

	# A package with a maintainer script (as most Debian packages have); after
	# the upgrade, since a package dpkg failed to configure stops apt from upgrading.
	apt-get install -y santa-vm-hook > "$R/apt-hook.txt" 2>&1
	st=$?
	cat "$R/apt-hook.txt"
	check "apt-get install of a package whose postinst runs (santa-vm-hook) succeeds" \
		bash -c "[ $st -eq 0 ] && [ -f /var/lib/santa-vm-hook/postinst-ran ]"

	# Everything to the host: santad's journal, santa.log, what was denied.
	journalctl -b -u santad -o short-monotonic --no-pager > "$R/santad-journal.txt" 2>&1
	journalctl -b -p warning -o short-monotonic --no-pager > "$R/journal-warnings.txt" 2>&1
	journalctl -b -o short-monotonic --no-pager > "$R/journal.txt" 2>&1
	cp "$santa_log" "$R/santa.log"
	grep 'decision=DENY' "$santa_log" > "$R/denied.txt"
	note "santa.log: $(grep -c 'decision=ALLOW' "$santa_log") allowed, $(grep -c 'decision=DENY' "$santa_log") denied execs in this boot"
	note "denied: $(grep -o 'path=[^|]*' "$R/denied.txt" | sort | uniq -c | sort -rn | head -20 | tr '\n' ';')"
	santactl status > "$R/status-end.txt" 2>&1
	echo "SANTA-VM-STAGE 3 DONE"
	sync
	systemctl poweroff
	;;
*)
	echo "SANTA-VM-STAGE: nothing to do in stage $stage"
	;;
esac
