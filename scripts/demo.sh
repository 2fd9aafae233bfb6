#!/bin/bash
# netfil's built-in example: two throwaway network namespaces, a server
# with a file to download and a client under netfil's limits.  netfil is
# attached to a cgroup of its own, so nothing else on the machine is
# filtered, and everything is removed at the end.
set -u
. "$(dirname "$0")/../tests/lib.sh"
trap cleanup EXIT
trap 'exit 1' INT TERM

say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
show() { printf '$ netfil %s\n' "$*"; nf "$@"; }

setup_cgroup && setup_net || exit 1
say "load netfil (programs pinned in $NETFIL_PIN_DIR, attached to $NETFIL_CGROUP)"
show load && show status || exit 1

say "use case 3: limit what we download from one host to 1 MiB"
FID=$(nf filter add ip 10.77.0.2 ibyte 1M action reject)
echo "filter $FID added"
PORT=7000
in_b "$NFT" source tcp 10.77.0.2 $PORT 5000000 --ready "$TMP"/ready > "$TMP"/source.out &
wait_file "$TMP"/ready
in_a "$NFT" fetch tcp 10.77.0.2 $PORT > "$TMP"/fetch.out
wait
echo "server offered 5000000 bytes; client received $(field "$TMP"/fetch.out received)" \
	"bytes and saw $(field "$TMP"/fetch.out err)"
show filter show "$FID"

say "use case 1: an application may upload only 256 KiB"
rm -f "$TMP"/ready
in_b "$NFT" sink tcp 10.77.0.3 $((PORT + 1)) --ready "$TMP"/ready > "$TMP"/sink.out &
wait_file "$TMP"/ready
printf '$ netfil run obyte 256K -- nftraffic send tcp 10.77.0.3 %s 5000000\n' $((PORT + 1))
nf run obyte 256K -- nsenter --net=/run/netns/$NS_A "$NFT" send tcp 10.77.0.3 $((PORT + 1)) 5000000
wait
echo "server received $(field "$TMP"/sink.out received) bytes"

say "use case 2: a data cap on an interface, set the original's way"
in_a "$NETFIL" sysctl net.netfil.interface.list=vab net.netfil.interface.iobyte=10M \
	net.netfil.interface.status=1
rm -f "$TMP"/ready
in_c "$NFT" sink tcp 10.78.0.2 $((PORT + 2)) --ready "$TMP"/ready > "$TMP"/sink.out &
wait_file "$TMP"/ready
in_a "$NFT" send tcp 10.78.0.2 $((PORT + 2)) 3000000 > /dev/null
wait
echo "sent 3000000 bytes to 10.78.0.2 over vac (not capped); now 20 MB over vab:"
rm -f "$TMP"/ready
in_b "$NFT" sink tcp 10.77.0.3 $((PORT + 3)) --ready "$TMP"/ready > "$TMP"/sink.out &
wait_file "$TMP"/ready
in_a "$NFT" send tcp 10.77.0.3 $((PORT + 3)) 20000000 --timeout 2000 > "$TMP"/send.out
wait
echo "server received $(field "$TMP"/sink.out received) of 20000000 bytes;" \
	"the sender stalled ($(field "$TMP"/send.out err)): interface filters only drop"
in_a "$NETFIL" sysctl net.netfil.interface.bytes_in net.netfil.interface.bytes_out \
	net.netfil.interface.exceeded_out

say "unload: every program, link, pin and tc hook goes"
show unload && echo "unloaded: $(ls "$NETFIL_PIN_DIR" 2>/dev/null | wc -l) pins left"
