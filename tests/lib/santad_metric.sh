# Sourced by tests that read santad's own counters: needs $santactl and
# SANTA_CONFIG exported.
#   santad_metric NAME   the value of one of santad's metrics (without fields,
#                        or the sum over them), or -1
# santactl is asked again when it fails: on a loaded machine (and an ASan
# santad) its handshake has timed out now and then (load.sh says the same of
# status).
santad_metric() {
	local i v
	for i in 1 2 3 4 5; do
		v=$("$santactl" metrics --json "$1" 2> /dev/null | python3 -c '
import json, sys
m = json.load(sys.stdin)["metrics"].get(sys.argv[1])
print(sum(int(v["data"]) for f in m["fields"].values() for v in f) if m else -1)' "$1" 2> /dev/null) &&
			[ -n "$v" ] && { echo "$v"; return; }
	done
	echo -1
}
