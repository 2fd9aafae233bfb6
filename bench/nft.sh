# nftables baseline for netfil's benchmark: the rules of a netfil
# configuration of N filters written as nftables quotas, so the two can be
# measured on the same traffic.  Source it; it does nothing by itself.
#
#   nft_ruleset linear|map N   print the ruleset of table inet netfil_bench
#   nft_counter_ruleset ADDR   print table inet netfil_count (cnt_out, cnt_in)
#   nft_load linear|map N      load nft_ruleset into namespace $NFT_NS
#   nft_load counter ADDR      load nft_counter_ruleset into $NFT_NS
#   nft_counter_bytes NAME     bytes counted so far by counter NAME
#   nft_clear                  delete both tables from $NFT_NS, if present
#
# N filters, as bench.sh configures netfil: one matching the benchmark
# traffic (remote address $NFT_ADDR, 10.77.0.2, limit counting both
# directions) and N - 1 prefixes that match nothing, alternately the IPv4
# /24s 10.100.0.0/24, 10.100.1.0/24, ... and the IPv6 /48s fd00:0:0::/48,
# fd00:0:1::/48, ...  Each prefix has its own limit, $NFT_QUOTA: by default
# 1048576 mbytes, that is netfil's 1T (1 TiB), as nft 1.0.6 knows no unit
# above mbytes ("1 tbytes" is "Wrong rate format").
#
#   linear  one rule per prefix and direction, evaluated one after the other:
#             output: ip daddr P counter quota over Q drop   (ip6 daddr ...)
#             input:  ip saddr P counter quota over Q drop   (ip6 saddr ...)
#           The counter counts packets and bytes per prefix and direction
#           (NFT_COUNTER=0 leaves it out).  The quota of an anonymous quota
#           statement belongs to its rule, so here the limit applies to each
#           direction on its own: twice netfil's iobyte, which is no
#           difference for limits that are never reached.
#   map     nftables' fastest lookup: one named quota per prefix, q0 ... q<N-1>,
#           and two interval object maps from address to quota,
#             map q4 { type ipv4_addr : quota; flags interval; elements = ... }
#             map q6 { type ipv6_addr : quota; flags interval; elements = ... }
#           and two rules per hook whatever N is:
#             output: quota name ip daddr map @q4 drop  (ip6 daddr map @q6)
#             input:  quota name ip saddr map @q4 drop  (ip6 saddr map @q6)
#           An interval map is a single lookup (pipapo/rbtree), and output
#           and input reach the same quota object, so one quota counts both
#           directions, like netfil's iobyte.  A packet whose address is in
#           no prefix fails the lookup and the rule ends there.  The quota
#           objects count the bytes of each prefix ("used" in nft list
#           quotas); there is no separate counter.  Checked on nft 1.0.6 and
#           Linux 6.18: this syntax loads, and the shared quota drops
#           traffic once both directions together pass it.
#
# Both rulesets first create and delete their table in the same
# transaction, so loading replaces whatever was there, atomically.
#
# nft runs as `nsenter --net=/run/netns/$NFT_NS nft`.  Nothing here ever
# touches the caller's own network namespace: every function that runs nft
# refuses (returns 1) when NFT_NS is empty, names no namespace, or names the
# caller's own.
#
# shellcheck shell=bash

: "${NFT_ADDR:=10.77.0.2}"
: "${NFT_QUOTA:=1048576 mbytes}"
: "${NFT_COUNTER:=1}"

# _nft ARGS...: nft in namespace $NFT_NS, never in the caller's own.
_nft() {
	local ns=/run/netns/${NFT_NS:-} own
	if [ -z "${NFT_NS:-}" ]; then
		echo "nft.sh: NFT_NS is empty; refusing to run nft in this network namespace" >&2
		return 1
	fi
	if [ ! -e "$ns" ]; then
		echo "nft.sh: no network namespace $ns" >&2
		return 1
	fi
	own=$(stat -Lc '%d:%i' /proc/1/ns/net 2>/dev/null || stat -Lc '%d:%i' /proc/self/ns/net)
	if [ "$(stat -Lc '%d:%i' "$ns")" = "$own" ]; then
		echo "nft.sh: $ns is the root (or this shell's own) network namespace; refusing" >&2
		return 1
	fi
	nsenter --net="$ns" nft "$@"
}

# nft_ruleset linear|map N: the ruleset of N filters, on stdout.
nft_ruleset() {
	local kind=${1:-} n=${2:-}
	case $kind in
	linear | map) ;;
	*) echo "usage: nft_ruleset linear|map N" >&2; return 1 ;;
	esac
	case $n in
	'' | *[!0-9]* | 0) echo "nft_ruleset: N must be a positive integer" >&2; return 1 ;;
	esac
	python3 - "$kind" "$n" "$NFT_ADDR" "$NFT_QUOTA" "$NFT_COUNTER" <<'PY'
import sys
kind, n, addr, quota, counter = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5] != "0"
# (family, prefix): the filter matching the traffic, then N - 1 that do not
# (the same prefixes bench.sh gives netfil).
pre = [("ip6" if ":" in addr else "ip", addr)]
for k in range(n - 1):
    h = k // 2
    if k % 2:
        pre.append(("ip6", "fd00:%x:%x::/48" % (h // 250, h % 250)))
    else:
        pre.append(("ip", "10.%d.%d.0/24" % (100 + h // 250, h % 250)))
out = ["table inet netfil_bench {}", "delete table inet netfil_bench",
       "table inet netfil_bench {"]
hooks = (("output", "daddr"), ("input", "saddr"))
if kind == "linear":
    stmt = ("counter " if counter else "") + "quota over %s drop" % quota
    for hook, field in hooks:
        out.append("\tchain %s {" % hook)
        out.append("\t\ttype filter hook %s priority 0; policy accept;" % hook)
        out.extend("\t\t%s %s %s %s" % (fam, field, p, stmt) for fam, p in pre)
        out.append("\t}")
else:
    out.extend("\tquota q%d { over %s; }" % (i, quota) for i in range(len(pre)))
    for fam, name, typ in (("ip", "q4", "ipv4_addr"), ("ip6", "q6", "ipv6_addr")):
        el = ['%s : "q%d"' % (p, i) for i, (f, p) in enumerate(pre) if f == fam]
        out.append("\tmap %s {" % name)
        out.append("\t\ttype %s : quota" % typ)
        out.append("\t\tflags interval")
        if el:
            out.append("\t\telements = {")
            out.append(",\n".join("\t\t\t" + e for e in el))
            out.append("\t\t}")
        out.append("\t}")
    for hook, field in hooks:
        out.append("\tchain %s {" % hook)
        out.append("\t\ttype filter hook %s priority 0; policy accept;" % hook)
        out.append("\t\tquota name ip %s map @q4 drop" % field)
        out.append("\t\tquota name ip6 %s map @q6 drop" % field)
        out.append("\t}")
out.append("}")
print("\n".join(out))
PY
}

# nft_counter_ruleset ADDR: table inet netfil_count, counting only the
# traffic to ADDR (cnt_out, output hook) and from it (cnt_in, input hook).
# Priority 10, after netfil_bench's chains (0): it counts what they let by.
nft_counter_ruleset() {
	local addr=${1:-} fam=ip
	[ -n "$addr" ] || { echo "usage: nft_counter_ruleset ADDR" >&2; return 1; }
	case $addr in *:*) fam=ip6 ;; esac
	cat <<EOF
table inet netfil_count {}
delete table inet netfil_count
table inet netfil_count {
	counter cnt_out { }
	counter cnt_in { }
	chain output {
		type filter hook output priority 10; policy accept;
		$fam daddr $addr counter name cnt_out
	}
	chain input {
		type filter hook input priority 10; policy accept;
		$fam saddr $addr counter name cnt_in
	}
}
EOF
}

# nft_load linear|map N, nft_load counter ADDR: load a ruleset into $NFT_NS
# in one transaction (one nft -f).
nft_load() {
	local rs
	_nft --version >/dev/null || return 1
	case ${1:-} in
	counter) rs=$(nft_counter_ruleset "${2:-}") || return 1 ;;
	linear | map) rs=$(nft_ruleset "$@") || return 1 ;;
	*) echo "usage: nft_load linear|map N | nft_load counter ADDR" >&2; return 1 ;;
	esac
	printf '%s\n' "$rs" | _nft -f -
}

# nft_counter_bytes NAME: bytes counted by counter NAME of netfil_count.
nft_counter_bytes() {
	[ -n "${1:-}" ] || { echo "usage: nft_counter_bytes NAME" >&2; return 1; }
	_nft -j list counter inet netfil_count "$1" | python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    if "counter" in o:
        print(o["counter"]["bytes"])
        break
else:
    sys.exit(1)'
}

# nft_clear: delete netfil_bench and netfil_count from $NFT_NS, silently;
# absent tables are no error.
nft_clear() {
	_nft --version >/dev/null || return 1
	_nft -f - >/dev/null 2>&1 <<'EOF'
table inet netfil_bench {}
delete table inet netfil_bench
table inet netfil_count {}
delete table inet netfil_count
EOF
	return 0
}
