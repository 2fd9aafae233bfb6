#!/bin/bash
# netfil ask, driven in tmux (send-keys, capture-pane) with real TCP
# connections from the client namespace to an HTTP server in the peer
# namespace, through an IP filter's queue: allow once, deny once, a
# question nobody answers, allow always and deny always (exe filters,
# later connections answered without a question), a second client, the
# terminal given back on q, Ctrl-C and SIGTERM, and bad input.
set -u
. "$(dirname "$0")/lib.sh"

T="tmux -L netfil-ask-$RUN_ID"
# tmux's own server, on its own socket; the HTTP server and clients are
# jobs, which cleanup kills by pid
trap '$T kill-server 2>/dev/null; cleanup' EXIT
trap 'exit 1' INT TERM

# PASS/FAIL lines on stdout; lib.sh's summary line closes the part
check() {
	local name=$1
	shift
	if "$@"; then
		PASS=$((PASS + 1))
		echo "PASS $name"
	else
		FAIL=$((FAIL + 1))
		echo "FAIL $name"
	fi
}
finish() {
	echo "ask: $PASS passed, $FAIL failed"
	summary
	exit
}

setup_net || { FAIL=1; finish; }
setup_cgroup

ENV="env NETFIL_PIN_DIR=$NETFIL_PIN_DIR NETFIL_CGROUP=$NETFIL_CGROUP \
ASAN_OPTIONS=${ASAN_OPTIONS:-} UBSAN_OPTIONS=${UBSAN_OPTIONS:-}"
CURL=$(readlink -f "$(command -v curl)")
BUSYBOX=$(readlink -f "$(command -v busybox)")
HP=8080
URL=http://10.78.0.2:$HP/hello.txt
TOKEN=netfil-ask-$RUN_ID

# the whole pane, history included, wrapped lines joined
screen() { $T capture-pane -p -J -S - -t ask; }
# wait_screen PATTERN [SECONDS]: bounded wait for the pane to show it (grep -E)
wait_screen() {
	local pat=$1 secs=${2:-5} i
	for i in $(seq 1 $((secs * 20))); do
		screen | grep -qE -- "$pat" && return 0
		sleep 0.05
	done
	log "  the pane never showed /$pat/:"
	screen | grep -v '^$' | tail -n 8 | sed 's/^/  | /' >&2
	return 1
}
count() { screen | grep -cE -- "$1"; }
# ordered A B: the pane's first line matching A is above its first matching B
ordered() {
	local a b
	a=$(screen | grep -nE -- "$1" | head -n 1 | cut -d: -f1)
	b=$(screen | grep -nE -- "$2" | head -n 1 | cut -d: -f1)
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ] || { log "  lines '$a' and '$b' out of order"; return 1; }
}
keys() { $T send-keys -t ask "$@"; }
# start_ask ARGS...: netfil ask in the pane's shell, in namespace A; its
# pid in ASK (tui_start)
start_ask() {
	tui_start ask "nsenter --net=/run/netns/$NS_A $ENV $NETFIL ask $*"
	ASK=$TUI
}
given_back() { tui_given_back ask; }
# wait_rc PID SECONDS: bounded wait for a client job; its exit status in RC
wait_rc() {
	local i
	for i in $(seq 1 $(($2 * 20))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$1" 2>/dev/null; then
		log "  pid $1 still runs after $2 s"
		kill "$1"
	fi
	wait "$1"
	RC=$?
}
# curl_bg N CONNECT_TIMEOUT: a download in A (and in the test cgroup); pid in CP
curl_bg() {
	$A curl -sS --connect-timeout "$2" -m $(($2 + 3)) -o "$TMP"/c$1.out "$URL" 2> "$TMP"/c$1.err &
	CP=$!
}
# prompt PID COMM EXE: the pattern of ask's question about that process
prompt() { echo "^\? $2 \(pid $1\) -> 10\.78\.0\.2:$HP tcp \(uid 0, exe $3\).*  \[a\] allow once"; }
got() { [ "$(cat "$TMP"/c$1.out 2>/dev/null)" = "$TOKEN" ] || { log "  c$1: $(cat "$TMP"/c$1.err)"; return 1; }; }
failed() { [ "$RC" != 0 ] || { log "  the client succeeded"; return 1; }; }
# jexe PATH: the exe filter on PATH from filter list -j, as "id action ibyte obyte iobyte status"
jexe() { nf -j filter list | python3 -c 'import json,sys
for f in json.load(sys.stdin):
    if f["kind"]=="socket" and f.get("exe")==sys.argv[1]:
        l=f["limits"]; print(f["id"],f["action"],l["ibyte"],l["obyte"],l["iobyte"],f["status"])' "$1"; }

# --- the server, the queued filter and ask -------------------------------------------
mkdir -p "$TMP"/www && echo "$TOKEN" > "$TMP"/www/hello.txt
printf 'GET /hello.txt HTTP/1.0\r\n\r\n' > "$TMP"/req	# for busybox nc
in_c python3 -m http.server -b 10.78.0.2 -d "$TMP"/www $HP > "$TMP"/http.log 2>&1 &
# and one on the other side, with no queue in front of it
in_b python3 -m http.server -b 10.77.0.2 -d "$TMP"/www $HP > "$TMP"/http_b.log 2>&1 &
check "the HTTP servers listen in the peer namespaces" \
	poll_until 10 bash -c "nsenter --net=/run/netns/$NS_C ss -Hltn 'sport = :$HP' | grep -q LISTEN &&
			       nsenter --net=/run/netns/$NS_B ss -Hltn 'sport = :$HP' | grep -q LISTEN"
FID=$(in_a "$NETFIL" -j filter add ip 10.78.0.2 queue new fail closed timeout 5000 |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
check "a filter with a queue, added in the client's namespace" bash -c "[ -n '$FID' ]"

$T new-session -d -s ask -x 250 -y 50 "bash --norc --noprofile" || { FAIL=1; finish; }
$T set -g -t ask status off >/dev/null
$T set -g -t ask history-limit 5000 >/dev/null
start_ask "$FID"
check "ask starts, naming its filter" wait_screen "^asking for filter $FID \(ip 10\.78\.0\.2.*queue new fail closed timeout 5000\); q quits"

# --- 1. allow once ---------------------------------------------------------------------
curl_bg 1 5
check "1: a question names the process, its program and the destination" wait_screen "$(prompt $CP curl "$CURL")"
keys a
wait_rc $CP 10
check "1: a: the connection succeeds, the data arrives" got 1
check "1: a: one result line" wait_screen "^allowed once: curl \(pid $CP\) -> 10\.78\.0\.2:$HP tcp$"

# --- 2. deny once, and a connection waiting its turn meanwhile ------------------------
curl_bg 2 3
P2=$CP
check "2: a question for the second connection" wait_screen "$(prompt $P2 curl "$CURL")"
curl_bg 2b 6
P2B=$CP
# connect() sends the SYN before it returns: SYN-SENT means it is queued
check "2: a third connection meanwhile (its SYN sent)" \
	poll_until 5 bash -c "nsenter --net=/run/netns/$NS_A ss -Htnp state syn-sent | grep -q 'pid=$P2B,'"
sleep 0.3	# (ask's next poll round takes it; nothing below needs this to pass)
check "2: ... not asked while the question before it waits" eq "$(count "$(prompt $P2B curl "$CURL")")" 0
keys d
check "2: d: one result line" wait_screen "^denied once: curl \(pid $P2\)"
check "2: then the waiting connection is asked" wait_screen "$(prompt $P2B curl "$CURL")"
check "2: ... after the answer before it" ordered "^denied once: curl \(pid $P2\)" "$(prompt $P2B curl "$CURL")"
keys a
wait_rc $P2 10
check "2: d: the client fails" failed
wait_rc $P2B 10
check "2: a: the waiting one succeeds" got 2b
check "2: the denied one's retried SYNs got the same answer, no new question" \
	eq "$(count "$(prompt $P2 curl "$CURL")")" 1

# --- a question nobody answers: the fail policy, then asked again ----------------------
curl_bg 3 12
check "timeout: asked" wait_screen "$(prompt $CP curl "$CURL")"
check "timeout: after the filter's 5 s, 'timed out' and the prompt moves on" \
	wait_screen "^timed out: curl \(pid $CP\)" 8
check "timeout: the same connection's next SYN is asked again" \
	poll_until 6 bash -c "[ \$($T capture-pane -p -J -S - -t ask | grep -cE '$(prompt $CP curl "$CURL")') = 2 ]"
keys a
wait_rc $CP 12
check "timeout: a, then: the connection succeeds" got 3

# --- 3. allow always -------------------------------------------------------------------
curl_bg 4 5
check "3: asked" wait_screen "$(prompt $CP curl "$CURL")"
keys A
wait_rc $CP 10
check "3: A: the connection succeeds" got 4
check "3: A: the filter added is named" wait_screen "^filter [0-9]+ added: socket exe $CURL \(allowed always\)$"
check "3: A: one result line" wait_screen "^allowed always: curl \(pid $CP\)"
J=$(jexe "$CURL")
check "3: filter list has 'socket exe $CURL', no limits, on" \
	bash -c "[[ '$J' =~ ^[0-9]+\ reject\ 0\ 0\ 0\ on$ ]] || { echo '  got: $J' >&2; false; }"
QS=$(count '^\? ')
curl_bg 5 5
wait_rc $CP 10
check "3: the program's next connection succeeds" got 5
check "3: ... answered by its filter" wait_screen "^allowed by filter ${J%% *}: curl \(pid $CP\)"
check "3: ... with no question" eq "$(count '^\? ')" "$QS"

# --- 4. deny always --------------------------------------------------------------------
$A busybox nc -w 4 10.78.0.2 $HP < "$TMP"/req > "$TMP"/w1.out 2>&1 &
CP=$!
check "4: another program is asked about" wait_screen "$(prompt $CP busybox "$BUSYBOX")"
keys D
wait_rc $CP 10
check "4: D: the client fails" failed
check "4: D: no data arrived" bash -c "! grep -q '$TOKEN' '$TMP/w1.out'"
check "4: D: the filter added is named" wait_screen "^filter [0-9]+ added: socket exe $BUSYBOX \(denied always\)$"
check "4: D: one result line" wait_screen "^denied always: busybox \(pid $CP\)"
J=$(jexe "$BUSYBOX")
check "4: filter list has 'socket exe $BUSYBOX iobyte 1', reject, on" \
	bash -c "[[ '$J' =~ ^[0-9]+\ reject\ 0\ 0\ 1\ on$ ]] || { echo '  got: $J' >&2; false; }"
QS=$(count '^\? ')
$A busybox nc -w 4 10.78.0.2 $HP < "$TMP"/req > "$TMP"/w2.out 2>&1 &
CP=$!
wait_rc $CP 10
check "4: the program's next connection fails too" failed
check "4: ... with no question" eq "$(count '^\? ')" "$QS"

# --- one client per queue, and its namespace ------------------------------------------
# one_error RC OUT TOKEN: exit RC and one line of error naming TOKEN
one_error() {
	local want=$1 rc=$2 out=$3 token=$4
	[ "$rc" = "$want" ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && contains "$out" "$token" ||
		{ log "  exit $rc: $out"; return 1; }
}
out=$(in_a "$NETFIL" ask "$FID" 2>&1 </dev/null); rc=$?
check "a second client: exit 1, 'already has a client'" one_error 1 $rc "$out" "filter $FID's queue already has a client"
out=$(in_b "$NETFIL" ask "$FID" 2>&1 </dev/null); rc=$?
check "from another namespace: exit 1, says so" one_error 1 $rc "$out" "filter $FID's queue is in another network namespace"

# the session as it looked, kept for people
mkdir -p "$ROOT"/build/artefacts
screen | grep -v '^$' > "$ROOT"/build/artefacts/ask.txt
log "  transcript: $ROOT/build/artefacts/ask.txt"

# --- q, Ctrl-C, SIGTERM: the terminal given back ---------------------------------------
keys q
check "q: exit 0, the terminal given back as it was" given_back
start_ask "$FID"
wait_screen "^asking for filter $FID " 5 >/dev/null
keys C-c
check "Ctrl-C: exit 0, the terminal given back as it was" given_back
start_ask "$FID"
wait_screen "^asking for filter $FID " 5 >/dev/null
kill -TERM "$ASK"
check "SIGTERM: exit 0, the terminal given back as it was" given_back
out=$(echo q | in_a "$NETFIL" ask "$FID" 2>&1); rc=$?
check "keys from a pipe, not a terminal: q, exit 0" eq "$rc/$(contains "$out" "asking for filter $FID " && echo asked)" "0/asked"

# --- with no client: the filters hold in the kernel ------------------------------------
$A curl -sS --connect-timeout 3 -m 6 -o "$TMP"/c6.out "$URL" 2> "$TMP"/c6.err &
wait_rc $! 10
check "no client, fail closed: the queue's connections fail" failed
$A curl -sS --connect-timeout 3 -m 6 -o "$TMP"/c7.out http://10.77.0.2:$HP/hello.txt 2> "$TMP"/c7.err &
wait_rc $! 10
check "no client: the allowed program reaches a host with no queue" got 7
$A busybox nc -w 3 10.77.0.2 $HP < "$TMP"/req > "$TMP"/w3.out 2>&1 &
wait_rc $! 10
check "no client: the denied program's connections fail anywhere (its 1-byte filter)" \
	bash -c "! grep -q '$TOKEN' '$TMP/w3.out'"

# --- bad input: exit 1, one line naming the bad word ----------------------------------
NOQ=$(in_a "$NETFIL" -j filter add ip 10.77.0.9 | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
BEFORE=$(nf -j filter list)
while IFS='|' read -r args token; do
	out=$(in_a "$NETFIL" ask $args 2>&1 </dev/null); rc=$?
	check "ask $args: exit 1, one line naming '$token'" one_error 1 $rc "$out" "$token"
done <<EOF
999|no filter 999
$NOQ|filter $NOQ has no queue
abc|'abc'
0|'0'
|FILTER_ID
$FID extra|'extra'
EOF
check "bad input changed nothing" eq "$(nf -j filter list)" "$BEFORE"
out=$("$NETFIL" ask help); rc=$?
check "ask help: exit 0, the usage" eq "$rc/$(contains "$out" "netfil ask ID" && echo usage)" "0/usage"

finish
