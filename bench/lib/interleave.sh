# Sourced by the benchmarks that time two things side by side (bench/exec_storm.sh,
# bench/build_storm.sh): ROUNDS rounds, each timing both, alternating which goes
# first, so that the machine's drift falls on both alike.

# interleave ROUNDS WATCHED-FN UNWATCHED-FN: each function prints seconds;
# prints "WATCHED-TOTAL UNWATCHED-TOTAL MEDIAN-ROUND-RATIO".
interleave() {
	local rounds=$1 fa=$2 fb=$3 r a b rows=""
	for r in $(seq 1 "$rounds"); do
		if [ $((r % 2)) -eq 1 ]; then a=$("$fa"); b=$("$fb"); else b=$("$fb"); a=$("$fa"); fi
		rows+="$a $b"$'\n'
	done
	python3 -c '
import statistics, sys
rows = [tuple(map(float, l.split())) for l in sys.stdin if l.strip()]
print("%.4f %.4f %.4f" % (sum(a for a, _ in rows), sum(b for _, b in rows), statistics.median(a / b for a, b in rows)))' <<< "$rows"
}

# base_ratio "W U M" "W U M": the mean of two no-daemon ratios (before and after).
base_ratio() {
	python3 -c 'import sys; a, b = sys.argv[1].split(), sys.argv[2].split(); print((float(a[0]) / float(a[1]) + float(b[0]) / float(b[1])) / 2)' "$1" "$2"
}

# ratio_report LABEL "W U M" BASE [N]: one line; with N, also microseconds per unit of work.
ratio_report() {
	python3 - "$1" "$2" "$3" "${4:-0}" <<'PY'
import sys
label, (w, u, med), base, n = sys.argv[1], map(float, sys.argv[2].split()), float(sys.argv[3]), int(sys.argv[4])
per = " (%6.1f us/exec)" % (w / n * 1e6) if n else ""
print("  %-26s watched %8.3f s%s  unwatched %8.3f s  ratio %.4f  overhead %+5.1f%%  (median round %+5.1f%%)"
      % (label, w, per, u, w / u, (w / u / base - 1) * 100, (med / base - 1) * 100))
PY
}
