#!/bin/bash
# The command line itself: help, unknown words and aliases, -h sizes, -j on
# every command and for errors, which fields events leave out, sysctl
# loading netfil and applying several keys as one change, and completion.
# Usage: tests/cli.sh (as root); NETFIL may name the CLI binary to test.
set -u
. "$(dirname "$0")/lib.sh"

# a cgroup beside the test's, for completion to find (and a unit below it);
# removed before lib.sh's cleanup, whatever happened
COMP_CG=${NETFIL_CGROUP%/*}/netfil-test-$$-comp
COMP_UNIT=netfil-test-$$.service
cli_cleanup() {
	rmdir "$COMP_CG/$COMP_UNIT" "$COMP_CG" 2>/dev/null
	cleanup
}
trap cli_cleanup EXIT
trap 'exit 1' INT TERM

OBJECTS="filter sysctl events top run save restore roll batch load unload status reaper help"

# run_cli ARGS...: $OUT, $ERR and $RC of one netfil command
run_cli() {
	"$NETFIL" "$@" > "$TMP"/out 2> "$TMP"/err
	RC=$?
	OUT=$(cat "$TMP"/out)
	ERR=$(cat "$TMP"/err)
}

# is_json TEXT [KEY]: TEXT is one JSON document (with KEY, if given)
is_json() {
	python3 -c 'import json,sys
v = json.loads(sys.argv[1])
sys.exit(0 if len(sys.argv) < 3 or (isinstance(v, dict) and sys.argv[2] in v) else 1)' "$@" ||
		{ log "  not JSON${2:+ with '$2'}: $1"; return 1; }
}

# json_lines FILE: every line of FILE is a JSON object, and there is one
json_lines() {
	python3 -c 'import json,sys
n = 0
for l in open(sys.argv[1]):
    assert isinstance(json.loads(l), dict); n += 1
sys.exit(0 if n else 1)' "$1" || { log "  not JSON lines: $(head -c 300 "$1")"; return 1; }
}

ids() { nf -j filter list | python3 -c 'import json,sys; print(" ".join(str(f["id"]) for f in json.load(sys.stdin)))'; }
subscribers() { nf -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["subscribers"])'; }
has_subscribers() { [ "$(subscribers)" -ge "$1" ]; }
loaded() { [ "$(jget "$(nf -j status)" loaded)" = "$1" ]; }

# ev_start NAME ARGS...: "netfil ARGS" writing to $TMP/NAME.ev, returns once
# it is subscribed; ev_stop PID: SIGINT, and wait for it.
ev_start() {
	local name=$1 before
	shift
	before=$(subscribers)
	"$NETFIL" "$@" > "$TMP/$name.ev" 2> "$TMP/$name.everr" &
	EVP=$!
	eventually has_subscribers $((before + 1))
}
ev_stop() { kill -INT "$1"; wait "$1"; }

# human BYTES: what -h should show, computed apart from netfil's C
human() {
	python3 -c 'import sys
v = int(sys.argv[1])
if v < 1024: print(v); sys.exit()
u = 0; x = v / 1024
while x >= 1024 and u < 5: x /= 1024; u += 1
if x >= 1023.95 and u < 5: x /= 1024; u += 1
print("%.1f%s" % (x, ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"][u]))' "$1"
}

# --- help --------------------------------------------------------------------
test_help() {
	local o
	for o in $OBJECTS; do
		run_cli $o help
		check "help: '$o help' on stdout, exit 0, stderr empty" eq "$RC/$([ -n "$OUT" ] && echo some)/$ERR" "0/some/"
		check "help: '$o help' gives $o's syntax" contains "$OUT" "netfil $o"
	done
	for o in "help" "--help" "help filter" "filter add help" "filter set help" "-j help"; do
		run_cli $o
		check "help: '$o' on stdout, exit 0" eq "$RC/$ERR" "0/"
		check "help: '$o' has a usage" contains "$OUT" "Usage: netfil"
	done
	run_cli help
	for o in "period" "roll" "--allow-missing" "filter set ID [LIMITS] [action ACTION] [PERIOD] [REDIRECT | redirect none]" "[QUEUE | queue none] [on | off]" "QUEUE := queue [new | all] [fail { open | closed }] [timeout MS]" \
		 "REDIRECT := { redirect to ADDR:PORT | proxy URL } [fail { open | closed }]" \
		 "URL := { socks5://[USER:PASS@]HOST:PORT | http://HOST:PORT }" \
		 "netfil run [proxy URL]" "netfil relay [--listen ADDR:PORT]" "[port N[-M]] [proto { tcp | udp }]" \
		 "--human" "add ip PREFIX [LIMITS] [action ACTION] [PERIOD]" \
		 "add interface IF[,IF...] [LIMITS] [PERIOD]"; do
		check "help: the whole syntax, with '$o'" contains "$OUT" "$o"
	done
	run_cli
	check "help: no object: usage on stderr, exit 1" eq "$RC/$([ -n "$ERR" ] && echo some)/$OUT" "1/some/"
}

# --- unknown words, aliases, no prefixes ------------------------------------------
test_unknown() {
	local line before id
	while IFS='|' read -r line want; do
		run_cli $line
		check "unknown [$line]: exit 1, one line" eq "$RC/$(echo "$ERR" | wc -l)/$OUT" "1/1/"
		check "unknown [$line]: $want" contains "$ERR" "$want"
	done <<-EOF
	filter lst|unknown command 'lst' (did you mean 'list'?)
	fliter list|unknown command 'fliter' (did you mean 'filter'?)
	fil list|unknown command 'fil' (did you mean 'filter'?)
	filter sho 1|unknown command 'sho' (did you mean 'show'?)
	stauts|unknown command 'stauts' (did you mean 'status'?)
	sysclt -a|unknown command 'sysclt' (did you mean 'sysctl'?)
	frobnicate|unknown command 'frobnicate' (try 'netfil help')
	filter zzz|unknown command 'zzz' (try 'netfil filter help')
	events typ close|unknown argument 'typ' (did you mean 'type'?)
	events type clsoe|unknown event type 'clsoe' (did you mean 'close'?)
	help fitler|unknown object 'fitler' (did you mean 'filter'?)
	roll nwo 1|unknown argument 'nwo' (did you mean 'now'?)
	--jsno filter list|unknown option '--jsno' (did you mean '--json'?)
	--pre filter list|unknown option '--pre' (did you mean '--pretty'?)
	--js filter list|unknown option '--js'
	EOF
	check "unknown: nothing runs on a guess ('fil list' lists nothing)" eq "$(nf fil list 2>/dev/null)" ""
	before=$(nf -j filter list)
	run_cli filter ad ip 10.9.1.1
	check "no prefix matching: 'filter ad' adds nothing" eq "$RC/$(nf -j filter list)" "1/$before"
	# aliases
	id=$(nf filter add ip 10.9.1.2)
	check "alias: ls = list" eq "$(nf filter ls)" "$(nf filter list)"
	check "alias: -j ls = -j list" eq "$(nf -j filter ls)" "$(nf -j filter list)"
	nf filter rm $id
	check "alias: rm deletes" eq "$(nf filter show $id 2>&1)" "netfil: no filter with id '$id'"
	id=$(nf filter add ip 10.9.1.2)
	nf filter delete $id
	check "alias: delete deletes" eq "$(nf filter show $id 2>&1)" "netfil: no filter with id '$id'"
	id=$(nf filter add ip 10.9.1.2)
	nf filter del $id
	check "del still deletes" eq "$(nf filter show $id 2>&1)" "netfil: no filter with id '$id'"
}

# --- -h: sizes for people; JSON stays exact ---------------------------------------
test_human() {
	local id j out b
	id=$(nf filter add ip 10.9.2.1 ibyte 1023 obyte 1536 iobyte 1G)
	out=$(nf -h filter show $id)
	check "-h: limits in binary units, plain below 1 KiB" contains "$out" "ibyte 1023 obyte 1.5KiB iobyte 1.0GiB"
	check "--human = -h" eq "$(nf --human filter show $id)" "$out"
	check "no -h: exact" contains "$(nf filter show $id)" "ibyte 1023 obyte 1536 iobyte 1073741824"
	nf filter del $id
	id=$(nf filter add ip 10.77.0.2)
	up tcp $NS_B 10.77.0.2 2000000 noop
	check "-h: the traffic went through" eq "$RECEIVED" 2000000
	j=$(nf -j filter show $id)
	b=$(jget "$j" bytes.out)
	check "-h: more than 2 MB counted" lt 2000000 "$b"
	out=$(nf -h filter show $id)
	check "-h: filter show, bytes as the exact count says ($b = $(human "$b"))" contains "$out" \
		"bytes in $(human "$(jget "$j" bytes.in)") out $(human "$b") dropped in 0 out 0"
	check "-h: filter list too" contains "$(nf -h filter list)" "out $(human "$b") dropped"
	check "-h -j: JSON stays an exact integer" eq "$(jget "$(nf -h -j filter show $id)" bytes.out)" "$b"
	check "-h: 1.9MiB for 2 MB" eq "$(human "$b")" 1.9MiB
	nf filter del $id
}

# --- -j: every command, and errors -----------------------------------------------
test_json_errors() {
	local line
	while read -r line; do
		[ -z "$line" ] && continue
		run_cli -j $line
		check "-j error [$line]: exit 1" eq "$RC" 1
		check "-j error [$line]: {\"error\": ...} on stdout" is_json "$OUT" error
		check "-j error [$line]: nothing on stderr" eq "$ERR" ""
	done <<-EOF
	filter show 999999
	filter lst
	fliter
	filter add ip 10.0.0.300
	filter set 999999 on
	filter del x1
	sysctl net.netfil.ip.nosuch=1
	sysctl net.netfil.ip.obyte=1K net.netfil.ip.status=maybe
	events type bogus
	restore /nonexistent/file
	batch /nonexistent/file
	roll now yesterday
	save bogus
	load extra
	help fitler
	--bogus status
	reaper
	EOF
	run_cli -j run obyte 1X -- true
	check "-j error [run]: exit 1" eq "$RC" 1
	check "-j error [run]: on stderr (stdout is CMD's)" is_json "$ERR" error
	check "-j error [run]: nothing on stdout" eq "$OUT" ""
	run_cli -p filter show 999999
	check "-p error: JSON too" is_json "$OUT" error
	run_cli filter show 999999
	check "no -j: the error stays one line on stderr" eq "$RC/$OUT/$ERR" "1//netfil: no filter with id '999999'"
}

test_json_every_command() {
	local id j f
	run_cli -j status
	check "-j status" is_json "$OUT" filter_counts
	run_cli -j filter add ip 10.9.3.1 obyte 1M
	check "-j filter add: the filter" is_json "$OUT" limits
	id=$(jget "$OUT" id)
	for c in "filter list" "filter show $id" "filter set $id obyte 2M" "filter reset $id" \
		 "sysctl net.netfil.ip.addr" "sysctl -a" "save" "save counters" "roll" "load"; do
		run_cli -j $c
		check "-j $c: exit 0, one JSON document" eq "$RC/$(is_json "$OUT" && echo ok)" "0/ok"
	done
	check "-j filter set: the changed filter" eq "$(jget "$(nf -j filter show $id)" limits.obyte)" 2097152
	run_cli -j filter del $id
	check "-j filter del: {\"id\": N}" eq "$RC/$(jget "$OUT" id)" "0/$id"
	printf 'filter add ip 10.9.3.2\nfilter list\nfilter add ip 10.9.3.3 obyte 1K\n' > "$TMP"/ok.batch
	run_cli -j batch "$TMP"/ok.batch
	check "-j batch: one array, a document per line" eq "$RC/$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$OUT")" "0/3"
	printf 'filter add ip 10.9.3.4\nfilter add ip 10.9.3.300\nfilter add ip 10.9.3.5\n' > "$TMP"/bad.batch
	run_cli -j batch "$TMP"/bad.batch
	check "-j batch error: exit 1, the error last in the array, naming FILE:LINE" eq \
		"$RC/$(python3 -c 'import json,sys; v=json.loads(sys.argv[1]); print(len(v), "bad.batch:2:" in v[-1]["error"])' "$OUT")" "1/2 True"
	nf save > "$TMP"/saved
	run_cli -j restore "$TMP"/saved
	check "-j restore: how many filters" eq "$RC/$(jget "$OUT" filters)" "0/$(ids | wc -w)"
	run_cli -j unload
	check "-j unload" eq "$RC/$(jget "$OUT" loaded)" "0/false"
	run_cli -j status
	check "-j status, not loaded: exit 3, JSON" eq "$RC/$(jget "$OUT" loaded)" "3/false"
	run_cli -j load
	check "-j load: the status" eq "$RC/$(jget "$OUT" loaded)" "0/true"
	# run: the summary on stderr is what the filter counted; an IP
	# filter on the same address counts the same packets
	f=$(nf filter add ip 10.77.0.2)
	start_sink $NS_B 10.77.0.2
	"$NETFIL" -j run obyte 1G -- $A "$NFT" send tcp 10.77.0.2 $PORT 300000 --timeout 2500 \
		> "$TMP"/send.out 2> "$TMP"/run.json
	check "-j run: exit status of the command" eq $? 0
	wait $SP
	j=$(cat "$TMP"/run.json)
	check "-j run: the summary is one JSON document on stderr" is_json "$j" bytes
	check "-j run: the command's stdout untouched" contains "$(cat "$TMP"/send.out)" "sent=300000 err=none"
	check "-j run: names the command and its status" eq "$(jget "$j" command)/$(jget "$j" exit_status)" "nsenter/0"
	check "-j run: payload arrived" eq "$(field "$TMP"/sink.out received)" 300000
	check "-j run: bytes out = what the filter counted" eq "$(jget "$j" bytes.out)" "$(jget "$(nf -j filter show $f)" bytes.out)"
	check "-j run: bytes in = what the filter counted" eq "$(jget "$j" bytes.in)" "$(jget "$(nf -j filter show $f)" bytes.in)"
	check "-j run: more than the payload (L3)" lt 300000 "$(jget "$j" bytes.out)"
	"$NETFIL" run -- sh -c 'exit 0' 2> "$TMP"/run.txt
	check "run: text summary without -j" contains "$(cat "$TMP"/run.txt)" "netfil: sh: in "
	"$NETFIL" -j run -- sh -c 'exit 5' 2> "$TMP"/run.json
	check "-j run: exit 5 passed on and reported" eq "$?/$(jget "$(cat "$TMP"/run.json)" exit_status)" "5/5"
	# events: JSON lines
	ev_start evj -j events type filter
	id=$(nf filter add ip 10.9.3.9)
	nf filter del $id
	eventually grep -q '"op":"del"' "$TMP"/evj.ev
	ev_stop $EVP
	check "-j events: JSON lines" json_lines "$TMP"/evj.ev
	nf restore /dev/null
}

# --- events leave out what they do not have --------------------------------------
test_events_fields() {
	local id
	ev_start evf -j events type filter
	id=$(nf filter add ip 10.9.4.1)
	eventually grep -q "\"filter\":$id" "$TMP"/evf.ev
	ev_stop $EVP
	check "events: a filter event, the only field of its kind" eq "$(python3 -c 'import json,sys
e = [json.loads(l) for l in open(sys.argv[1])][0]
print(sorted(e))' "$TMP"/evf.ev)" "['filter', 'mono_ns', 'op', 'time', 'type']"
	ev_start evt events type filter
	nf filter del $id
	eventually grep -q " del filter $id" "$TMP"/evt.ev
	ev_stop $EVP
	check "events text: a filter event without socket words" eq \
		"$(sed 's/^[^ ]* //' "$TMP"/evt.ev)" "filter del filter $id"
	# a socket before connect has no address; its connect has the remote one
	ev_start evs -j events type socket,connect
	up tcp $NS_B 10.77.0.2 1000 noop
	eventually grep -q "\"tgid\":$CP" "$TMP"/evs.ev
	ev_stop $EVP
	check "events: a new socket has no addresses or ports" eq "$(python3 -c 'import json,sys
e = [e for e in map(json.loads, open(sys.argv[1])) if e.get("tgid") == int(sys.argv[2]) and e["type"] == "socket"][0]
print(sorted(k for k in e if k.endswith(("addr", "port"))), e["family"], e["proto"], "sock" in e)' "$TMP"/evs.ev $CP)" "[] ipv4 tcp True"
	check "events: its connect has the remote address" eq "$(python3 -c 'import json,sys
e = [e for e in map(json.loads, open(sys.argv[1])) if e.get("tgid") == int(sys.argv[2]) and e["type"] == "connect"][0]
print(e["raddr"], e["rport"] == int(sys.argv[3]))' "$TMP"/evs.ev $CP $PORT)" "10.77.0.2 True"
	check "events: no 0.0.0.0 anywhere" eq "$(grep -c '0\.0\.0\.0' "$TMP"/evs.ev)" 0
	ev_start evst events type socket
	up tcp $NS_B 10.77.0.2 1000 noop
	eventually grep -q " tgid $CP " "$TMP"/evst.ev
	ev_stop $EVP
	check "events text: a new socket without addresses" eq \
		"$(grep " tgid $CP " "$TMP"/evst.ev | sed 's/^[^ ]* //; s/sock [0-9]*/sock N/; s/ pid .*//')" "socket tcp sock N"
}

# --- sysctl: loads netfil to change, one change for many keys ----------------------
test_sysctl_autoload() {
	local out
	nf unload
	run_cli sysctl net.netfil.ip.addr
	check "sysctl read, not loaded: says so, exit 1" eq "$RC/$ERR" "1/netfil: netfil is not loaded (run 'netfil load')"
	run_cli sysctl -a
	check "sysctl -a, not loaded: exit 1, still not loaded" eq "$RC/$(loaded false && echo no)" "1/no"
	run_cli sysctl net.netfil.ip.addr=10.9.0.300
	check "sysctl bad value, not loaded: exit 1, nothing loaded" eq "$RC/$(loaded false && echo no)" "1/no"
	run_cli sysctl net.netfil.ip.addr=10.9.0.1
	check "sysctl KEY=VALUE loads netfil" eq "$RC/$OUT" "0/net.netfil.ip.addr = 10.9.0.1"
	check "sysctl autoload: loaded, with the filter" eq "$(jget "$(nf -j status)" loaded)/$(nf sysctl net.netfil.ip.addr)" \
		"true/net.netfil.ip.addr = 10.9.0.1"
	check "sysctl autoload: the reaper runs" lt 0 "$(jget "$(nf -j status)" reaper_pid)"
	check "sysctl autoload: created off" eq "$(nf sysctl net.netfil.ip.status)" "net.netfil.ip.status = 0"
}

test_sysctl_atomic() {
	local before out a b
	nf restore /dev/null
	before=$(nf -j filter list)
	run_cli sysctl net.netfil.ip.addr=10.9.5.1 net.netfil.ip.obyte=1M net.netfil.ip.status=maybe
	check "multi-key, bad last key: exit 1 naming it" eq "$RC/$(contains "$ERR" maybe && echo named)" "1/named"
	check "multi-key, bad last key: nothing changed" eq "$(nf -j filter list)" "$before"
	# a later step that fails while applying: the interface list is taken
	# off: a stray neighbour probe would change their counters
	a=$(in_a "$NETFIL" filter add interface vab off)
	b=$(in_a "$NETFIL" filter add interface vac obyte 7K off)
	before=$(nf -j filter list)
	out=$(in_a "$NETFIL" sysctl net.netfil.socket.pid=$$ net.netfil.ip.addr=10.9.5.2 \
		net.netfil.ip.obyte=1M net.netfil.ip.status=1 net.netfil.interface.list=vac 2>&1)
	check "multi-key, conflict at apply: exit 1, the filter in the way named" eq "$?/$out" \
		"1/netfil: another interface filter (id $b) already has that match"
	check "multi-key, conflict at apply: no filter created, none changed" eq "$(nf -j filter list)" "$before"
	check "multi-key, conflict at apply: no sysctl socket filter" eq "$(nf sysctl net.netfil.socket.pid)" "net.netfil.socket.pid = "
	# the same when the earlier steps change filters that exist
	in_a "$NETFIL" sysctl net.netfil.ip.addr=10.9.5.3 net.netfil.ip.ibyte=3K >/dev/null
	before=$(nf -j filter list)
	out=$(in_a "$NETFIL" sysctl net.netfil.ip.addr=10.9.5.4 net.netfil.ip.ibyte=9M \
		net.netfil.ip.status=1 net.netfil.interface.list=vab,vac 2>&1)
	check "multi-key, rematch then conflict: exit 1" eq "$?" 1
	check "multi-key, rematch then conflict: the ip filter as it was" eq "$(nf -j filter list)" "$before"
	check "multi-key, rematch then conflict: sysctl reads the old values" eq \
		"$(nf sysctl net.netfil.ip.addr net.netfil.ip.ibyte net.netfil.ip.status | tr '\n' ' ')" \
		"net.netfil.ip.addr = 10.9.5.3 net.netfil.ip.ibyte = 3072 net.netfil.ip.status = 0 "
	# and one that succeeds is applied whole
	out=$(in_a "$NETFIL" sysctl net.netfil.ip.addr=10.9.5.5 net.netfil.ip.status=1 \
		net.netfil.interface.list=vab,lo net.netfil.interface.iobyte=2G)
	check "multi-key: applied" eq "$?/$(echo "$out" | wc -l)" "0/4"
	check "multi-key: the interface filter acted on is the oldest" eq \
		"$(nf sysctl net.netfil.interface.id)" "net.netfil.interface.id = $a"
	check "multi-key: every key applied" eq "$(jget "$(nf -j filter show $a)" limits.iobyte)/$(nf sysctl net.netfil.ip.status)" \
		"2147483648/net.netfil.ip.status = 1"
	run_cli -j sysctl net.netfil.ip.obyte=5K net.netfil.ip.addr
	check "-j sysctl: one object" eq "$RC/$(python3 -c 'import json,sys
v = json.loads(sys.argv[1]); print(v["net.netfil.ip.obyte"], v["net.netfil.ip.addr"])' "$OUT")" "0/5120 10.9.5.5"
	nf restore /dev/null
}

# --- completion ----------------------------------------------------------------------
# comp WORD...: what bash completes for the last word
comp() {
	bash -c 'source /usr/share/bash-completion/bash_completion || exit 1
source "$0"
COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
_netfil; echo "${COMPREPLY[@]}"' "$ROOT"/bash-completion/netfil "$@"
}
# has_word LIST WORD, lacks_word LIST WORD: WORD is (not) one of the
# words of LIST, what comp gave
has_word() { case " $1 " in *" $2 "*) return 0 ;; esac; log "  '$1' lacks the word '$2'"; return 1; }
lacks_word() { case " $1 " in *" $2 "*) log "  '$1' has the word '$2'"; return 1 ;; esac; return 0; }
test_completion() {
	if [ ! -f /usr/share/bash-completion/bash_completion ]; then
		log "  no bash-completion installed: completion not checked"
		return
	fi
	check "completion: after period" eq "$(comp netfil filter add ip 10.0.0.1 period '')" \
		"hourly daily weekly monthly none"
	check "completion: after period, on an interface filter" eq "$(comp netfil filter add interface lo period '')" \
		"hourly daily weekly monthly none"
	check "completion: weekly: days, at, the rest" eq "$(comp netfil filter add ip 10.0.0.1 period weekly '')" \
		"mon tue wed thu fri sat sun at ibyte obyte iobyte action on off port proto redirect proxy queue"
	check "completion: monthly: day, at" eq "$(comp netfil filter add ip 10.0.0.1 period monthly '')" \
		"day at ibyte obyte iobyte action on off port proto redirect proxy queue"
	check "completion: a day of the month is a number" eq "$(comp netfil filter add ip 10.0.0.1 period monthly day '')" ""
	check "completion: after 'at' a time" eq "$(comp netfil filter set 3 period daily at '')" ""
	check "completion: after the period, the rest" eq "$(comp netfil filter add ip fd00::1 period daily at 08:00 '')" \
		"ibyte obyte iobyte action on off port proto redirect proxy queue"
	check "completion: filter set options" eq "$(comp netfil filter set 3 '')" \
		"ibyte obyte iobyte action period on off redirect proxy queue"
	check "completion: queue" eq "$(comp netfil filter set 3 queue '')" "new all none fail timeout"
	check "completion: packets" contains "$(comp netfil packets 3 '')" "allow drop count"
	check "completion: packets, ask are objects" contains "$(comp netfil pa) $(comp netfil as)" "packets ask"
	check "completion: proto" eq "$(comp netfil filter add ip 10.0.0.1 proto '')" "tcp udp"
	check "completion: port once" lacks_word "$(comp netfil filter add ip 10.0.0.1 port 80 '')" port
	check "completion: run proxy" eq "$(comp netfil run '')" "ibyte obyte iobyte action -- proxy help"
	check "completion: relay" eq "$(comp netfil relay '')" "--listen help"
	check "completion: redirect to or none" eq "$(comp netfil filter set 3 redirect '')" "to none"
	check "completion: --allow-missing" contains "$(comp netfil filter add interface lo '')" "--allow-missing"
	check "completion: roll" eq "$(comp netfil ro)" "roll"
	check "completion: sync" eq "$(comp netfil syn)" "sync"
	check "completion: sync takes help" eq "$(comp netfil sync '')" "help"
	check "completion: help sync" has_word "$(comp netfil help sy)" "sync"
	check "completion: -h --human" contains "$(comp netfil -)" "-h --human"
	check "completion: help for objects" eq "$(comp netfil status '')" "help"
}

# filter add socket MATCH: the six matches, their values, --allow-missing
test_completion_socket() {
	local c w exe=$TMP/exe
	if [ ! -f /usr/share/bash-completion/bash_completion ]; then
		log "  no bash-completion installed: completion not checked"
		return
	fi
	check "completion: socket matches" eq "$(comp netfil filter add socket '')" \
		"pid tree exe user cgroup unit"
	# --allow-missing only where the thing may not exist yet, and once
	for w in "exe /x" "cgroup /x" "unit foo"; do
		check "completion: --allow-missing after '$w'" has_word \
			"$(comp netfil filter add socket $w '')" --allow-missing
		check "completion: --allow-missing once, after '$w'" lacks_word \
			"$(comp netfil filter add socket $w --allow-missing '')" --allow-missing
	done
	check "completion: --allow-missing once, later too" lacks_word \
		"$(comp netfil filter add socket exe /x --allow-missing obyte 1M '')" --allow-missing
	for w in "user root" "pid 1"; do
		c=$(comp netfil filter add socket $w '')
		check "completion: no --allow-missing after '$w'" lacks_word "$c" --allow-missing
		check "completion: the options after '$w'" has_word "$c" obyte
	done
	check "completion: user names" has_word "$(comp netfil filter add socket user ro)" root
	# cgroup: the cgroup v2 mount as /proc/mounts has it, then one level at a
	# time, on the mount or below it
	mkdir -p "$COMP_CG/$COMP_UNIT"
	check "completion: test cgroup created" test -d "$COMP_CG/$COMP_UNIT"
	c=$(comp netfil filter add socket cgroup '')
	check "completion: cgroup: the mount ($CG2)" has_word "$c" "$CG2/"
	check "completion: cgroup: below the mount" has_word "$c" "${COMP_CG#"$CG2"/}/"
	check "completion: cgroup /: as /proc/PID/cgroup shows it" has_word \
		"$(comp netfil filter add socket cgroup /)" "${COMP_CG#"$CG2"}/"
	check "completion: cgroup on the mount, one level" has_word \
		"$(comp netfil filter add socket cgroup "${COMP_CG%/*}/")" "$COMP_CG/"
	check "completion: cgroup on the mount, the next level" eq \
		"$(comp netfil filter add socket cgroup "$COMP_CG/")" "$COMP_CG/$COMP_UNIT/"
	check "completion: unit names" has_word "$(comp netfil filter add socket unit netfil-test-)" \
		"$COMP_UNIT"
	rmdir "$COMP_CG/$COMP_UNIT" "$COMP_CG"
	# exe: executables and directories, not other files
	mkdir -p "$exe/sub"
	printf '#!/bin/sh\n' > "$exe/prog"
	chmod 755 "$exe/prog"
	: > "$exe/plain"
	chmod 644 "$exe/plain"
	c=$(comp netfil filter add socket exe "$exe/")
	check "completion: exe: an executable" has_word "$c" "$exe/prog"
	check "completion: exe: a directory" has_word "$c" "$exe/sub"
	check "completion: exe: not a plain file" lacks_word "$c" "$exe/plain"
	rm -rf "$exe"
}

# --- netfil loaded by another version (maps of another layout) ----------------------
# Simulated: nf_meta replaced by a map whose values have another size.
test_other_version() {
	local pid
	nf load > /dev/null
	pid=$(jget "$(nf -j status)" reaper_pid)
	rm "$NETFIL_PIN_DIR"/nf_meta
	bpftool map create "$NETFIL_PIN_DIR"/nf_meta type array key 4 value 8 entries 1 name nf_meta
	for c in "filter list" "status" "filter add ip 10.1.2.3" "load"; do
		run_cli $c
		check "another version's maps: '$c' exits 1, one line saying so" eq \
			"$RC/$(echo "$ERR" | wc -l)/$(contains "$ERR" "another version" && echo says)" "1/1/says"
	done
	run_cli -j filter list
	check "another version's maps: -j, the error as JSON" eq \
		"$RC/$(contains "$(jget "$OUT" error)" "another version" && echo says)" "1/says"
	check "another version's maps: nothing changed (still the other map)" \
		eq "$(jget "$(bpftool -j map show pinned "$NETFIL_PIN_DIR"/nf_meta)" bytes_value)" 8
	run_cli unload
	check "another version's maps: unload removes its pins" eq "$RC/$(ls "$NETFIL_PIN_DIR" 2>/dev/null | grep -c .)" "0/0"
	check "another version's maps: unload detaches its programs" \
		eventually eq "$(bpftool cgroup show "$NETFIL_CGROUP" | grep -c nf_)" 0
	# (here the "other version's" reaper is ours: stop it by pid)
	[ "${pid:-0}" -gt 0 ] && kill "$pid" 2>/dev/null
	nf load > /dev/null
	check "another version's maps: load works again after unload" eq "$(jget "$(nf -j status)" loaded)" true
}

main() {
	setup_cgroup || { log "cannot create test cgroup"; exit 1; }
	setup_net || { log "cannot create test namespaces"; exit 1; }
	nf load || { log "netfil load failed"; exit 1; }
	for t in ${TESTS:-test_help test_unknown test_human test_json_errors test_json_every_command \
		test_events_fields test_sysctl_autoload test_sysctl_atomic test_completion \
		test_completion_socket test_other_version}; do
		log "== $t"
		$t
	done
	summary
}

main
