#!/usr/bin/env bash
# santa-gui against users who are not at the console (issue 25, item 5).
#
# Agents: santad keeps at most 4 agents per user and 32 in all. A user who
# is not at the console starts many copies of the real santa-gui: santad
# keeps 4 of them, so another user's agent still registers; a refused agent
# tries again by itself and gets in once a slot frees; with the table full of
# other users' agents, the console user's agent still registers (another
# agent gives way) and the person at the screen is told of a block.
#
# Notices: a blocked file named to forge a line ("\nUser: root") or to
# reverse itself (U+202E: "fdp.exe" shows as "exe.pdf"), and one whose name
# is not UTF-8 at all, reach the console user's notification server escaped,
# each field on its own line.
#
# The world is tests/integration/gui.sh's: a private /etc/passwd with test
# users, a console from the active VT and utmp (no logind), alice at the
# console with dunst on a virtual X display; the other users' agents each
# have a session bus.
# usage: gui.sh SANTAD SANTACTL SANTA_GUI   (as root; 77 = skipped)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
gui=$(realpath "$3")
source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
source "$(dirname "$0")/../lib/skip.sh"
for tool in Xvfb dunst dbus-daemon dbus-monitor gdbus setpriv python3; do
	command -v "$tool" > /dev/null || santa_skip "$tool is missing (scripts/install-deps.sh)"
done
chmod 0755 "$work"
mnt=$work/mnt

source "$(dirname "$0")/../lib/checks.sh"
source "$(dirname "$0")/../lib/install_bins.sh"
santa_install_bins "$work/santa-bin" "$santactl" "$gui"
santactl=$work/santa-bin/santactl
gui=$work/santa-bin/santa-gui

# ---- the world: alice at the console (tty7), bob (tty8) and carol (tty9) logged in ----
cp /etc/passwd "$work/passwd"
cp /etc/group "$work/group"
# And seven more local accounts, 4201-4207, with no session at the console.
others="4201 4202 4203 4204 4205 4206 4207"
for u in alice:4101 bob:4102 carol:4103 $(for o in $others; do echo "u$o:$o"; done); do
	echo "santa-${u%%:*}:x:${u#*:}:${u#*:}::$work/home/${u%%:*}:/bin/sh" >> "$work/passwd"
	echo "santa-${u%%:*}:x:${u#*:}:" >> "$work/group"
done
mount --bind "$work/passwd" /etc/passwd
mount --bind "$work/group" /etc/group
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /tmp/.X11-unix
mount -t tmpfs -o mode=1777 tmpfs /tmp/.X11-unix
mount -t tmpfs -o mode=0755 tmpfs /sys/class/tty
mkdir -p /sys/class/tty/tty0
echo tty7 > /sys/class/tty/tty0/active
python3 - santa-alice@tty7 santa-bob@tty8 santa-carol@tty9 <<'PY'
import struct, sys, time
out = b""
for arg in sys.argv[1:]:
    user, line = arg.split("@")
    out += struct.pack("<hxxi32s4s32s256shhiii16s20s", 7, 1000, line.encode(), line[-2:].encode(),
                       user.encode(), b"", 0, 0, 0, int(time.time()), 0, b"", b"")
open("/run/utmp", "wb").write(out)
PY

cleanup_more() {
	set +e
	local u
	for u in 4101 4102 4103 $others; do pkill -KILL -u "$u"; done
	kill "${xvfb:-}" 2> /dev/null
	[ -n "${SANTA_KEEP:-}" ] && cp -r "$work" /tmp/gui-abuse-kept 2> /dev/null
	santa_cleanup
}
trap cleanup_more EXIT

# A free display, chosen by Xvfb (tests/integration/gui.sh says why).
Xvfb -displayfd 5 -screen 0 800x600x24 -nolisten tcp -ac > "$work/xvfb.log" 2>&1 5> "$work/display" &
xvfb=$!
wait_or_die 30 "Xvfb chose a display" grep -q "^[0-9]" "$work/display"
display=:$(head -1 "$work/display" | tr -dc 0-9)
wait_or_die 30 "Xvfb listens on $display" test -S "/tmp/.X11-unix/X${display#:}"

# as_uid UID BUS CMD...: CMD as that uid, with that session bus.
as_uid() {
	local uid=$1 bus=$2
	shift 2
	mkdir -p "$work/home/$uid"
	env -i PATH=/usr/bin:/bin HOME="$work/home/$uid" DISPLAY="$display" \
		DBUS_SESSION_BUS_ADDRESS="unix:path=$bus" SANTA_CONFIG="$work/santa.conf" \
		setpriv --reuid "$uid" --regid "$uid" --clear-groups "$@"
}
# alice's own session bus, its Notify calls monitored, dunst drawing them.
mkdir -p "$work/home/4101"
chown 4101:4101 "$work/home/4101"
as_uid 4101 "$work/home/4101/bus" dbus-daemon --session --nofork \
	--address="unix:path=$work/home/4101/bus" > /dev/null 2>&1 &
wait_or_die 30 "alice's session bus listens" test -S "$work/home/4101/bus"
as_uid 4101 "$work/home/4101/bus" dbus-monitor "interface='org.freedesktop.Notifications'" \
	> "$work/monitor-alice" 2>&1 &
as_uid 4101 "$work/home/4101/bus" dunst -config /dev/null > "$work/dunst.log" 2>&1 &
dunst_answers() {
	as_uid 4101 "$work/home/4101/bus" gdbus call --session --dest org.freedesktop.Notifications \
		--object-path /org/freedesktop/Notifications \
		--method org.freedesktop.Notifications.GetCapabilities > /dev/null 2>&1
}
wait_or_die 30 "dunst serves alice's notifications" dunst_answers
# Everybody else: a session bus each (their agents only need to reach one).
for u in 4102 4103 $others; do
	mkdir -p "$work/home/$u"
	chown "$u:$u" "$work/home/$u"
	as_uid "$u" "$work/home/$u/bus" dbus-daemon --session --nofork \
		--address="unix:path=$work/home/$u/bus" > /dev/null 2>&1 &
done
for u in 4102 4103 $others; do
	wait_or_die 30 "uid $u's session bus listens" test -S "$work/home/$u/bus"
done

# ---- santad ----
cat > "$work/santa.conf" <<CONF
ClientMode = MONITOR
$(santa_test_config)
SantactlPath = $santactl
SantaGUIPath = $gui
CONF
chmod 0644 "$work/santa.conf"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"

gui_field() { "$santactl" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["gui"][sys.argv[1]])' "$1"; }
mkdir -p "$work/agents"
chmod 0777 "$work/agents"
# start_agents UID COUNT: COUNT copies of santa-gui, each logging to agents/UID-N.log.
start_agents() {
	local uid=$1 count=$2 i
	for ((i = 1; i <= count; i++)); do
		as_uid "$uid" "$work/home/$uid/bus" "$gui" > "$work/agents/$uid-$i.log" 2>&1 &
	done
}
# How many of UID's agents were taken / turned away at least once (one line each, any agent).
taken() { grep -l "registered with santad" "$work/agents/$1"-*.log 2> /dev/null | wc -l; }
turned_away() { grep -l "santad did not take this agent" "$work/agents/$1"-*.log 2> /dev/null | wc -l; }
answered() { [ $(($(taken "$1") + $(turned_away "$1"))) -ge "$2" ]; }
# santad's own count of UID's registrations (a line per registration, retries included).
registrations() { grep -c "santa-gui of uid $1 (pid [0-9]*) registered" "$work/santad.err" || true; }

# ---- one user floods: santad keeps 4 of bob's agents, and carol still gets in ----
start_agents 4102 34
wait_or_die 90 "each of bob's 34 agents got santad's answer" answered 4102 34
check "santad holds 4 of bob's agents, not 34" test "$(gui_field agents)" -eq 4
check "the other 30 were refused" test "$(turned_away 4102)" -eq 30
says_why() {
	grep -qs "santad did not take this agent: too many notification agents of this user; registering again in [0-9]* s" \
		"$work"/agents/4102-*.log
}
check "a refused agent says why and that it tries again" says_why
start_agents 4103 1
wait_or_die 30 "carol's agent got santad's answer" answered 4103 1
check "carol's agent registers despite bob's 34 (she is not at the console either)" test "$(taken 4103)" -eq 1

# ---- a refused agent tries again and gets in once a slot frees ----
first=$(sed -n '/santa-gui of uid 4102 (pid [0-9]*) registered/{s/.*(pid \([0-9]*\)).*/\1/p;q}' "$work/santad.err")
before=$(registrations 4102)
kill "$first"
wait_or_die 30 "santad sees bob's agent $first go" grep -q "santa-gui of uid 4102 (pid $first) went away" "$work/santad.err"
more_of_bob() { [ "$(registrations 4102)" -gt "$before" ]; }
# A refused agent waits 1, 2, 4 ... at most 30 s between tries: it comes within 30 s.
check_eventually "one of bob's refused agents takes the freed slot by itself" 45 more_of_bob
check "and bob still holds 4" test "$(gui_field agents)" -eq 5

# ---- many users fill the table: the console user's agent still gets in, and is told ----
for u in $others; do start_agents "$u" 4; done
all_answered() { local u; for u in $others; do answered "$u" 4 || return 1; done; }
wait_or_die 120 "each of the 28 other agents got santad's answer" all_answered
check "the table is full: 32 agents" test "$(gui_field agents)" -eq 32
refused_before=$(gui_field refused)
start_agents 4101 1
wait_or_die 30 "alice's agent got santad's answer" answered 4101 1
check "alice's agent registers as the console user's (the table was full of others')" \
	grep -q "this user is at the console" "$work/agents/4101-1.log"
served_is_alices() { [ "$(gui_field served_pid)" = "$(pgrep -u 4101 -x santa-gui)" ]; }
check "santad serves it" served_is_alices
check "another user's agent gave way to it" grep -q "gives way to the console user's new agent" "$work/santad.err"
check "still 32 agents" test "$(gui_field agents)" -eq 32
told_to_retry() { grep -qs "santad dropped this agent; registering again in" "$work"/agents/*.log; }
check_eventually "the agent that gave way says it will try again" 30 told_to_retry

notifies() { grep -c 'member=Notify$' "$work/monitor-alice" || true; }
notifies_at_least() { [ "$(notifies)" -ge "$1" ]; }
# notify_call N: the Nth Notify call on alice's bus, as dbus-monitor printed it.
notify_call() { awk -v n="$1" '/member=Notify$/{k++} k==n' "$work/monitor-alice"; }
cp /bin/true "$mnt/evil"
"$santactl" rule --block --sha256 "$(sha256sum "$mnt/evil" | cut -d' ' -f1)" > /dev/null
"$mnt/evil" 2> /dev/null && fail "the blocked file ran" || pass "the blocked file was denied"
check_eventually "alice, at the console, is told of the block" 30 notifies_at_least 1
check "it names the blocked file" grep -q 'string "Santa blocked evil"' <<< "$(notify_call 1)"

# ---- names that forge a field or reorder themselves are shown escaped ----
# "invoice", a newline, "User: root", U+202E, "fdp.exe": unescaped, the body would get a
# line "User: root" and the name would show as "invoice...exe.pdf".
forged=$'invoice\nUser: root\xe2\x80\xaefdp.exe'
cp /bin/true "$mnt/$forged"
printf '\n# forged' >> "$mnt/$forged"
"$santactl" rule --block --sha256 "$(sha256sum < "$mnt/$forged" | cut -d' ' -f1)" > /dev/null
# carol runs it, so that the real User line says santa-carol and a forged one root.
as_uid 4103 "$work/home/4103/bus" "$mnt/$forged" 2> /dev/null && fail "the forged file ran" ||
	pass "the forged file was denied"
check_eventually "alice is told of the forged file's block" 30 notifies_at_least 2
call=$(notify_call 2)
printf '%s\n' "$call" > "$work/forged-call"
check "the summary shows the name escaped" \
	grep -qF 'string "Santa blocked invoice\nUser: root\u202Efdp.exe"' <<< "$call"
path_line=$(grep -F "$mnt/invoice\\nUser: root\\u202Efdp.exe" <<< "$call" || true)
check "the path is shown escaped, on the Path line" grep -qE '^(<b>)?Path:(</b>)? ' <<< "$path_line"
one_real_user_line() {
	[ "$(grep -cE '^(<b>)?User:(</b>)? ' <<< "$call")" -eq 1 ] &&
		grep -qE '^(<b>)?User:(</b>)? santa-carol$' <<< "$call"
}
check "the notice has one User line, the real one (santa-carol)" one_real_user_line
no_forged_user() { ! grep -qE '^(<b>)?User:(</b>)? root' <<< "$call"; }
check "no line of the notice passes for a User field saying root" no_forged_user
no_rlo() { ! grep -q $'\xe2\x80\xae' "$work/forged-call"; }
check "no U+202E reaches the notification server" no_rlo

# A name that is not UTF-8: D-Bus takes only UTF-8 strings, so unescaped it loses the notice.
bad=$'bad\xffname'
cp /bin/true "$mnt/$bad"
printf '\n# bad' >> "$mnt/$bad"
"$santactl" rule --block --sha256 "$(sha256sum < "$mnt/$bad" | cut -d' ' -f1)" > /dev/null
"$mnt/$bad" 2> /dev/null && fail "the non-UTF-8 file ran" || pass "the non-UTF-8 file was denied"
check_eventually "alice is told of a file whose name is not UTF-8" 30 notifies_at_least 3
check "its name is shown with the byte escaped" grep -qF 'string "Santa blocked bad\xFFname"' <<< "$(notify_call 3)"
check_finish adversarial_gui
