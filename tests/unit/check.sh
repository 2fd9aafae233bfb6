#!/bin/bash
# check.sh TEST...: run each unit test program, show its output, and end
# with the sum of their closing "N passed, N failed" lines.  A program
# that ends without one (a crash) counts as one failure.
set -u
passed=0
failed=0
for t in "$@"; do
	echo "### $t"
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
	if [ -z "$line" ]; then
		echo "### $t: no result (exit $rc)"
		failed=$((failed + 1))
		continue
	fi
	p=${line%% passed*}
	f=${line#*, }
	f=${f%% failed*}
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1	# failed without saying so
	passed=$((passed + p))
	failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
