# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""What the benchmark scripts share: median [min, max] of a list of
figures and its one-line rendering, and the checks of a run (each figure a
number, and so on) with their "N passed, N failed" line."""
import math
import statistics
import sys


def st(v):
    """median, min, max and count of the figures in v; None when empty"""
    v = [x for x in v if x is not None]
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)} if v else None


def fmt(s, f):
    """s rendered with the printf format f as "median [min, max]" """
    return "n/a" if s is None else (f + " [" + f + ", " + f + "]") % (s["median"], s["min"], s["max"])


def isnum(x):
    return isinstance(x, (int, float)) and math.isfinite(x)


class Checks:
    """check(name, ok) for each; end() prints the count (smoke) or a
    warning, and returns the exit status"""
    def __init__(self):
        self.results = []

    def __call__(self, name, ok):
        self.results.append(bool(ok))
        if not ok:
            print("FAIL " + name, file=sys.stderr)

    def end(self, smoke, note=""):
        bad = self.results.count(False)
        if smoke:
            print("%d passed, %d failed%s" % (len(self.results) - bad, bad, note))
        elif bad:
            print("warning: %d check(s) failed (see above)" % bad)
        return 1 if bad else 0
