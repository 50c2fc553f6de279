#!/usr/bin/env bash
# santa-gui end to end: santad blocks a file, the agent of the user at the
# console shows a freedesktop notification on that user's own session bus,
# drawn by a real notification server (dunst on a virtual X display, with a
# screenshot kept as a test artifact); Details opens the EventDetailURL with
# its placeholders filled; repeats collapse; Silence silences; the agent of a
# user not at the console gets nothing until the console switches to them;
# an impostor agent is refused; santad restarts and the agent comes back.
#
# Who is at the console comes from the active VT and utmp here (no logind):
# inside this test's mount namespace /sys/class/tty/tty0/active and /run/utmp
# are files of the test, and two test users exist in a private /etc/passwd.
# usage: gui.sh SANTAD SANTACTL SANTA_GUI ARTIFACT_DIR HELPER_DIR   (as root; 77 = skipped)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
gui=$(realpath "$3")
artifacts=$4
helpers=$(realpath "$5")
here=$(cd "$(dirname "$0")" && pwd)
source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
source "$(dirname "$0")/../lib/skip.sh"
for tool in Xvfb dunst dunstctl dbus-daemon dbus-monitor gdbus xwd xwdtopnm pnmtopng setpriv; do
	command -v "$tool" > /dev/null || santa_skip "$tool is missing (scripts/install-deps.sh)"
done
chmod 0755 "$work"
mnt=$work/mnt
mkdir -p "$artifacts" "$work/server/rules"
artifacts=$(realpath "$artifacts")

source "$(dirname "$0")/../lib/checks.sh"
source "$(dirname "$0")/../lib/install_bins.sh"

# santa-gui runs as the test users and the sync service as _santasync, who may not reach
# the build tree (a checkout under /root): copies under $work.
santa_install_bins "$work/santa-bin" "$santactl" "$gui"
santactl=$work/santa-bin/santactl
gui=$work/santa-bin/santa-gui
santa_install_bins "$work/libexec" "$helpers"
helpers=$work/libexec

# ---- a private world: two desktop users, a console, a utmp, an X server ----
cp /etc/passwd "$work/passwd"
cp /etc/group "$work/group"
echo "santa-alice:x:4101:4101:Alice:$work/home/alice:/bin/sh" >> "$work/passwd"
echo "santa-bob:x:4102:4102:Bob:$work/home/bob:/bin/sh" >> "$work/passwd"
echo "santa-alice:x:4101:" >> "$work/group"
echo "santa-bob:x:4102:" >> "$work/group"
mount --bind "$work/passwd" /etc/passwd
mount --bind "$work/group" /etc/group
mount -t tmpfs -o mode=0755 tmpfs /run    # our /run/utmp; hides the host's logind files
mkdir -p /tmp/.X11-unix
mount -t tmpfs -o mode=1777 tmpfs /tmp/.X11-unix
# Our own /sys/class/tty: the active VT is a file of the test (also where there is no tty0).
mount -t tmpfs -o mode=0755 tmpfs /sys/class/tty
mkdir -p /sys/class/tty/tty0
echo tty7 > /sys/class/tty/tty0/active

# utmp records (glibc's struct utmpx on x86_64, 384 bytes): alice on tty7, bob on tty8.
write_utmp() {
	python3 - "$@" <<'PY'
import struct, sys, time
out = b""
for arg in sys.argv[1:]:
    user, line = arg.split("@")
    out += struct.pack("<hxxi32s4s32s256shhiii16s20s", 7, 1000, line.encode(), line[-2:].encode(),
                       user.encode(), b"", 0, 0, 0, int(time.time()), 0, b"", b"")
open("/run/utmp", "wb").write(out)
PY
}
write_utmp santa-alice@tty7 santa-bob@tty8
set_console() { echo "$1" > /sys/class/tty/tty0/active; }

# Xvfb picks a free display itself: a fixed or random one collided with
# another run's (the second Xvfb failed, and this test talked to the other's).
Xvfb -displayfd 5 -screen 0 1024x600x24 -nolisten tcp -ac > "$work/xvfb.log" 2>&1 5> "$work/display" &
xvfb=$!
wait_or_die 30 "Xvfb chose a display" grep -q "^[0-9]" "$work/display"
display=:$(head -1 "$work/display" | tr -dc 0-9)
wait_or_die 30 "Xvfb listens on $display" test -S "/tmp/.X11-unix/X${display#:}"

# Everything the test users run goes with them (a background "as" is a subshell: kill by uid).
cleanup_more() {
	set +e
	pkill -KILL -u santa-alice,santa-bob
	kill "$xvfb" ${server_pid:-} 2> /dev/null
	# The killed processes leave the cgroup when they are reaped: then it can go.
	if [ -n "${cg:-}" ] && [ -d "$cg" ]; then wait_until 10 rmdir "$cg" 2> /dev/null; rmdir "${cg%/*}"; fi
	santa_cleanup
}
trap cleanup_more EXIT
[ -n "${SANTA_KEEP:-}" ] && trap "cp -r $work /tmp/gui-kept; cleanup_more" EXIT

# as USER CMD...: runs CMD as that test user, in their session environment.
as() {
	local user=$1
	shift
	env -i PATH="$work/bin:/usr/bin:/bin" HOME="$work/home/$user" USER="santa-$user" \
		XDG_RUNTIME_DIR="$work/home/$user/run" DISPLAY="$display" \
		DBUS_SESSION_BUS_ADDRESS="unix:path=$work/home/$user/bus" SANTA_CONFIG="$work/santa.conf" \
		setpriv --reuid "santa-$user" --regid "santa-$user" --clear-groups "$@"
}

# The Details button runs xdg-open: this one writes down what it was asked to open.
mkdir -p "$work/bin"
cat > "$work/bin/xdg-open" <<SH
#!/bin/sh
echo "\$1" >> "\$HOME/opened"
SH
chmod 0755 "$work/bin/xdg-open"

start_session() {  # user: a session bus, a monitor of Notify calls on it
	local user=$1
	mkdir -p "$work/home/$user/run"
	chmod 0700 "$work/home/$user/run"
	chown -R "santa-$user:santa-$user" "$work/home/$user"
	as "$user" dbus-daemon --session --nofork --address="unix:path=$work/home/$user/bus" \
		> /dev/null 2>&1 &
	wait_or_die 30 "$user's session bus listens" test -S "$work/home/$user/bus"
	as "$user" dbus-monitor "interface='org.freedesktop.Notifications'" \
		> "$work/monitor-$user" 2>&1 &
}
start_session alice
start_session bob
as alice dunst -config /dev/null > "$work/dunst.log" 2>&1 &
dunst_answers() {
	as alice gdbus call --session --dest org.freedesktop.Notifications \
		--object-path /org/freedesktop/Notifications \
		--method org.freedesktop.Notifications.GetCapabilities > /dev/null 2>&1
}
wait_or_die 30 "dunst serves alice's notifications" dunst_answers

# ---- santad with a blocked file and a Details URL ----
cat > "$work/santa.conf" <<CONF
ClientMode = MONITOR
$(santa_test_config)
SantactlPath = $santactl
SantaGUIPath = $gui
MachineID = test-machine
EventDetailURL = https://santa.example/blocked?sha=%file_sha%&machine=%machine_id%&user=%username%
CONF
chmod 0644 "$work/santa.conf"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"

cp /bin/true "$mnt/evil"
chmod 0755 "$mnt/evil"
evil_sha=$(sha256sum "$mnt/evil" | cut -d' ' -f1)
"$santactl" rule --block --sha256 "$evil_sha" > /dev/null

registrations() { grep -c "registered with santad" "$work/gui-$1.log" || true; }
start_agent() {  # user: santa-gui, waits until santad took it
	local user=$1 before
	touch "$work/gui-$user.log"
	before=$(registrations "$user")
	as "$user" "$gui" >> "$work/gui-$user.log" 2>&1 &
	registered() { [ "$(registrations "$user")" -gt "$before" ]; }
	wait_until 30 registered && return 0
	cat "$work/gui-$user.log"
	return 1
}
# A field of santad's gui status: agents, served_pid, queued, sent, ...
gui_field() { "$santactl" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["gui"][sys.argv[1]])' "$1"; }
agent_pid() { pgrep -u "santa-$1" -x santa-gui | tail -1; }
check "alice's agent registers as the console user's" start_agent alice
check "alice's agent knows she is at the console" grep -q "this user is at the console" "$work/gui-alice.log"
check "bob's agent registers" start_agent bob
check "bob's agent waits: bob is not at the console" grep -q "waiting for this user" "$work/gui-bob.log"

notifies() { grep -c 'member=Notify$' "$work/monitor-$1" || true; }
notifies_at_least() { [ "$(notifies "$1")" -ge "$2" ]; }
wait_notifies() {  # user count
	wait_until 30 notifies_at_least "$1" "$2"
}
screenshot() { xwd -root -display "$display" -silent | xwdtopnm 2> /dev/null | pnmtopng > "$1"; }

screenshot "$work/before.png"
if "$mnt/evil" 2> /dev/null; then fail "the blocked file ran"; else pass "the blocked file was denied"; fi
check "a notification reaches alice's notification server" wait_notifies alice 1
# Drawing follows the call: screenshots until one differs from before.
drawn() { screenshot "$artifacts/gui-block-notification.png" && ! cmp -s "$work/before.png" "$artifacts/gui-block-notification.png"; }
check_eventually "the screenshot shows something new (dunst drew the notification)" 30 drawn
check "the screenshot is a real PNG of the display" \
	bash -c "file '$artifacts/gui-block-notification.png' 2>/dev/null | grep -q PNG || head -c 4 '$artifacts/gui-block-notification.png' | grep -q PNG"

# The Notify call as the server received it (dbus-monitor): app, summary, body, actions, urgency.
call=$(awk '/member=Notify$/{n++} n==1' "$work/monitor-alice" | sed -n '1,40p')
check "app name is Santa" grep -q 'string "Santa"' <<< "$call"
check "summary names the program" grep -q 'string "Santa blocked evil"' <<< "$call"
check "body has the default banned message" grep -q "because it has been deemed malicious" <<< "$call"
check "body has the path" grep -q "$mnt/evil" <<< "$call"
check "body has the identifier (SHA-256)" grep -q "$evil_sha" <<< "$call"
check "body names the parent process" grep -qE "Parent:(</b>)? bash \([0-9]+\)" <<< "$call"
check "actions: Details (default) and Silence" \
	bash -c "grep -q 'string \"default\"' <<< '$call' && grep -q 'string \"details\"' <<< '$call' && grep -q 'string \"silence\"' <<< '$call'"
check "a block is urgent (critical: stays until dismissed)" \
	grep -qE 'variant +byte 2' <<< "$(grep -A1 '"urgency"' <<< "$call")"
# Santad sends a notice to one agent, the served one: alice's. That bob's server has
# nothing then is no race with a notice still on its way to him.
check "santad serves alice's agent" test "$(gui_field served_pid)" = "$(agent_pid alice)"
check "bob's server got nothing: he is not at the console" test "$(notifies bob)" -eq 0

# Repeats of the same block update the one notification.
"$mnt/evil" 2> /dev/null || true
"$mnt/evil" 2> /dev/null || true
check "each repeat is passed on" wait_notifies alice 3
third=$(awk '/member=Notify$/{n++} n==3' "$work/monitor-alice")
check "repeats replace the first notification (replaces_id set)" \
	bash -c "sed -n '3p' <<< '$third' | grep -q 'uint32 [1-9]'"
check "the collapsed notification counts the blocks" grep -qE "Blocked:(</b>)? 3 times" <<< "$third"

# Details: the notification server's default action opens the EventDetailURL.
as alice dunstctl action 0 > "$work/dunstctl.log" 2>&1 || cat "$work/dunstctl.log"
check_eventually "Details opened the URL with Santa's placeholders filled" 30 \
	grep -qsxF "https://santa.example/blocked?sha=$evil_sha&machine=test-machine&user=root" \
	"$work/home/alice/opened"

# Silence: no notification for this file for a day.
id=$(sed -n '3p' <<< "$third" | awk '{print $2}')
as alice gdbus emit --session --object-path /org/freedesktop/Notifications \
	--signal org.freedesktop.Notifications.ActionInvoked "uint32 ${id:-1}" silence > /dev/null
check_eventually "Silence is taken" 30 grep -q "silenced $evil_sha" "$work/gui-alice.log"
# The marker: another blocked file right after the silenced one. Its notice comes after
# the silenced file's on the same way (santad, alice's agent, her bus): once it is shown,
# the silenced one would have been too.
cp /bin/true "$mnt/after-silence"
printf '\n# after-silence' >> "$mnt/after-silence"
"$santactl" rule --block --sha256 "$(sha256sum "$mnt/after-silence" | cut -d' ' -f1)" > /dev/null
before=$(notifies alice)
"$mnt/evil" 2> /dev/null || true
"$mnt/after-silence" 2> /dev/null || true
check "the next blocked file is shown (the marker)" wait_notifies alice $((before + 1))
check "a silenced file is not shown again (one notification, the marker's)" \
	test "$(notifies alice)" -eq $((before + 1))
check "the one shown is the marker's" \
	grep -q "Santa blocked after-silence" <<< "$(awk -v n=$((before + 1)) '/member=Notify$/{k++} k==n' "$work/monitor-alice")"

# The console switches to bob: his agent is served now, alice's is not.
set_console tty8
check_eventually "santad notices the console switched to bob" 30 grep -q "console user is now uid 4102" "$work/santad.err"
cp /bin/true "$mnt/other"
other_sha=$(sha256sum "$mnt/other" | cut -d' ' -f1)
# A different file with the same bytes is the same identifier: give it its own bytes.
printf '\n# other' >> "$mnt/other"
other_sha=$(sha256sum "$mnt/other" | cut -d' ' -f1)
"$santactl" rule --block --sha256 "$other_sha" --message "Not on this fleet" > /dev/null
alice_before=$(notifies alice)
sent_before=$(gui_field sent)
"$mnt/other" 2> /dev/null || true
check "bob is told now" wait_notifies bob 1
check "with the rule's custom message" grep -q "Not on this fleet" "$work/monitor-bob"
# Santad sent that notice once, to the served agent (bob's): none went to alice's agent.
check "santad serves bob's agent now" test "$(gui_field served_pid)" = "$(agent_pid bob)"
check "and sent the notice once" test "$(gui_field sent)" -eq $((sent_before + 1))
check "alice is not told any more" test "$(notifies alice)" -eq "$alice_before"

# A mode change is announced to the console user.
sed -i 's/^ClientMode = .*/ClientMode = LOCKDOWN/' "$work/santa.conf"
kill -HUP "$pid"
check_eventually "the switch to Lockdown is announced" 30 grep -q "Switching into Lockdown mode" "$work/monitor-bob"

# In LOCKDOWN an unknown file is blocked with UnknownBlockMessage (Santa's default);
# a SILENT_BLOCKLIST rule blocks without a word.
cp /usr/bin/id "$mnt/unknown"
cp /usr/bin/whoami "$mnt/quiet"
"$santactl" rule --silent-block --sha256 "$(sha256sum "$mnt/quiet" | cut -d' ' -f1)" > /dev/null
bob_before=$(notifies bob)
"$mnt/quiet" > /dev/null 2>&1 && fail "the silently blocked file ran" || pass "the silently blocked file was denied"
"$mnt/unknown" > /dev/null 2>&1 && fail "an unknown file ran in LOCKDOWN" || pass "an unknown file is denied in LOCKDOWN"
check "the unknown block is told" wait_notifies bob $((bob_before + 1))
check "with Santa's UnknownBlockMessage" grep -q "because its trustworthiness cannot be determined" \
	<<< "$(awk -v n=$((bob_before + 1)) '/member=Notify$/{k++} k==n' "$work/monitor-bob")"
check "the silent block is not (one notification, not two)" test "$(notifies bob)" -eq $((bob_before + 1))
check "no notification names the silently blocked file" bash -c "! grep -q 'Santa blocked quiet' '$work/monitor-bob'"

# An impostor: the same program at another path is not Santa's agent.
cp "$gui" "$work/impostor-gui"
if as bob timeout 30 "$work/impostor-gui" > "$work/impostor.log" 2>&1; then
	fail "the impostor agent was accepted"
else
	check "the impostor agent is refused" grep -q "not authorized" "$work/impostor.log"
fi
check_eventually "santad logs the refusal" 30 grep -q "refused pid .*not one of Santa's binaries\|refused pid .*impostor" "$work/santad.err"

# santad restarts: the agent reconnects and registers again by itself.
kill "$pid"
wait "$pid" 2> /dev/null || true
pid=
santa_start_santad "$santad"
registered_twice() { [ "$(registrations bob)" -ge 2 ]; }
check_eventually "bob's agent registered again after santad restarted" 30 registered_twice
bob_before=$(notifies bob)
"$mnt/other" 2> /dev/null || true
check "and is told of blocks again" wait_notifies bob $((bob_before + 1))

# Nobody's agent for the console user yet: the notice waits for it.
pkill -TERM -u santa-alice -x santa-gui
wait_or_die 30 "santad sees alice's agent go" grep -q "santa-gui of uid 4101 .* went away" "$work/santad.err"
set_console tty7
wait_or_die 30 "santad sees alice at the console again" grep -q "console user is now uid 4101" "$work/santad.err"
alice_before=$(notifies alice)
queued_before=$(gui_field queued)
"$mnt/other" 2> /dev/null || true
# The marker: santad has the notice and keeps it for alice (no agent of hers to send it to).
queued_more() { [ "$(gui_field queued)" -gt "$queued_before" ]; }
check_eventually "santad queues the notice for alice" 30 queued_more
check "no agent: nothing shown yet" test "$(notifies alice)" -eq "$alice_before"
start_agent alice > /dev/null
check "the queued notice is shown once alice's agent is back" wait_notifies alice $((alice_before + 1))

# With logind (seat files in /run/systemd, as sd-login reads them) logind decides, not the VT.
mkdir -p /run/systemd/seats /run/systemd/sessions /run/systemd/users
printf 'ACTIVE=c9\nACTIVE_UID=4102\n' > /run/systemd/seats/seat0.tmp
mv /run/systemd/seats/seat0.tmp /run/systemd/seats/seat0
check_eventually "logind's active session on seat0 decides once logind has seats" 30 \
	grep -q "console user is now uid 4102 (logind session c9)" "$work/santad.err"
bob_before=$(notifies bob)
"$mnt/other" 2> /dev/null || true
check "bob (logind's active user) is told" wait_notifies bob $((bob_before + 1))

# Under logind an agent must be in the active session: a second agent of bob's, in another
# session of his (a cgroup session scope, which is how sd-login tells), is not served.
cgroot=
for c in /sys/fs/cgroup/unified /sys/fs/cgroup; do
	[ "$(stat -f -c %T "$c" 2> /dev/null)" = cgroup2fs ] && { cgroot=$c; break; }
done
if [ -n "$cgroot" ]; then
	cg=$cgroot/santa-test-$$.slice/session-c8.scope
	mkdir -p "$cg"
	served_pid() { "$santactl" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["gui"]["served_pid"])'; }
	first=$(served_pid)
	before=$(registrations bob)
	( echo "$BASHPID" > "$cg/cgroup.procs"; as bob "$gui" >> "$work/gui-bob.log" 2>&1 ) &
	registered_more() { [ "$(registrations bob)" -gt "$before" ]; }
	wait_until 30 registered_more || true
	check "bob's agent in an inactive session (c8) registers but is told it waits" \
		grep -q "waiting for this user" <<< "$(tail -1 "$work/gui-bob.log")"
	check "the served agent is still the one outside any other session" test "$(served_pid)" = "$first"
	printf 'ACTIVE=c8\nACTIVE_UID=4102\n' > /run/systemd/seats/seat0.tmp
	mv /run/systemd/seats/seat0.tmp /run/systemd/seats/seat0
	served_other() { [ "$(served_pid)" != "$first" ]; }
	check_eventually "session c8 active: its agent is served" 30 served_other
elif [ "${CI:-}" = true ]; then
	fail "no cgroup2 hierarchy here: the per-session check under logind cannot run (under CI every check must)"
else
	echo "# no cgroup2 hierarchy here: the per-session check under logind is skipped"
fi

status=$("$santactl" status --json)
check "santactl status --json has the gui section" \
	python3 -c 'import json,sys; g=json.loads(sys.argv[1])["gui"]; assert g["agents"]>=1 and g["console_uid"]==4102 and g["console_source"]=="logind", g' "$status"
# Bundles on (the sync server's enable_bundles): the agent has the blocked file's bundle hashed
# by santabundleservice and shows it; the Details URL then uses the bundle hash.
python3 "$here/sync_server.py" "$work/server" "$work/port" &
server_pid=$!
wait_or_die 30 "the sync server listens" test -s "$work/port"
echo '{"enable_bundles": true}' > "$work/server/preflight.json"
app=$mnt/apps/myapp
mkdir -p "$app/bin"
cp /usr/bin/false "$app/bin/tool"
cp /usr/bin/true "$app/bin/other-tool"
tool_sha=$(sha256sum "$app/bin/tool" | cut -d' ' -f1)
bundle_hash=$(printf '%s\n' "$tool_sha" "$(sha256sum "$app/bin/other-tool" | cut -d' ' -f1)" | sort | tr -d '\n' | sha256sum | cut -d' ' -f1)
sed -i 's/^EventDetailURL = .*/EventDetailURL = https:\/\/santa.example\/b?id=%bundle_or_file_identifier%/' "$work/santa.conf"
cat >> "$work/santa.conf" <<CONF
SyncBaseURL = http://127.0.0.1:$(cat "$work/port")/santa
HelperDirectory = $helpers
BundleRoots = $mnt/apps
[StaticRule:tool]
identifier = $tool_sha
rule_type = BINARY
policy = BLOCKLIST
CONF
kill -HUP "$pid"
printf 'ACTIVE=c9\nACTIVE_UID=4101\n' > /run/systemd/seats/seat0.tmp
mv /run/systemd/seats/seat0.tmp /run/systemd/seats/seat0
wait_or_die 30 "santad sees alice at the console (logind)" \
	grep -q "console user is now uid 4101 (logind session c9)" "$work/santad.err"
sync_running() { pgrep -f "^santasyncservice" -P "$pid" > /dev/null; }
wait_or_die 30 "santad started the sync service" sync_running
"$santactl" sync > "$work/sync.out" 2>&1 || cat "$work/sync.out"
as alice dunstctl close-all > /dev/null 2>&1 || true
screenshot "$work/before-bundle.png"
"$app/bin/tool" 2> /dev/null || true
# The bundle line comes once santabundleservice hashed the tree: a second Notify.
check_eventually "with bundles on, the notification shows the bundle's hash" 30 \
	grep -qE "Bundle Hash:(</b>)? $bundle_hash" "$work/monitor-alice"
check "and names the bundle" grep -qE "Bundle:(</b>)? myapp \(2 executables\)" "$work/monitor-alice"
check "the bundle service was started for it" grep -q "santabundleservice started" "$work/santad.err"
# The artifact: once dunst drew something (not a check: the first screenshot's is).
redrawn() { screenshot "$artifacts/gui-bundle-notification.png" && ! cmp -s "$work/before-bundle.png" "$artifacts/gui-bundle-notification.png"; }
wait_until 10 redrawn || true
as alice dunstctl action 0 > /dev/null 2>&1 || true
check_eventually "Details now opens the URL with the bundle hash (%bundle_or_file_identifier%)" 30 \
	grep -qxF "https://santa.example/b?id=$bundle_hash" "$work/home/alice/opened"
check_finish gui
