#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Checks on the JSON lines of "netfil -j events", for tests/e2e.sh.

  events.py LOG has-close PID                 exit 0 once PID's close is logged
  events.py LOG flow PID PROTO FAMILY RADDR RPORT BYTES ROLE
        ROLE client: socket, connect (allowed), close, with the summary's
        bytes matching BYTES sent; ROLE server: socket, bind, (listen,
        accept,) close, with BYTES received.  Prints what is wrong.
  events.py LOG count TYPE [KEY=VALUE...]      how many events match
  events.py LOG keys PID...                     (type, sock) pairs of PIDs' events
  events.py LOG lost                            sum of "lost" counts
"""
import json
import sys


def load(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


# IP + TCP header bytes per packet: at least the bare headers, at most with
# the largest options TCP sends (SYN: MSS, SACK, timestamps, window scale).
HDR = {("tcp", "ipv4"): (40, 60), ("tcp", "ipv6"): (60, 80),
       ("udp", "ipv4"): (28, 28), ("udp", "ipv6"): (48, 48)}


def flow(evs, pid, proto, family, raddr, rport, nbytes, role):
    errs = []
    mine = [e for e in evs if e.get("tgid") == pid and e.get("proto") == proto]
    types = [e["type"] for e in mine]
    want = ["socket", "connect", "close"] if role == "client" else \
        (["socket", "bind", "listen", "accept", "close"] if proto == "tcp"
         else ["socket", "bind", "close"])
    for t in want:
        if t not in types:
            errs.append("no %s event for pid %d (got %s)" % (t, pid, types))
    if errs:
        return errs
    for e in mine:
        if e["family"] != family:
            errs.append("%s: family %s" % (e["type"], e["family"]))
        if e.get("comm") != "nftraffic":
            errs.append("%s: comm %s" % (e["type"], e.get("comm")))
    conn = [e for e in mine if e["type"] == "connect"]
    if role == "client":
        c = conn[0]
        if c["verdict"] != "allowed" or c["raddr"] != raddr or c["rport"] != rport:
            errs.append("connect: %s" % c)
    # the close that moved the data: the client's socket, or the
    # server's accepted (TCP) or bound (UDP) socket
    closes = [e for e in mine if e["type"] == "close"]
    d = "out" if role == "client" else "in"
    moved = max(closes, key=lambda e: e["bytes"][d])
    lo, hi = HDR[(proto, family)]
    pk, b = moved["packets"][d], moved["bytes"][d]
    if proto == "tcp":
        pay = moved["payload"][d]
        if pay != nbytes:
            errs.append("close: payload %s %d, sent %d" % (d, pay, nbytes))
    else:
        pay = nbytes
        if pk != nbytes // 1000:
            errs.append("close: %d datagrams %s, want %d" % (pk, d, nbytes // 1000))
    if not pay + pk * lo <= b <= pay + pk * hi:
        errs.append("close: L3 %s %d not in payload %d + %d packets x [%d, %d]"
                    % (d, b, pay, pk, lo, hi))
    if role == "client" and (moved["raddr"] != raddr or moved["rport"] != rport):
        errs.append("close: remote %s:%s" % (moved["raddr"], moved["rport"]))
    if moved["duration_ns"] <= 0:
        errs.append("close: duration %s" % moved["duration_ns"])
    return errs


def main():
    evs = load(sys.argv[1])
    cmd = sys.argv[2]
    if cmd == "has-close":
        pid = int(sys.argv[3])
        sys.exit(0 if any(e["type"] == "close" and e.get("tgid") == pid for e in evs) else 1)
    if cmd == "flow":
        pid, proto, family, raddr, rport, nbytes, role = sys.argv[3:10]
        errs = flow(evs, int(pid), proto, family, raddr, int(rport), int(nbytes), role)
        for e in errs:
            print(e)
        sys.exit(1 if errs else 0)
    if cmd == "count":
        conds = [a.split("=", 1) for a in sys.argv[4:]]
        n = sum(1 for e in evs if e["type"] == sys.argv[3] and
                all(str(e.get(k)) == v for k, v in conds))
        print(n)
        return
    if cmd == "keys":
        pids = {int(p) for p in sys.argv[3:]}
        for k in sorted({(e["type"], e.get("sock", 0)) for e in evs if e.get("tgid") in pids}):
            print(*k)
        return
    if cmd == "lost":
        print(sum(e["count"] for e in evs if e["type"] == "lost"))
        return
    sys.exit("events.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
