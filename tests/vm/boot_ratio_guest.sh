#!/bin/bash
# The guest half of tests/vm/boot_ratio.sh: run by root's login shell on the
# serial console (ttyS0) of the Debian 12 VM, from the 9p share /mnt/santa
# (params: KIND and BOOT; results/ is written back). KIND:
#   prep      dpkg -i santa.deb; santa.conf in LOCKDOWN with one TEAMID rule
#             (Debian's bookworm key); santad enabled and started once (its
#             view cache written), then the VM powers off: the state every
#             measured boot starts from.
#   lockdown  a measured boot with santad (its unit, LOCKDOWN)
#   baseline  a measured boot with santad.service masked (systemd.mask= on
#             the kernel's command line: the same disk, santad never started)
# A measured boot records systemd-analyze time once the system is up, whether
# santad ran and in which mode, and powers off.
set -u
S=/mnt/santa
R=$S/results
source "$S/params"
mkdir -p "$R"
echo "SANTA-BOOT-RATIO $KIND $BOOT START"
exec > >(tee -a "$R/guest-$KIND-$BOOT.log") 2>&1
s=$(timeout 900 systemctl is-system-running --wait 2> /dev/null)
echo "system state: $s"
case $KIND in
prep)
	dpkg -i "$S/santa.deb" || echo "PREP-FAILED dpkg -i"
	cat > /etc/santa/santa.conf <<CONF
ClientMode = LOCKDOWN
; No WatchPaths: every filesystem is watched.

[StaticRule:debian-bookworm]
identifier = $DEBIAN_TEAMID
rule_type = TEAMID
policy = ALLOWLIST
CONF
	systemctl enable santad
	systemctl restart santad
	# The view (and its cache file) loaded once, as on any machine after installation.
	timeout 300 sh -c 'until santactl status --json | grep -q "\"loaded\": *true"; do sleep 0.2; done' ||
		echo "PREP-FAILED view not loaded"
	santactl status | tee "$R/status-prep.txt"
	systemctl stop santad
	;;
lockdown | baseline)
	# systemd-analyze answers once the boot is finished (at once, here).
	timeout 120 sh -c 'until systemd-analyze time > "$1" 2>&1; do sleep 0.2; done' sh "$R/time-$KIND-$BOOT"
	cat "$R/time-$KIND-$BOOT"
	{
		echo "state=$s"
		echo "santad=$(systemctl is-active santad)"
		echo "mode=$(santactl status --json 2> /dev/null | tr -d ' \n' | grep -o '"mode":"[A-Za-z]*"' | head -1)"
		echo "failed=$(systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')"
	} > "$R/info-$KIND-$BOOT"
	cat "$R/info-$KIND-$BOOT"
	systemd-analyze blame 2> /dev/null | head -10 > "$R/blame-$KIND-$BOOT"
	;;
esac
echo "SANTA-BOOT-RATIO $KIND $BOOT DONE"
sync
systemctl poweroff
