#!/usr/bin/env bash
# santabundleservice: started by santad when a client first connects to its
# socket, as _santabundle with CAP_DAC_READ_SEARCH, CAP_SETUID and CAP_SETGID
# only (none effective in its main thread); hashes a real installed
# Debian package (checked against an independent computation here) and an
# application tree below BundleRoots; says "Not a bundle" for a loose file;
# refuses an impostor client; exits when idle and comes back on the next
# connection; its result reaches the events santad keeps for the sync server.
# usage: bundle.sh SANTAD SANTACTL HELPER_DIR   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
helpers=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
source "$here/../lib/skip.sh"
command -v dpkg-query > /dev/null || santa_skip "no dpkg-query here (a Debian package is what gets hashed)"
chmod 0755 "$work"
mnt=$work/mnt
srv=$work/server
mkdir -p "$srv/rules"

source "$here/../lib/checks.sh"
source "$here/../lib/install_bins.sh"

# The helpers run as their own users, who may not reach the build tree: copies under $work.
santa_install_bins "$work/libexec" "$helpers"
helpers=$work/libexec
santa_install_bins "$work/bin" "$santactl"
santactl=$work/bin/santactl

python3 "$here/sync_server.py" "$srv" "$work/port" &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true; santa_cleanup' EXIT
wait_or_die 30 "the sync server listens" test -s "$work/port"
port=$(cat "$work/port")

# An application tree on the watched mount: two programs, a script, a library.
app=$mnt/apps/myapp
mkdir -p "$app/bin" "$app/lib" "$app/share"
cp /usr/bin/true "$app/bin/tool"
cp /usr/bin/false "$app/lib/helper"
printf '#!/bin/sh\necho hi\n' > "$app/share/run.sh"
cp "$(realpath /lib/x86_64-linux-gnu/libz.so.1 2> /dev/null || realpath /usr/lib/*/libz.so.1 | head -1)" "$app/lib/libz.so.1"
chmod 0755 "$app/bin/tool" "$app/lib/helper" "$app/share/run.sh" "$app/lib/libz.so.1"
mkdir -p "$work/loose"
cp /usr/bin/true "$work/loose/true"
tool_sha=$(sha256sum "$app/bin/tool" | cut -d' ' -f1)
helper_sha=$(sha256sum "$app/lib/helper" | cut -d' ' -f1)
tree_expected=$(printf '%s\n' "$tool_sha" "$helper_sha" | sort | tr -d '\n' | sha256sum | cut -d' ' -f1)
# The server wants every executable of that bundle once it sees its hash.
echo "{\"event_upload_bundle_binaries\": [\"$tree_expected\"]}" > "$srv/eventupload.json"

cat > "$work/santa.conf" <<CONF
ClientMode = MONITOR
$(santa_test_config)
SantactlPath = $santactl
HelperDirectory = $helpers
MachineID = bundle-test
SyncBaseURL = http://127.0.0.1:$port/santa
BundleRoots = $mnt/apps
BundleServiceIdleSec = 10
[StaticRule:tool]
identifier = $tool_sha
rule_type = BINARY
policy = BLOCKLIST
CONF
chmod 0644 "$work/santa.conf"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"

bundle_pid() { pgrep -x santabundleserv -P "$pid" || true; }
bundle_starts() { grep -c "santabundleservice started" "$work/santad.err" || true; }
helper_state() {
	"$santactl" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["helpers"]["santabundleservice"]["state"])'
}
check "the bundle socket is there before anyone asks" test -S "$work/run/santabundleservice.sock"
# santad starts its helpers before it says it is ready (santa_start_santad waited for that):
# the sync service is started by then, so an eager bundle service would be too.
check "santad started the sync service before it was ready (the marker)" \
	grep -q "santasyncservice started" "$work/santad.err"
check "no bundle service runs until a client connects" \
	test -z "$(bundle_pid)" -a "$(bundle_starts)" -eq 0
check "santactl status says it starts on demand" test "$(helper_state)" = "on demand"

# First (the first full sync comes 15 s after start): a program of an application tree is
# blocked, its event waits for upload, and its bundle is hashed: the tree below
# BundleRoots, its two ELF programs (not the script, not the library).
"$app/bin/tool" 2> /dev/null && fail "the blocked tool ran" || pass "the blocked tool was denied"
wait_until 30 bash -c "'$santactl' printlog 2> /dev/null | grep -q '$tool_sha'" || true
out=$("$santactl" bundleinfo --json "$app/bin/tool")
svc=$(bundle_pid) # now: it exits 10 s after its last client
svc_status=$(cat "/proc/$svc/status" 2> /dev/null || true)
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$out" "$1"; }
check "a tree bundle is named after its directory" test "$(field name)" = myapp
check "a tree bundle has the tree's path" test "$(field bundle_path)" = "$app"
check "only the ELF programs count (not the script or the library)" test "$(field binary_count)" = 2
check "the tree's bundle hash matches" test "$(field bundle_hash)" = "$tree_expected"

# The bundle reaches the sync server at once: the blocked event with its file_bundle_*
# fields, then (the server asked for that hash) one BUNDLE_BINARY event per executable.
uploads() {
	python3 - "$srv/requests.jsonl" <<'PY' 2> /dev/null || true
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["stage"] == "eventupload":
        for e in r["body"]["events"]:
            print(e.get("decision"), e.get("file_sha256"), e.get("file_bundle_hash"),
                  e.get("file_bundle_binary_count"), e.get("file_bundle_name"), e.get("file_name"))
PY
}
bundle_binaries_up() { [ "$(uploads | grep -c BUNDLE_BINARY)" -ge 2 ]; }
wait_until 30 bundle_binaries_up || true
# "No more" means something once santad has nothing of the tool left to send: every
# event of it (the block, its bundle's executables) went up and left events.db.
check_eventually "the uploaded events left events.db" 30 \
	bash -c "! '$santactl' printlog | grep -q '$tool_sha'"
ups=$(uploads)
echo "$ups" | sed 's/^/# uploaded: /'
check "the blocked event went up with its bundle (hash, count, name)" \
	grep -qx "BLOCK_BINARY $tool_sha $tree_expected 2 myapp tool" <<< "$ups"
check "the server got a BUNDLE_BINARY event for the tool" \
	grep -qx "BUNDLE_BINARY $tool_sha $tree_expected 2 myapp tool" <<< "$ups"
check "and one for the other executable" \
	grep -qx "BUNDLE_BINARY $helper_sha $tree_expected 2 myapp helper" <<< "$ups"
check "and no more" test "$(grep -c BUNDLE_BINARY <<< "$ups")" -eq 2
rel_paths() {
	python3 - "$srv/requests.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["stage"] == "eventupload":
        for e in r["body"]["events"]:
            print(e.get("decision"), e.get("file_name"), e.get("file_bundle_executable_rel_path"))
PY
}
rels=$(rel_paths)
check "the blocked event says where the tool is in its tree (bin/tool)" \
	grep -qx "BLOCK_BINARY tool bin/tool" <<< "$rels"
check "and so do the BUNDLE_BINARY events" \
	grep -qx "BUNDLE_BINARY helper lib/helper" <<< "$rels"
check "santad asked for an upload at once, not a full sync" grep -q "Starting event upload" "$work/santad.err"

# A real installed package, computed independently: the ELF programs dpkg lists for it
# (executables, or shared objects with an interpreter), each file once, sorted hex
# SHA-256s concatenated and hashed.
expected=$(python3 - coreutils <<'PY'
import hashlib, os, stat, struct, subprocess, sys
files = subprocess.run(["dpkg-query", "-L", sys.argv[1]], capture_output=True, text=True).stdout.split("\n")
seen, hashes = set(), []
for f in files:
    if not f.startswith("/"):
        continue
    try:
        st = os.lstat(f)
    except OSError:
        continue
    if not stat.S_ISREG(st.st_mode) or not st.st_mode & 0o111 or (st.st_dev, st.st_ino) in seen:
        continue
    data = open(f, "rb").read()
    if data[:4] != b"\x7fELF" or data[5] != 1:
        continue
    is64 = data[4] == 2
    e_type = struct.unpack_from("<H", data, 16)[0]
    if e_type == 3:
        phoff, = struct.unpack_from("<Q" if is64 else "<I", data, 32 if is64 else 28)
        phentsize, phnum = struct.unpack_from("<HH", data, 54 if is64 else 42)
        if not any(struct.unpack_from("<I", data, phoff + i * phentsize)[0] == 3 for i in range(phnum)):
            continue
    elif e_type != 2:
        continue
    seen.add((st.st_dev, st.st_ino))
    hashes.append(hashlib.sha256(data).hexdigest())
print(len(hashes), hashlib.sha256("".join(sorted(hashes)).encode()).hexdigest())
PY
)
out=$("$santactl" bundleinfo --json /usr/bin/true)
check "/usr/bin/true belongs to the coreutils package" test "$(field name)" = coreutils
check "its version is dpkg's" test "$(field version)" = "$(dpkg-query -W -f='${Version}' coreutils)"
check "the executable count matches an independent count (${expected% *})" \
	test "$(field binary_count)" = "${expected% *}"
check "the bundle hash matches an independent computation" test "$(field bundle_hash)" = "${expected#* }"
echo "# coreutils: $(field binary_count) executables hashed in $(field millis) ms"

check "the first connection started the bundle service" test -n "$svc"
if [ -n "$svc" ]; then
	bundle_uid=$(id -u _santabundle)
	check "it runs as its own user, _santabundle (uid $bundle_uid), not root" \
		grep -qE "^Uid:[[:space:]]+$bundle_uid[[:space:]]+$bundle_uid[[:space:]]+$bundle_uid[[:space:]]+$bundle_uid$" <<< "$svc_status"
	check "with CAP_DAC_READ_SEARCH, CAP_SETUID and CAP_SETGID only" grep -q "^CapPrm:[[:space:]]*00000000000000c4" <<< "$svc_status"
	check "none of them effective in its main thread (request threads raise what they need)" \
		grep -q "^CapEff:[[:space:]]*0000000000000000" <<< "$svc_status"
	check "and a bounding set of just that" grep -q "^CapBnd:[[:space:]]*00000000000000c4" <<< "$svc_status"
	check "and a seccomp filter" grep -qE "^Seccomp:[[:space:]]*2" <<< "$svc_status"
	check "and no_new_privs" grep -q "^NoNewPrivs:[[:space:]]*1" <<< "$svc_status"
fi

# Progress streams over the client's endpoint while the package is hashed.
"$santactl" bundleinfo --progress /usr/bin/true > /dev/null 2> "$work/progress"
check "progress arrives while hashing" grep -qE "^Hashed [0-9]+ of ${expected% *} executables$" "$work/progress"
check "the last progress line says all were hashed" \
	test "$(tail -1 "$work/progress")" = "Hashed ${expected% *} of ${expected% *} executables"

# The human output, as Santa's debug command prints it.
human=$("$santactl" bundleinfo /usr/bin/true)
check "bundleinfo prints the hash" grep -qx "BundleHash: ${expected#* }" <<< "$human"
check "bundleinfo prints each executable" grep -q "Path: /usr/bin/true\|Path: /bin/true" <<< "$human"

# Not a bundle: exit 2, as Santa.
st=0
"$santactl" bundleinfo "$work/loose/true" > "$work/loose.out" 2>&1 || st=$?
check "a loose file is not a bundle (exit 2)" test "$st" -eq 2
check "and says so" grep -qx "Not a bundle" "$work/loose.out"

# Only Santa's own clients get in.
cp "$santactl" "$work/impostor"
st=0
"$work/impostor" bundleinfo /usr/bin/true > "$work/impostor.out" 2>&1 || st=$?
check "an impostor client is refused" test "$st" -ne 0
check "with 'not authorized'" grep -q "not authorized" "$work/impostor.out"

# Idle: it exits by itself, santad does not count that as a crash, and the next client starts it again.
# Gone from the process table means santad reaped it, and logged whatever it had to say.
bundle_gone() { [ -z "$(bundle_pid)" ]; }
check_eventually "the idle bundle service exits (BundleServiceIdleSec = 10)" 60 bundle_gone
check "an idle exit is not a crash" bash -c "! grep -q 'santabundleservice.*exited with status\|santabundleservice.*killed' '$work/santad.err'"
check "santactl status is back to on demand" test "$(helper_state)" = "on demand"
"$santactl" bundleinfo "$app/bin/tool" > /dev/null
svc2=$(bundle_pid)
check "the next client starts it again" test -n "$svc2" -a "$svc2" != "$svc"

# A crash: santad restarts it (after 500 ms; 30 s still catches one that never comes,
# whatever the load). Counted in santad's log: a restarted one may idle out again.
starts=$(bundle_starts)
kill -9 "$svc2"
cp /usr/bin/id "$mnt/plain"
check "santad decides while the bundle service is down" bash -c "'$mnt/plain' -u > /dev/null"
restarted() { [ "$(bundle_starts)" -gt "$starts" ]; }
check_eventually "killed with -9, it is back" 30 restarted

check_finish bundle
