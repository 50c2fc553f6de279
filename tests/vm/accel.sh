# Sourced by the tests/vm scripts that boot a whole Debian system: the qemu
# accelerator, as tests/vm/bpf_backstop.sh chooses it. KVM when the kernel
# reaches its panic (no root filesystem) within 10 s on it, with -cpu host or,
# where the host's KVM refuses to set the arch-capabilities MSR (nested KVM on
# some AMD hosts), without it; TCG (-cpu max) otherwise. A probe that hangs
# ends the search: the development VM's /dev/kvm is PVM (the kvm_pvm module,
# a hypervisor without hardware virtualisation that runs only guest kernels
# built for it, CONFIG_PVM_GUEST), and Debian's kernel hangs there after its
# real-mode setup.
#
#   santa_vm_accel VMLINUZ WORK   sets the array accel (qemu arguments); WORK
#                                 holds the probe's log. SANTA_VM_ACCEL=kvm|tcg
#                                 forces one; kvm that does not boot exits 1.
santa_vm_accel() {
	local vmlinuz=$1 work=$2 cpu st
	accel=(-accel tcg)
	if [ "${SANTA_VM_ACCEL:-}" != tcg ] && [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		for cpu in host host,-arch-capabilities; do
			st=0
			# (qemu aborts at once where the host refuses the MSR: not worth bash's "Aborted")
			{ (timeout 10 qemu-system-x86_64 -accel kvm -cpu "$cpu" -m 256 -smp 1 -nographic -no-reboot \
				-kernel "$vmlinuz" -append "console=ttyS0 panic=-1") > "$work/kvm-probe.log" 2>&1; } 2> /dev/null || st=$?
			if grep -q 'Kernel panic' "$work/kvm-probe.log"; then
				accel=(-accel kvm -cpu "$cpu")
				break
			fi
			if [ "$st" -eq 124 ]; then
				echo "KVM: the kernel did not boot within 10 s (-cpu $cpu)$([ ! -d /sys/module/kvm_pvm ] ||
					echo ': /dev/kvm is PVM (kvm_pvm), which runs only PVM guest kernels'); using TCG"
				break
			fi
		done
	fi
	if [ "${SANTA_VM_ACCEL:-}" = kvm ] && [ "${accel[1]}" != kvm ]; then
		echo "not ok - SANTA_VM_ACCEL=kvm but the kernel does not boot on KVM here"
		exit 1
	fi
	[ "${accel[1]}" = kvm ] || accel+=(-cpu max)
}
