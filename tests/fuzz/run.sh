#!/bin/bash
# run.sh [-s SEED] [-f] [-j JOBS] SECONDS OUTDIR FUZZER...
# Run each libFuzzer binary for SECONDS on OUTDIR/NAME/corpus, a copy of
# tests/fuzz/corpus/NAME (the repository's seeds are never written to),
# with crashes and property failures kept in OUTDIR/NAME/artifacts.
# -f starts from the seeds alone (a fresh copy); -j runs JOBS at a time.
# Ends with "N passed, N failed": passed = no crash, leak or failed
# property.
set -u
cd "$(dirname "$0")/../.."
seed=0 fresh=0 jobs=1
while getopts "s:fj:" o; do
	case $o in
	s) seed=$OPTARG ;;
	f) fresh=1 ;;
	j) jobs=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
secs=$1 out=$2
shift 2

one() {
	local bin=$1 name dir dict=()
	name=$(basename "$bin")
	dir=$out/$name
	[ "$fresh" = 1 ] && rm -rf "$dir"
	mkdir -p "$dir/corpus" "$dir/artifacts"
	cp -n tests/fuzz/corpus/"$name"/* "$dir/corpus/" 2>/dev/null
	[ -f tests/fuzz/"$name".dict ] && dict=(-dict=tests/fuzz/"$name".dict)
	"$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -seed="$seed" \
		-print_final_stats=1 -artifact_prefix="$dir/artifacts/" "${dict[@]}" \
		"$dir/corpus" >"$dir/log" 2>&1
	echo $? >"$dir/rc"
}

n=0
for bin in "$@"; do
	one "$bin" &
	n=$((n + 1))
	[ $((n % jobs)) = 0 ] && wait
done
wait

passed=0 failed=0
for bin in "$@"; do
	name=$(basename "$bin")
	dir=$out/$name
	execs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$dir/log")
	if [ "$(cat "$dir/rc")" = 0 ]; then
		echo "ok   $name: ${execs:-?} executions in ${secs}s"
		passed=$((passed + 1))
	else
		echo "FAIL $name: see $dir/log; the input is in $dir/artifacts/"
		grep -a -E -m 3 'property failed|ERROR: |runtime error' "$dir/log" | cut -c 1-300
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
