# Sourced by benchmarks that compare with fapolicyd (the Debian package), in
# the caller's private mount namespace (tests/lib/private_tmpfs.sh): its
# configuration, trust database and run directory are bind-mounted over
# /etc/fapolicyd, /var/lib/fapolicyd and /run/fapolicyd for this namespace
# only, and it marks mounts (allow_filesystem_mark = 0) of type tmpfs (or
# $FAP_WATCH_FS): mount marks, so only this namespace's copies of them are
# watched, never what the rest of the machine uses.

fapolicyd_installed() { command -v fapolicyd > /dev/null; }

# fapolicyd_start RULES TRUSTED-FILE...: starts it; sets $fap_pid. Returns 1 if it did not come up.
fapolicyd_start() {
	local rules=$1 f
	shift
	rm -rf "$work/fap"
	mkdir -p "$work/fap/etc/rules.d" "$work/fap/etc/trust.d" "$work/fap/lib" "$work/fap/run"
	cat > "$work/fap/etc/fapolicyd.conf" <<EOC
permissive = ${FAP_PERMISSIVE:-0}
nice_val = 14
q_size = 640
uid = root
gid = root
do_stat_report = 0
detailed_report = 0
db_max_size = 50
subj_cache_size = 1549
obj_cache_size = 8191
watch_fs = ${FAP_WATCH_FS:-tmpfs}
trust = file
integrity = none
syslog_format = rule,dec,perm,auid,pid,exe,:,path,ftype,trust
rpm_sha256_only = 0
allow_filesystem_mark = 0
EOC
	printf '%s\n' "$rules" > "$work/fap/etc/rules.d/50-santa-bench.rules"
	cp "$work/fap/etc/rules.d/50-santa-bench.rules" "$work/fap/etc/fapolicyd.rules"
	: > "$work/fap/etc/fapolicyd.trust"
	for f in "$@"; do
		echo "$f $(stat -c %s "$f") $(sha256sum "$f" | cut -d' ' -f1)" >> "$work/fap/etc/fapolicyd.trust"
	done
	: > "$work/fap/etc/fapolicyd-filter.conf"
	mkdir -p /etc/fapolicyd /var/lib/fapolicyd /run/fapolicyd
	mount --bind "$work/fap/etc" /etc/fapolicyd
	mount --bind "$work/fap/lib" /var/lib/fapolicyd
	mount --bind "$work/fap/run" /run/fapolicyd
	fapolicyd --debug-deny > "$work/fapolicyd.log" 2>&1 &
	fap_pid=$!
	for _ in $(seq 1 100); do
		grep -q "Starting to listen for events" "$work/fapolicyd.log" && return 0
		kill -0 "$fap_pid" 2> /dev/null || break
		sleep 0.1
	done
	echo "fapolicyd did not start:"
	tail -20 "$work/fapolicyd.log"
	fapolicyd_stop
	return 1
}

fapolicyd_stop() {
	[ -n "${fap_pid:-}" ] && kill "$fap_pid" 2> /dev/null
	[ -n "${fap_pid:-}" ] && wait "$fap_pid" 2> /dev/null
	fap_pid=
	umount /run/fapolicyd /var/lib/fapolicyd /etc/fapolicyd 2> /dev/null || true
}

# The allow-trusted rule set (fapolicyd's own known-libs rules, in short).
fapolicyd_rules_lockdown='deny_audit perm=any pattern=ld_so : all
allow perm=execute all : trust=1
allow perm=open all : ftype=application/x-sharedlib trust=1
deny_audit perm=execute all : all
allow perm=open all : all'

# fapolicyd must not outlive the caller (it would keep its marks and its pid file).
trap 'fapolicyd_stop; santa_cleanup' EXIT
