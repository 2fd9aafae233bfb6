#!/usr/bin/python3
# netfild's page in headless Chromium (python3-selenium, chromedriver): it
# loads with no console error and nothing from elsewhere, shows the state
# in colour and in words, filters with usage bars and graphs, processes
# and, on a click, their connections, and live traffic changes its numbers
# within 2 s with no reload.  Run by tests/web.sh, inside the test's
# namespace and cgroup; prints "ok   NAME" / "FAIL NAME" lines on stderr
# and, last, "PASSED FAILED" on stdout.
import argparse
import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ap = argparse.ArgumentParser()
ap.add_argument("--url", required=True)
ap.add_argument("--filter", type=int, required=True, help="the filter the traffic meets")
ap.add_argument("--sink", required=True, help="ADDR:PORT of a TCP sink the traffic goes to")
ap.add_argument("--netfil", required=True)
ap.add_argument("--daemon-pid", type=int, required=True, help="netfild, stopped at the end")
ap.add_argument("--shot", required=True)
ap.add_argument("--tmp", required=True)
args = ap.parse_args()

passed = failed = 0
GREEN, RED = "rgb(46, 125, 50)", "rgb(198, 40, 40)"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        log("ok   " + name)
    else:
        failed += 1
        log("FAIL " + name)
        if detail:
            log("  " + detail)
    return ok


def until(cond, secs, step=0.05):
    """cond() polled until true or secs pass; its last value."""
    end = time.monotonic() + secs
    while True:
        try:
            v = cond()
        except WebDriverException:
            v = None
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def js(script, *a):
    return driver.execute_script(script, *a)


def state():
    return js("const b = document.getElementById('badge');"
              "return [b.dataset.state, document.getElementById('state').textContent,"
              " getComputedStyle(b).backgroundColor, document.getElementById('detail').textContent];")


def cell(sel):
    return js("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", sel)


class Sender(threading.Thread):
    """Real traffic through the filter: 64 KiB every 40 ms (about
    1.5 MiB/s) on one TCP connection, for at most secs."""

    def __init__(self, addr, secs):
        super().__init__(daemon=True)
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.secs, self.sent, self.stop = secs, 0, threading.Event()

    def run(self):
        chunk, end = b"x" * 65536, time.monotonic() + self.secs
        try:
            while not self.stop.is_set() and time.monotonic() < end:
                self.sock.sendall(chunk)
                self.sent += len(chunk)
                self.stop.wait(0.04)
        except OSError as e:
            log("  sender: %s" % e)


def severe(entries):
    return [e for e in entries if e.get("level") == "SEVERE"]


profile = tempfile.mkdtemp(prefix="chrome-", dir=args.tmp)
opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage", "--window-size=1400,1000", "--user-data-dir=" + profile):
    opts.add_argument(a)
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = None
sender = None


def watchdog(*_):
    raise TimeoutError("web.py ran for 240 s")


# whatever hangs, the test ends
signal.signal(signal.SIGALRM, watchdog)
signal.alarm(240)
try:
    t0 = time.monotonic()
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(60)
    log("# chromium up in %.1f s" % (time.monotonic() - t0))
    driver.get(args.url)
    fid = args.filter
    row = 'tr[data-id="%d"]' % fid

    # --- the page, its state and its filters -------------------------------
    st = until(lambda: state()[0] == "on" and state(), 20)
    check("page: loaded, live, state 'on'", bool(st), "state: %r" % (st or state(),))
    st = state()
    check("state in colour: green for 'on'", st[2] == GREEN, "background %s" % st[2])
    check("state in words: 'on', every filter on", st[1] == "on" and "every filter is on" in st[3],
          "words: %r / %r" % (st[1], st[3]))
    check("filters: row for filter %d, its match" % fid,
          until(lambda: cell(row + " td.match"), 5) == "ip " + args.sink.rsplit(":", 1)[0],
          "match cell: %r" % cell(row + " td.match"))
    bars = js("return [...document.querySelectorAll(arguments[0] + ' [role=progressbar]')]"
              ".map(b => b.getAttribute('aria-label'));", row)
    check("filters: a usage bar per limit (obyte)", bars == ["obyte used"], "bars: %r" % bars)
    check("filters: a rate graph per filter (inline SVG)",
          js("return document.querySelectorAll('#filters tbody tr').length ==="
             " document.querySelectorAll('#filters td.graph svg polyline.out').length;"))
    ext = js("const o = location.origin, bad = [];"
             "for (const e of document.querySelectorAll('[src], [href]')) {"
             "  const u = e.getAttribute('src') || e.getAttribute('href');"
             "  if (!u.startsWith('data:') && new URL(u, location.href).origin !== o) bad.push(u); }"
             "for (const r of performance.getEntriesByType('resource'))"
             "  if (!r.name.startsWith(o)) bad.push(r.name);"
             "return bad;")
    check("page: nothing referenced or fetched from elsewhere", ext == [], "external: %r" % ext)
    logs = driver.get_log("browser")
    check("page: no console errors on load", not severe(logs), "console: %r" % severe(logs))

    # --- live traffic changes the numbers within 2 s, no reload -----------
    js("window.__no_reload = 42;")
    out = row + " td.bytes-out .n"

    def shown():	# the text shown, and the exact count behind it
        return js("const e = document.querySelector(arguments[0]);"
                  "return e ? [e.textContent, Number(e.dataset.bytes)] : null;", out)
    sender = Sender(args.sink, 25)
    # the handshake's bytes shown first: a change must be the traffic's
    last, since = shown(), time.monotonic()
    end = since + 10
    while time.monotonic() < end and time.monotonic() - since < 1.5:
        time.sleep(0.05)
        if shown() != last:
            last, since = shown(), time.monotonic()
    before = shown()
    t0 = time.monotonic()
    sender.start()
    changed = until(lambda: (shown() or before)[0] != before[0] and
                    shown()[1] >= before[1] + 65536 and shown(), 10, 0.02)
    took = time.monotonic() - t0
    log("# filter %d out: %r -> %r, %.2f s after the traffic started" % (fid, before, changed, took))
    check("live: traffic changed the page's byte count within 2 s (%.2f s)" % took,
          bool(changed) and took <= 2.0)
    check("live: with no reload", js("return window.__no_reload;") == 42)
    usage = until(lambda: js("const b = document.querySelector(arguments[0] + ' [role=progressbar]');"
                             "return b && Number(b.getAttribute('aria-valuenow')) > 0 &&"
                             " b.getAttribute('aria-valuenow');", row), 10)
    check("live: the usage bar grows", bool(usage), "aria-valuenow %r" % usage)
    rate = until(lambda: (cell(row + " .rate-out") or "0 B/s") not in ("0 B/s",) and
                 cell(row + " .rate-out"), 5)
    check("live: a rate out is shown", bool(rate), "rate %r" % cell(row + " .rate-out"))
    gmax = until(lambda: float(js("const s = document.querySelector(arguments[0] + ' td.graph svg');"
                                  "return s ? s.dataset.max : 0;", row) or 0) > 0, 5)
    check("live: the graph draws the traffic", bool(gmax))

    # --- processes, and a click shows their connections -------------------
    me = 'tr[data-pid="%d"]' % os.getpid()
    found = until(lambda: js("return !!document.querySelector('#procs ' + arguments[0]);", me), 10)
    check("processes: this test's process is listed", bool(found))
    if found:
        driver.find_element(By.CSS_SELECTOR, "#procs " + me).click()
        remote = until(lambda: js("return [...document.querySelectorAll('#conns tbody td.remote')]"
                                  ".map(e => e.textContent);"), 5) or []
        check("click on a process: its connection to %s is shown" % args.sink,
              args.sink in remote and js("return !document.getElementById('conns').hidden;"),
              "remote: %r" % remote)
        check("click: the process row is marked selected",
              js("return document.querySelector('#procs ' + arguments[0]).classList.contains('sel');", me))

    # the artefact, while it shows traffic, a selection and connections:
    # the whole page, not only the window
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 4000),
                 "scale": 1}})
    os.makedirs(os.path.dirname(args.shot), exist_ok=True)
    with open(args.shot, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    check("screenshot kept: %s" % args.shot, os.path.getsize(args.shot) > 10000)

    # --- a filter switched off turns the state red, in words too ----------
    subprocess.run([args.netfil, "filter", "set", str(fid), "off"], check=True)
    t0 = time.monotonic()
    st = until(lambda: state()[0] == "off" and state(), 5, 0.02)
    took = time.monotonic() - t0
    st = st or state()
    check("filter off: state 'off' within 2 s (%.2f s)" % took, st[0] == "off" and took <= 2.0,
          "state %r" % (st,))
    check("filter off: red", st[2] == RED, "background %s" % st[2])
    check("filter off: words name the filter", st[1] == "off" and ("filter %d is off" % fid) in st[3],
          "words %r / %r" % (st[1], st[3]))
    check("filter off: its row says off", cell(row + " td.status") == "off")
    subprocess.run([args.netfil, "filter", "set", str(fid), "on"], check=True)
    st = until(lambda: state()[0] == "on" and state(), 5) or state()
    check("filter on again: green, 'on'", st[0] == "on" and st[2] == GREEN, "state %r" % (st,))

    sender.stop.set()
    sender.join(5)
    logs = driver.get_log("browser")
    check("page: no console errors while live", not severe(logs), "console: %r" % severe(logs))

    # --- netfild gone: grey, and says so ------------------------------------
    os.kill(args.daemon_pid, signal.SIGTERM)
    st = until(lambda: state()[0] == "disconnected" and state(), 15) or state()
    check("netfild stopped: grey, 'disconnected' in words",
          st[0] == "disconnected" and st[1] == "disconnected" and st[2] not in (GREEN, RED),
          "state %r" % (st,))
except Exception as e:	# counted, never a hang or a traceback alone
    check("web.py ran to the end", False, "%s: %s" % (type(e).__name__, e))
finally:
    signal.alarm(0)
    if sender:
        sender.stop.set()
        sender.sock.close()
    if driver:
        try:
            driver.quit()
        except Exception as e:
            log("  quitting chromium: %s" % e)
    shutil.rmtree(profile, ignore_errors=True)
print(passed, failed, flush=True)
