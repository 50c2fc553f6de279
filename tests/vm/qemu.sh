# qemu for the VMs of tests/vm (sourced by bpf_backstop.sh, debian_lockdown.sh
# and adversarial.sh).
#
# The accelerator: KVM when /dev/kvm is there and the
# kernel boots on it (a boot without a root filesystem must reach its panic
# within 10 s: some hosts' KVM starts a CPU yet never gets a Linux guest past
# its first instructions), software emulation (TCG) otherwise. -cpu host, or
# without the arch-capabilities MSR where the host's KVM refuses to set it
# (nested KVM on some AMD hosts); a probe that hangs ends the search: the
# development VM's /dev/kvm is PVM (the kvm_pvm module, a hypervisor without
# hardware virtualisation that runs only guest kernels built for it,
# CONFIG_PVM_GUEST), and Debian's kernel hangs there after its real-mode setup.
# SANTA_VM_ACCEL=kvm|tcg forces one (kvm: an error when KVM does not boot).
# usage: santa_vm_pick_accel VMLINUZ PROBE_LOG: sets the array santa_vm_accel
# (qemu's arguments); returns 1 when KVM was forced and does not boot.
santa_vm_pick_accel() {
	local vmlinuz=$1 probe_log=$2 cpu st
	santa_vm_accel=(-accel tcg)
	if [ "${SANTA_VM_ACCEL:-}" != tcg ] && [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		for cpu in host host,-arch-capabilities; do
			st=0
			{ (timeout 10 qemu-system-x86_64 -accel kvm -cpu "$cpu" -m 256 -smp 1 -nographic -no-reboot \
				-kernel "$vmlinuz" -append "console=ttyS0 panic=-1") > "$probe_log" 2>&1; } 2> /dev/null || st=$?
			if grep -q 'Kernel panic' "$probe_log"; then
				santa_vm_accel=(-accel kvm -cpu "$cpu")
				break
			fi
			[ "$st" -ne 124 ] || { echo "KVM: the kernel did not boot within 10 s (-cpu $cpu)$([ ! -d /sys/module/kvm_pvm ] ||
				echo ': /dev/kvm is PVM (kvm_pvm), which runs only PVM guest kernels'); using software emulation (TCG)"; break; }
		done
	fi
	if [ "${SANTA_VM_ACCEL:-}" = kvm ] && [ "${santa_vm_accel[1]}" != kvm ]; then
		echo "not ok - SANTA_VM_ACCEL=kvm but this kernel does not boot on KVM here (/dev/kvm: $(ls -l /dev/kvm 2>&1)):"
		tail -5 "$probe_log" 2> /dev/null
		return 1
	fi
	return 0
}

# qemu's arguments for a boot of the Debian 12 image of debian_lockdown.sh:
# its kernel and initrd, DISK (an overlay of its disk.qcow2) as /dev/vda,
# SHARE as the 9p share "santa" (mounted on /mnt/santa), user networking,
# the serial console on stdout, 2 GB and 2 CPUs.
# usage: santa_vm_image_args IMAGE DISK SHARE: sets the array santa_vm_args
santa_vm_image_args() {
	santa_vm_args=(-m 2048 -smp 2 -nographic -kernel "$1/vmlinuz" -initrd "$1/initrd.img"
		-append "root=/dev/vda rw console=ttyS0 net.ifnames=0 systemd.show_status=1"
		-drive "file=$2,if=virtio,format=qcow2"
		-virtfs "local,path=$3,mount_tag=santa,security_model=none"
		-nic user,model=virtio-net-pci)
}
