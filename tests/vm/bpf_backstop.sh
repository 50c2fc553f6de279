#!/usr/bin/env bash
# The BPF LSM backstop (anonymous executables) checked on a kernel that runs
# BPF LSM programs: Debian 12's own kernel (bpf is in its CONFIG_LSM) booted
# under qemu with an initramfs holding santad, santactl and this check. For
# machines whose kernel refuses BPF LSM programs (as the development VM's
# does). Part of ctest (integration.bpf_backstop_vm): qemu uses KVM when
# /dev/kvm is usable, software emulation otherwise (the VM then runs some
# 30 s; about a minute in all on a 2-CPU machine).
# The kernel is pinned in tests/vm/kernel.pin (package, version, SHA-256),
# downloaded once with apt-get download into the cache directory and checked
# against the pin before every use; tests/vm/update-kernel-pin.sh moves the
# pin on when the archive no longer has that version.
# usage: tests/vm/bpf_backstop.sh SANTAD SANTACTL   (as root; needs qemu-system-x86,
#        busybox-static, cpio, a static libc for cc)
# environment: SANTA_VM_CACHE (default /var/cache/santa-test-vm) where the kernel
#        .deb is kept; SANTA_VM_ACCEL=kvm|tcg forces the accelerator.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/skip.sh"
source "$here/kernel.pin"
[ $# -eq 2 ] || { echo "usage: $0 SANTAD SANTACTL" >&2; exit 2; }
santad=$(realpath "$1")
santactl=$(realpath "$2")
for tool in qemu-system-x86_64 busybox cpio apt-get dpkg-deb sha256sum; do
	command -v "$tool" > /dev/null || santa_skip "$tool missing (apt-get install qemu-system-x86 busybox-static cpio)"
done
work=$(mktemp -d /tmp/santa-vm-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

# The kernel: Debian's, as a Santa admin's Debian 12 machines run it, the
# version kernel.pin names (kept between runs in a cache directory: 70 MB).
cache=${SANTA_VM_CACHE:-/var/cache/santa-test-vm}
mkdir -p "$cache" 2> /dev/null && [ -w "$cache" ] ||
	santa_skip "cannot write the kernel cache $cache (run as root, or set SANTA_VM_CACHE)"
source "$here/kernel_fetch.sh"
deb=$(santa_vm_kernel_deb "$cache" "$work") || exit $? # a skip (77) or a wrong download (1)
sha256_of() { santa_vm_sha256_of "$1"; }
# Checked before every use: the file extracted is the one the pin names.
dpkg-deb --fsys-tarfile "$deb" > kernel.tar
[ "$(sha256_of "$deb")" = "$SANTA_VM_KERNEL_SHA256" ] ||
	{ rm -f "$deb"; echo "not ok - $deb changed while in use (SHA-256 no longer $SANTA_VM_KERNEL_SHA256); deleted"; exit 1; }
mkdir kernel
tar -x -C kernel -f kernel.tar ./boot
rm kernel.tar
vmlinuz=$(ls kernel/boot/vmlinuz-*)
grep -q '^CONFIG_LSM=.*bpf' kernel/boot/config-* || { echo "this kernel has no BPF LSM by default"; exit 1; }

# The accelerator: KVM when this kernel boots on it, TCG otherwise (qemu.sh).
source "$here/qemu.sh"
santa_vm_pick_accel "$vmlinuz" kvm-probe.log || exit 1
accel=("${santa_vm_accel[@]}")
echo "kernel: $SANTA_VM_KERNEL_PACKAGE=$SANTA_VM_KERNEL_VERSION; qemu: ${accel[*]}"

# The initramfs: busybox, santad and santactl with their libraries, the check.
root=$work/root
mkdir -p "$root"/{bin,etc,proc,sys,dev,run,tmp,var}
cp "$(command -v busybox)" "$root/bin/busybox"
for applet in sh mount mkdir cp cat grep sleep kill poweroff echo sed ls pidof unshare sha256sum cut; do ln -s busybox "$root/bin/$applet"; done
cp "$santad" "$root/bin/santad"
cp "$santactl" "$root/bin/santactl"
cc -O2 -static -o "$root/bin/memfd_exec" "$here/memfd_exec.c"
for lib in $(ldd "$santad" "$santactl" | awk '/=>/ {print $3} /^\t\// {print $1}' | sort -u); do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
echo 'root:x:0:0:root:/:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
cat > "$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp
mkdir -p /tmp/mnt /mnt; mount -t tmpfs tmpfs /tmp/mnt
cp /bin/busybox /tmp/mnt/prog
conf() {
	cat > /etc/santa.conf <<CONF
ClientMode = $1
WatchPaths = /tmp/mnt
RulesDBPath = /run/rules.db
EventsDBPath = /run/events.db
SyncStatePath = /run/sync-state.json
EventLogPath = /run/santa.log
RunDirectory = /run/santa
SantactlPath = /bin/santactl
CONF
}
conf LOCKDOWN
# Waits up to 90 s (emulated, on a busy host) for a line in a file.
wait_for() { i=0; while [ $i -lt 90 ] && ! grep -q "$1" "$2" 2> /dev/null; do sleep 1; i=$((i + 1)); done; }
/bin/santad --config /etc/santa.conf 2> /run/santad.err &
wait_for ready /run/santad.err
echo "VM: $(grep -i 'anonymous' /run/santad.err)"
echo "VM: status: $(SANTA_CONFIG=/etc/santa.conf santactl status | grep 'Anonymous')"
echo "VM: lockdown memfd: $(memfd_exec /tmp/mnt/prog true)"
echo "VM: lockdown file: $(/tmp/mnt/prog true > /dev/null 2>&1 && echo ran || echo denied)"
conf MONITOR
kill -HUP $(pidof santad)
wait_for 'configuration reloaded' /run/santad.err
echo "VM: monitor memfd: $(memfd_exec /tmp/mnt/prog true)"
# The exec-info program on this kernel: each line names its args (the first
# is decided and waits for them, the others the kernel allowed by itself).
for i in 1 2 3; do /tmp/mnt/prog 'a|b' > /dev/null 2>&1; done
i=0; while [ $i -lt 30 ] && [ "$(grep -c 'path=/tmp/mnt/prog|args=' /run/santa.log)" -lt 3 ]; do sleep 1; i=$((i + 1)); done
grep 'path=/tmp/mnt/prog' /run/santa.log | sed 's/^/VM: line: /'
echo "VM: exec info: $(grep -c 'uid=0|user=root|gid=0|group=root|mode=M|path=/tmp/mnt/prog|args=/tmp/mnt/prog a<pipe>b' /run/santa.log) lines with args; $(SANTA_CONFIG=/etc/santa.conf santactl status | grep 'Exec Info')"
wait_for 'decision=ALLOW|reason=UNKNOWN.*path=memfd:anon' /run/santa.log # MONITOR's, the last one
echo "VM: log: $(grep -c 'path=memfd:anon' /run/santa.log) memfd lines; $(grep -c 'decision=DENY|reason=UNKNOWN.*path=memfd:anon' /run/santa.log) denied, $(grep -c 'decision=ALLOW|reason=UNKNOWN.*path=memfd:anon' /run/santa.log) allowed"
# Everything watched (no WatchPaths): a filesystem mounted in another mount
# namespace is unseen by fanotify until santad's next look; meanwhile the BPF
# program refuses execs from it in LOCKDOWN, even of an allowlisted program.
kill $(pidof santad); while pidof santad > /dev/null; do sleep 1; done
conf LOCKDOWN
sed -i '/^WatchPaths/d' /etc/santa.conf
for f in /bin/busybox /bin/memfd_exec /bin/santactl; do
	printf '[StaticRule:%s]\nidentifier = %s\nrule_type = BINARY\npolicy = ALLOWLIST\n' \
		"$(basename $f)" "$(sha256sum $f | cut -d' ' -f1)" >> /etc/santa.conf
done
/bin/santad --config /etc/santa.conf 2> /run/santad2.err &
wait_for ready /run/santad2.err
echo "VM: everything watched: allowlisted busybox runs: $(/bin/busybox true && echo ran || echo denied)"
# The first execs race santad's look for new mounts (each second on this
# kernel: no mount notifications); when santad marked the mount first, the
# allowlisted copy runs by its rule and the try says nothing of the backstop:
# another namespace is tried (at most 8). Without the backstop every try runs.
# Each try runs it by a relative path first (the kernel's name for it is
# "./true"; the log must name the file), then by its path.
marks() { grep -cE "watching /proc/[0-9]+/root/mnt \(" /run/santad2.err; }
try=0
while [ $try -lt 8 ]; do
	try=$((try + 1))
	before=$(marks)
	ns=$(MARKS_BEFORE=$before unshare -m sh -c 'mount -t tmpfs none /mnt && cp /bin/busybox /mnt/true && cd /mnt && { ./true 2> /dev/null && echo ran || echo denied; } && { /mnt/true 2> /dev/null && echo ran || echo denied; } && i=0 && while [ $i -lt 90 ] && [ "$(grep -cE "watching /proc/[0-9]+/root/mnt \(" /run/santad2.err)" -le "$MARKS_BEFORE" ]; do sleep 1; i=$((i + 1)); done && { /mnt/true && echo ran || echo denied; }' 2>&1 | tr '\n' ' ')
	case "$ns" in "denied denied "*) break ;; esac
done
echo "VM: new namespace: $ns(try $try)"
echo "VM: santad: $(grep -c watching /run/santad2.err) marks: $(grep -i 'watching\|error\|fail' /run/santad2.err | tr '\n' ';')"
unmarked='decision=DENY|reason=UNKNOWN|explain=a filesystem santad has not marked yet.*|path=/mnt/true$'
i=0; while [ $i -lt 90 ] && [ "$(grep -c "$unmarked" /run/santa.log)" -lt 2 ]; do sleep 1; i=$((i + 1)); done
grep -e 'path=/mnt/true' -e 'path=\./true' /run/santa.log | sed 's/^/VM: line: /'
echo "VM: unmarked log: $(grep -c "$unmarked" /run/santa.log) denied, $(grep -c 'path=\./true' /run/santa.log) by the relative name"
echo "VM: done"
poweroff -f
INIT
chmod 0755 "$root/init"
(cd "$root" && find . | cpio -o -H newc 2> /dev/null | gzip -1) > initrd.gz

start=$SECONDS
timeout 840 qemu-system-x86_64 "${accel[@]}" -m 1024 -smp 1 -nographic -no-reboot -kernel "$vmlinuz" -initrd initrd.gz \
	-append "console=ttyS0 rdinit=/init panic=-1 quiet" > console.log 2>&1 || true
echo "the VM ran for $((SECONDS - start)) s"
grep '^VM:' console.log || { tail -40 console.log; exit 1; }
results=$(grep '^VM:' console.log)
ok=true
grep -q 'status:.*Yes' <<< "$results" || ok=false
grep -q 'lockdown memfd: denied' <<< "$results" || ok=false
grep -q 'lockdown file: denied' <<< "$results" || ok=false
grep -q 'monitor memfd: ran' <<< "$results" || ok=false
grep -q 'exec info: 3 lines with args; *Exec Info *| BPF' <<< "$results" || ok=false
grep -q 'log: [1-9][0-9]* memfd lines; [1-9][0-9]* denied, [1-9][0-9]* allowed' <<< "$results" || ok=false
grep -q 'allowlisted busybox runs: ran' <<< "$results" || ok=false
grep -q 'new namespace: denied denied ran' <<< "$results" || ok=false
grep -q 'unmarked log: [2-9] denied, 0 by the relative name' <<< "$results" || ok=false
$ok && echo "PASS: the BPF LSM backstop denies memfd execs in LOCKDOWN, logs them in MONITOR, and closes the moment before a new mount is marked, logging the file's path" || { echo FAIL; exit 1; }
