#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Render the results bench/bench.sh collected: a Markdown report on stdout
and the same figures as JSON.  With --smoke, also check that every
measurement produced a number (and nothing about speed) and end with the
line "N passed, N failed".

usage: report.py RESULTS JSON_OUT [--smoke]
"""
import json
import statistics
import sys


def num(v):
    try:
        return float(v)
    except ValueError:
        return None


def load(path):
    res = {"tput": {}, "progrun": {}, "conn": {}, "evloss": [], "mem": {}, "rss": {},
           "acc": [], "ttf": [], "meta": {}, "owners": {}, "owners_meta": {}}
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            kind, rest = w[0], w[1:]
            if kind == "tput":
                res["tput"].setdefault(rest[0], {})[rest[1]] = rest[2:]
            elif kind == "progrun":
                res["progrun"].setdefault(rest[1], {})[rest[0]] = rest[2]
            elif kind == "evloss":
                res["evloss"].append(dict(zip(["target", "rate", "lost"], rest)))
            elif kind == "conn":
                res["conn"][rest[0]] = rest[1:]
            elif kind == "mem":
                res["mem"][rest[0]] = rest[1]
            elif kind == "rss":
                res["rss"][rest[0]] = rest[1]
            elif kind == "acc":
                res["acc"].append(dict(zip(
                    ["kind", "limit", "sent", "received", "admitted", "nft", "dropped"], rest)))
            elif kind == "ttf":
                res["ttf"].append(dict(zip(["kind", "proto", "action", "err", "us"], rest)))
            elif kind == "owners" and len(rest) >= 4:	# CFG ROUND NF NOP NF_MED NOP_MED
                res["owners"].setdefault(rest[0], {})[rest[1]] = rest[2:]
            elif kind == "owners-meta":
                res["owners_meta"] = dict(x.split("=", 1) for x in rest)
            elif kind == "meta":
                res["meta"][rest[0]] = " ".join(rest[1:])
    return res


def summary(values):
    v = [x for x in (num(s) for s in values) if x is not None]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def fmt(s, unit="", digits=2):
    if not s:
        return "n/a"
    f = "%%.%df" % digits
    return (f % s["median"]) + unit + " (" + (f % s["min"]) + "-" + (f % s["max"]) + ")"


def paired(runs, base):
    """summary of runs[i] / base[i]: ratios taken round by round"""
    return summary([num(a) / num(b) for a, b in zip(runs, base) if num(a) is not None and num(b)])


def label(cfg):
    if cfg == "none":
        return "no filter"
    kind, n = cfg.rsplit("-", 1)
    return {"netfil": "netfil, %s filter(s)",
            "allkinds": "netfil, %s filters incl. one matching of each kind",
            "nft-linear": "nftables, linear chain of %s quota rules",
            "nft-map": "nftables, %s quotas behind interval maps"}[kind] % n


def main():
    res = load(sys.argv[1])
    smoke = "--smoke" in sys.argv
    out = {"meta": res["meta"], "throughput_gbps": {},
           "conn_per_s": {}, "memlock_bytes": res["mem"], "cli_peak_rss_kib": res["rss"],
           "accuracy": res["acc"], "time_to_fail": res["ttf"]}
    m = res["meta"]
    print("# netfil benchmark\n")
    print("Machine: %s; %s.  Date: %s.  Command: `%s`.\n" % (
        m.get("machine", "?"), m.get("cpu", "?"), m.get("date", "?"), m.get("command", "?")))

    base = res["tput"].get("none", {})
    print("## 1. Bulk TCP throughput (iperf3, A -> B over veth)\n")
    print("Median (min-max) Gbit/s over the rounds; each round runs every configuration "
          "once, no filter among them, in an order rotated from round to round; ratio = "
          "the configuration / no filter, round by round, median (min-max).\n")
    print("| configuration | 1 stream | ratio | 4 streams | ratio |")
    print("|---|---|---|---|---|")
    for cfg, by in res["tput"].items():
        row = ["| " + label(cfg)]
        out["throughput_gbps"][cfg] = {}
        for s in ("1", "4"):
            st = summary(by.get(s, []))
            ratio = paired(by.get(s, []), base.get(s, []))
            out["throughput_gbps"][cfg][s] = dict(st or {}, ratio=ratio)
            row += [fmt(st), fmt(ratio, "", 3)]
        print(" | ".join(row) + " |")

    print("\n## 2. Cost per packet of each program\n")
    print("The cost over a floor of programs that do nothing, attached beside netfil's "
          "in the same run, per packet and per connection: section 12 (bench/floor.sh).")
    print("\nWarm caches, no bpf_stats clock reads: BPF_PROG_TEST_RUN of one crafted UDP "
          "packet, 1,000,000 runs, mean ns per run.  Matching: one IP filter (and, for tc, "
          "one interface filter); the rest are IP prefixes that match nothing.  Test runs "
          "carry no socket, so the socket-filter path is not in these figures.\n")
    sizes = sorted({n for by in res["progrun"].values() for n in by}, key=int)
    print("| program | " + " | ".join("%s filters" % n for n in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for p, by in sorted(res["progrun"].items()):
        print("| %s | " % p + " | ".join(by.get(n, "n/a") for n in sizes) + " |")
    out["progrun_ns"] = res["progrun"]

    print("\n## 3. Connection rate (connect, send 32 bytes, close; 2 workers)\n")
    cbase = res["conn"].get("none", [])
    print("| configuration | connections/s | ratio to no filter |")
    print("|---|---|---|")
    for cfg, v in res["conn"].items():
        if cfg.startswith("events-"):
            continue	# section 4
        st = summary(v)
        ratio = paired(v, cbase)
        out["conn_per_s"][cfg] = dict(st or {}, ratio=ratio)
        print("| %s | %s | %s |" % (label(cfg), fmt(st, "", 0), fmt(ratio, "", 3)))

    print("\n## 4. Event stream\n")
    ebase = summary(res["conn"].get("events-0", []))
    print("Connection rate with subscribers attached (`netfil -j events > /dev/null`, "
          "each formatting every event), as a ratio to netfil with none, same run:\n")
    print("| subscribers | connections/s | ratio to none |")
    print("|---|---|---|")
    out["events"] = {"conn": {}, "loss": res["evloss"]}
    for k in ("events-0", "events-1", "events-4"):
        st = summary(res["conn"].get(k, []))
        ratio = st["median"] / ebase["median"] if st and ebase else None
        out["events"]["conn"][k] = dict(st or {}, ratio=ratio)
        print("| %s | %s | %s |" % (k.split("-")[1], fmt(st, "", 0), "%.3f" % ratio if ratio else "n/a"))
    print("\nOne subscriber, connections paced at a target rate (0: as fast as the "
          "machine goes); events lost during the run:\n")
    print("| target connections/s | achieved | events lost |")
    print("|---|---|---|")
    for e in res["evloss"]:
        print("| %s | %s | %s |" % ("full speed" if e["target"] == "0" else e["target"],
                                   e.get("rate"), e.get("lost")))

    print("\n## 5. Enforcement accuracy (bulk TCP upload of 3x the limit, action drop)\n")
    print("| kind | limit | sender wrote | peer received | netfil admitted (L3) | "
          "nftables at the peer (L3) | overshoot | stopped below the limit by |")
    print("|---|---|---|---|---|---|---|---|")
    for a in res["acc"]:
        lim, adm = num(a["limit"]), num(a.get("admitted", ""))
        a["overshoot"] = max(0, adm - lim) if adm is not None else None
        a["below"] = lim - adm if adm is not None else None
        print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            a["kind"], a["limit"], a.get("sent"), a.get("received"), a.get("admitted"),
            a.get("nft"), "%d" % a["overshoot"] if a["overshoot"] is not None else "n/a",
            "%d" % a["below"] if a["below"] is not None else "n/a"))

    print("\n## 6. Time to fail (from the crossing of the limit to the sender's error)\n")
    print("| filter | protocol | action | the sender saw | time (us), median (min-max) |")
    print("|---|---|---|---|---|")
    groups = {}
    for t in res["ttf"]:
        groups.setdefault((t["kind"], t["proto"], t["action"]), []).append(t)
    out["time_to_fail"] = []
    for (k, p, a), ts in groups.items():
        st = summary([t["us"] for t in ts])
        errs = ",".join(sorted({t["err"] for t in ts}))
        out["time_to_fail"].append({"kind": k, "proto": p, "action": a, "errors": errs, "us": st})
        print("| %s | %s | %s | %s | %s |" % (k, p, a, errs, fmt(st, "", 0)))

    print("\n## 7. Memory\n")
    print("| what | value |")
    print("|---|---|")
    for n, b in res["mem"].items():
        print("| locked memory of netfil's maps, %s filter(s) | %.1f MiB |" % (n, int(b) / 2**20))
    for k, v in res["rss"].items():
        print("| peak RSS of `netfil %s` | %s KiB |" % (k.rsplit("-", 1)[0].replace("-", " "), v))

    print("\n## 8. Socket creation with 1,000 exe filters (bench/owners.sh)\n")
    om = res["owners_meta"]
    print("ns per socket of nf_sock_create over nop_sock_create, a program that does nothing "
          "at the same cgroup/sock_create hook, run on the same sockets: run_time_ns / run_cnt "
          "from bpf_stats.  Each round loads the three configurations afresh, as three netfil "
          "instances on sibling cgroups, and one process creates and closes %s sockets (TCP and "
          "UDP) in each, %s at a time in each in turn, so that they share the machine's drift; "
          "%s round(s); the creating process has %s ancestors.  Median (min to max) over the rounds; "
          "the differences are paired by round.\n"
          % (om.get("sockets", "?"), om.get("batch", "?"), om.get("rounds", "?"),
             om.get("ancestors", "?")))
    names = {"a": "a: no filter", "b": "b: %s exe filters, the creator not one of them" % om.get("filters", "?"),
             "c": "c: %s exe filters, the creator one of them" % om.get("filters", "?")}
    over = {c: {r: num(v[0]) - num(v[1]) for r, v in by.items() if num(v[0]) is not None and num(v[1]) is not None}
            for c, by in res["owners"].items()}
    out["sock_create_exe_filters"] = {"meta": om}

    def fmt1(st):	# the differences may be negative: "median (min to max)"
        return "%.1f (%.1f to %.1f)" % (st["median"], st["min"], st["max"]) if st else "n/a"
    print("| configuration | nf_sock_create | nop_sock_create | nf - nop |")
    print("|---|---|---|---|")
    for c in "abc":
        by = res["owners"].get(c, {})
        s_nf = summary([v[0] for v in by.values()])
        s_nop = summary([v[1] for v in by.values()])
        s_over = summary(list(over.get(c, {}).values()))
        out["sock_create_exe_filters"][c] = {"nf": s_nf, "nop": s_nop, "nf_minus_nop": s_over}
        print("| %s | %s | %s | %s |" % (names[c], fmt1(s_nf), fmt1(s_nop), fmt1(s_over)))
    for c in "bc":
        d = summary([over[c][r] - over["a"][r] for r in over.get(c, {}) if r in over.get("a", {})])
        out["sock_create_exe_filters"][c + "-a"] = d
        print("| %s - a: what the filters add | | | %s |" % (c, fmt1(d)))

    with open(sys.argv[2], "w") as f:
        json.dump(out, f, indent=1)

    if smoke:
        checks = []
        checks += [("tput " + c + " " + s, v) for c, by in res["tput"].items()
                   for s, vals in by.items() for v in vals]
        checks += [("conn " + c, v) for c, vals in res["conn"].items() for v in vals]
        checks += [("progrun %s %s" % (p, n), v) for p, by in res["progrun"].items()
                   for n, v in by.items()]
        checks += [("mem " + n, v) for n, v in res["mem"].items()]
        checks += [("evloss %s %s" % (e["target"], k), e.get(k, ""))
                   for e in res["evloss"] for k in ("rate", "lost")]
        checks += [("rss " + n, v) for n, v in res["rss"].items()]
        checks += [("acc %s %s %s" % (a["kind"], a["limit"], k), a.get(k, ""))
                   for a in res["acc"] for k in ("sent", "received", "admitted", "nft")]
        checks += [("ttf %s %s %s" % (t["kind"], t["proto"], t["action"]), t["us"])
                   for t in res["ttf"]]
        checks += [("owners %s %s %s" % (c, r, k), v[i]) for c, by in res["owners"].items()
                   for r, v in by.items() for i, k in enumerate(("nf", "nop"))]
        want = ["tput", "progrun", "conn", "evloss", "mem", "rss", "acc", "ttf", "owners"]
        passed = failed = 0
        for name, v in checks:
            if num(v) is None:
                failed += 1
                print("smoke: FAIL %s: %r is not a number" % (name, v), file=sys.stderr)
            else:
                passed += 1
        for w in want:
            if not any(n.startswith(w + " ") for n, _ in checks):
                failed += 1
                print("smoke: FAIL no %s measurement" % w, file=sys.stderr)
        print("\n%d passed, %d failed" % (passed, failed))
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
