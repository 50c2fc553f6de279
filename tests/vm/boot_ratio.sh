#!/usr/bin/env bash
# Boot time of Debian 12 with santad in LOCKDOWN against the same machine
# without it (issue 21, item 5), measured without the biases of a single run:
# every boot is a fresh qemu process on a fresh copy-on-write overlay of one
# disk state, and the two kinds alternate (B L, L B, B L, ...) so that a
# machine getting busier or quieter over the run weighs on both alike.
#
# The disk: tests/vm/debian_lockdown.sh's cached image (built by it when
# missing), plus one preparation boot (tests/vm/boot_ratio_guest.sh, prep):
# our .deb installed, santa.conf in LOCKDOWN with one TEAMID rule for Debian's
# bookworm archive key and no WatchPaths (every filesystem watched), santad
# enabled and started once (its package view cache written, as after any
# installation). Both kinds boot that same disk; a baseline boot adds
# systemd.mask=santad.service to the kernel's command line, so santad never
# starts, and nothing else differs.
# Each boot records systemd-analyze time (kernel, userspace, and when the
# default target, graphical.target here, was reached: multi-user.target is
# part of it) once systemd says the boot is done; the
# report gives, per kind, the median, minimum and maximum of each, and the
# ratios of the medians.
#
# usage: tests/vm/boot_ratio.sh [-n N] SANTA_DEB   (as root; N boots of each kind, default 5)
# environment: SANTA_VM_CACHE (default /var/cache/santa-test-vm), read only
#        here: the image is never changed (each boot has its own overlay);
#        SANTA_VM_ACCEL=kvm|tcg (default: KVM when a probe boot works, as
#        tests/vm/debian_lockdown.sh decides); SANTA_VM_KEEP=1 keeps the work
#        directory (console logs, every boot's systemd-analyze output).
# How long: under TCG on 2 CPUs about 2 minutes a boot (the preparation boot
# and 2N measured ones: some 25 minutes for N = 5). qemu runs at nice 10, one
# VM at a time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/skip.sh"
n=5
[ "${1:-}" != -n ] || { n=$2; shift 2; }
[ $# -eq 1 ] || { echo "usage: $0 [-n N] SANTA_DEB" >&2; exit 2; }
deb=$(realpath "$1")
[ -f "$deb" ] || { echo "no such package: $1" >&2; exit 2; }
[ "$n" -ge 1 ] 2> /dev/null || { echo "N must be a positive number" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || santa_skip "needs root"
for tool in qemu-system-x86_64 qemu-img python3; do
	command -v "$tool" > /dev/null || santa_skip "$tool missing (apt-get install qemu-system-x86 qemu-utils python3)"
done

# The cached image (built and checked against its manifest by debian_lockdown.sh).
out=$("$here/debian_lockdown.sh" --build-only "$deb") || { echo "$out"; exit 1; }
image=$(sed -n 's|^image: \(/[^ ]*\) (.*|\1|p' <<< "$out" | tail -1)
[ -n "$image" ] && [ -f "$image/disk.qcow2" ] || { echo "$out"; echo "not ok - no cached image"; exit 1; }
debian_teamid=$(awk '/Automatic Signing Key \(12\/bookworm\)/ {print $1; exit}' "$image/teamids")
[ -n "$debian_teamid" ] || { echo "not ok - no bookworm archive key in $image/teamids"; exit 1; }

work=$(mktemp -d /tmp/santa-boot-ratio-XXXXXX)
cleanup() {
	if [ "${SANTA_VM_KEEP:-}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
share=$work/share
mkdir -p "$share/results"
cp "$here/boot_ratio_guest.sh" "$share/guest.sh"
cp "$deb" "$share/santa.deb"

source "$here/qemu.sh"
santa_vm_pick_accel "$image/vmlinuz" "$work/kvm-probe.log" || exit 1
accel=("${santa_vm_accel[@]}")
[ "${accel[1]}" = kvm ] || accel+=(-cpu max)
echo "image: $image; qemu: ${accel[*]}; $n boots of each kind, alternating"

# One boot: KIND BOOT DISK [extra kernel arguments]. A fresh qemu process.
boot() {
	local kind=$1 i=$2 disk=$3 st=0 start=$SECONDS
	shift 3
	printf 'KIND=%s\nBOOT=%s\nDEBIAN_TEAMID=%s\n' "$kind" "$i" "$debian_teamid" > "$share/params"
	timeout "${SANTA_VM_TIMEOUT:-900}" nice -n 10 qemu-system-x86_64 "${accel[@]}" -m 2048 -smp 2 -nographic \
		-kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
		-append "root=/dev/vda rw console=ttyS0 net.ifnames=0 $*" \
		-drive "file=$disk,if=virtio,format=qcow2" \
		-virtfs "local,path=$share,mount_tag=santa,security_model=none" \
		-nic user,model=virtio-net-pci > "$work/console-$kind-$i.log" 2>&1 || st=$?
	if ! grep -q "^SANTA-BOOT-RATIO $kind $i DONE" "$work/console-$kind-$i.log"; then
		tail -30 "$work/console-$kind-$i.log"
		echo "not ok - boot $kind $i did not finish (qemu exit $st after $((SECONDS - start)) s)"
		exit 1
	fi
	echo "# boot $kind $i: $((SECONDS - start)) s in qemu; $(head -1 "$share/results/time-$kind-$i" 2> /dev/null || echo prepared)"
}

# The state every measured boot starts from.
qemu-img create -q -f qcow2 -b "$image/disk.qcow2" -F qcow2 "$work/prep.qcow2"
boot prep 0 "$work/prep.qcow2"
if grep -q PREP-FAILED "$share/results/guest-prep-0.log"; then
	grep PREP-FAILED "$share/results/guest-prep-0.log"
	echo "not ok - preparing the disk failed"
	exit 1
fi
for i in $(seq 1 "$n"); do
	order="baseline lockdown"
	[ $((i % 2)) -eq 1 ] || order="lockdown baseline"
	for kind in $order; do
		qemu-img create -q -f qcow2 -b "$work/prep.qcow2" -F qcow2 "$work/run.qcow2"
		if [ "$kind" = baseline ]; then
			boot "$kind" "$i" "$work/run.qcow2" systemd.mask=santad.service
		else
			boot "$kind" "$i" "$work/run.qcow2"
		fi
		rm "$work/run.qcow2"
	done
done

# Every boot of a kind must be what it claims: santad active in LOCKDOWN, or not running.
fails=0
for i in $(seq 1 "$n"); do
	grep -qx 'santad=active' "$share/results/info-lockdown-$i" && grep -q '"mode":"Lockdown"' "$share/results/info-lockdown-$i" ||
		{ echo "not ok - LOCKDOWN boot $i: $(tr '\n' ' ' < "$share/results/info-lockdown-$i")"; fails=$((fails + 1)); }
	grep -qx 'santad=inactive' "$share/results/info-baseline-$i" ||
		{ echo "not ok - baseline boot $i: $(tr '\n' ' ' < "$share/results/info-baseline-$i")"; fails=$((fails + 1)); }
done
python3 - "$share/results" "$n" "${accel[*]}" <<'PY'
import re, statistics, sys
results, n, accel = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def seconds(text):
    t = 0.0
    for num, unit in re.findall(r"([0-9.]+)(min|ms|us|s|h)\b", text):
        t += float(num) * {"h": 3600, "min": 60, "s": 1, "ms": 1e-3, "us": 1e-6}[unit]
    return t
# No initrd part: Debian's initramfs-tools initrd does not run systemd. The
# default target of the image is graphical.target (reached with multi-user).
parts = ("kernel", "userspace", "target", "total")
data = {}
for kind in ("baseline", "lockdown"):
    for i in range(1, n + 1):
        text = open(f"{results}/time-{kind}-{i}").read()
        first = text.splitlines()[0]
        row = {}
        for part in ("kernel", "userspace"):
            m = re.search(r"([0-9][0-9.a-z ]*?) \(" + part + r"\)", first)
            row[part] = seconds(m.group(1)) if m else 0.0
        m = re.search(r"= (.*)$", first)
        row["total"] = seconds(m.group(1)) if m else 0.0
        m = re.search(r"[a-z-]+\.target reached after (.*) in userspace", text)
        row["target"] = seconds(m.group(1)) if m else float("nan")
        for part in parts:
            data.setdefault((kind, part), []).append(row[part])
print(f"# systemd-analyze time, {n} boots of each kind ({accel}): median [min .. max] in seconds")
print(f"# {'':12} {'baseline':>24} {'LOCKDOWN':>24} {'ratio':>6}")
for part in parts:
    b, l = data[("baseline", part)], data[("lockdown", part)]
    mb, ml = statistics.median(b), statistics.median(l)
    ratio = f"{ml / mb:.2f}" if mb > 0 else "-"
    print(f"# {part:12} {mb:8.2f} [{min(b):6.2f} .. {max(b):6.2f}] {ml:8.2f} [{min(l):6.2f} .. {max(l):6.2f}] {ratio:>6}")
# Each round's two boots ran one after the other: their ratio is the least
# touched by the machine's drift over the run.
for part in ("userspace", "total"):
    pairs = [l / b for b, l in zip(data[("baseline", part)], data[("lockdown", part)]) if b > 0]
    print(f"# {part}, LOCKDOWN / baseline of each round: median {statistics.median(pairs):.2f} "
          f"[{min(pairs):.2f} .. {max(pairs):.2f}]: " + " ".join(f"{x:.2f}" for x in pairs))
for kind in ("baseline", "lockdown"):
    print(f"# {kind} boots, userspace: " + " ".join(f"{x:.2f}" for x in data[(kind, "userspace")]))
santad = []
for i in range(1, n + 1):
    for line in open(f"{results}/blame-lockdown-{i}"):
        if line.split()[-1:] == ["santad.service"]:
            santad.append(seconds(line.split()[0] if len(line.split()) == 2 else " ".join(line.split()[:-1])))
if santad:
    print(f"# santad.service start (systemd-analyze blame, LOCKDOWN boots): median {statistics.median(santad):.2f} s "
          f"[{min(santad):.2f} .. {max(santad):.2f}]")
PY
[ "${SANTA_VM_KEEP:-}" = 1 ] || echo "# (SANTA_VM_KEEP=1 keeps the console logs and systemd-analyze outputs)"
[ "$fails" -eq 0 ] || { echo "FAIL: $fails boots were not of their kind"; exit 1; }
echo "PASS: $n LOCKDOWN and $n baseline boots measured"
