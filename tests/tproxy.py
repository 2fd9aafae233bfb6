#!/usr/bin/env python3
# A tiny transparent proxy for tests/redirect.sh: accepts connections,
# asks getsockopt(SO_ORIGINAL_DST) where each was going (SOL_IP, or
# SOL_IPV6 with IP6T_SO_ORIGINAL_DST), logs it and relays to it.
#   tproxy.py ADDR PORT LOG READY [MARK]
# MARK: SO_MARK of the upstream sockets (netfil's relay mark: never
# redirected, so the proxy may run inside a redirected tree).
import socket, struct, sys, threading

SO_ORIGINAL_DST = 80

addr, port, log, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
mark = int(sys.argv[5], 0) if len(sys.argv) > 5 else 0
lock = threading.Lock()


def note(line):
    with lock, open(log, "a") as f:
        f.write(line + "\n")


def original(c):
    peer = c.getpeername()[0]
    if c.family == socket.AF_INET6 and not peer.startswith("::ffff:"):
        raw = c.getsockopt(socket.IPPROTO_IPV6, SO_ORIGINAL_DST, 28)
        p, = struct.unpack("!H", raw[2:4])
        return socket.AF_INET6, socket.inet_ntop(socket.AF_INET6, raw[8:24]), p
    raw = c.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    p, = struct.unpack("!H", raw[2:4])
    return socket.AF_INET, socket.inet_ntop(socket.AF_INET, raw[4:8]), p


def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(c):
    try:
        fam, host, p = original(c)
    except OSError as e:
        note("noorig %s" % e.errno)
        c.close()
        return
    note("orig %s %d" % (host, p))
    u = socket.socket(fam, socket.SOCK_STREAM)
    if mark:
        u.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
    try:
        u.connect((host, p))
    except OSError as e:
        note("upstream %s" % e.errno)
        c.close()
        return
    t = threading.Thread(target=pipe, args=(u, c), daemon=True)
    t.start()
    pipe(c, u)
    t.join()
    c.close()
    u.close()


s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(64)
open(ready, "w").close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
