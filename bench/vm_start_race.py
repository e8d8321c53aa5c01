"""Start to init marker, `v12n vm start` vs the same QEMU argv, interleaved.

Called by bench/vm-qemu.sh with a JSON file naming, for each of the two
ways ("v12n", "raw"): the argv that starts the VM (both return once QEMU
has daemonized), the serial log file QEMU writes the console to, and how to
stop it.  Both ways are timed by this one process in the same way:

  t0   just before the start command is spawned
  ret  when the start command has exited (QEMU daemonized)
  t1   when the marker is in the log, which is read (new bytes only) every
       POLL_S seconds by the same loop for both

Each round runs both ways back to back in a random order, so that the
shared machine's load, which changes from minute to minute, weighs on both
alike; the ratio is taken per round and summarised by its median, quartiles
and a bootstrap 95% interval of that median.  The stop (v12n vm destroy vs
SIGKILL) is timed apart and not part of the ratio.
"""

import json
import os
import random
import select
import signal
import statistics
import subprocess
import sys
import time

POLL_S = 0.005
TIMEOUT_S = 300


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def wait_marker(path, marker, proc, t0):
    """Seconds from t0 to the marker in path, and to the start command's exit."""
    keep = len(marker) - 1
    tail = b""
    pos = 0
    ret = None
    while True:
        if ret is None and proc.poll() is not None:
            ret = time.monotonic() - t0
            if proc.returncode != 0:
                raise RuntimeError(f"start command exited {proc.returncode}")
        try:
            with open(path, "rb") as f:
                f.seek(pos)
                data = f.read()
        except FileNotFoundError:
            data = b""
        if data:
            pos += len(data)
            window = tail + data
            if marker in window:
                t1 = time.monotonic() - t0
                if ret is None:
                    proc.wait()
                    ret = time.monotonic() - t0
                return t1, ret
            tail = window[-keep:]
        if time.monotonic() - t0 > TIMEOUT_S:
            raise RuntimeError(f"no marker in {path} after {TIMEOUT_S} s")
        time.sleep(POLL_S)


def kill_and_wait(pidfile):
    with open(pidfile) as f:
        pid = int(f.read().strip())
    fd = os.pidfd_open(pid)
    try:
        os.kill(pid, signal.SIGKILL)
        select.select([fd], [], [], 10)
    finally:
        os.close(fd)
    os.unlink(pidfile)


def run(way, marker):
    for p in (way["log"],):
        if os.path.exists(p):
            os.unlink(p)
    t0 = time.monotonic()
    proc = subprocess.Popen(way["start"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t1, ret = wait_marker(way["log"], marker.encode(), proc, t0)
    s0 = time.monotonic()
    if "stop" in way:
        subprocess.run(way["stop"], check=True, stdout=subprocess.DEVNULL)
    else:
        kill_and_wait(way["pidfile"])
    return t1, ret, time.monotonic() - s0


def quartiles(xs):
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], q[2]


def bootstrap_median(xs, n=4000):
    rng = random.Random(5)
    meds = sorted(statistics.median(rng.choices(xs, k=len(xs))) for _ in range(n))
    return meds[int(0.025 * n)], meds[int(0.975 * n) - 1]


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    rounds, marker, ways = cfg["rounds"], cfg["marker"], cfg["ways"]
    print(f"load at start: {loadavg()}")
    run(ways["v12n"], marker)  # warm-up: page cache, not counted
    run(ways["raw"], marker)
    res = {"v12n": [], "raw": []}
    print("round  order      v12n: marker  ret   stop | raw: marker  ret   stop | ratio  load")
    for r in range(1, rounds + 1):
        order = ["v12n", "raw"]
        random.shuffle(order)
        got = {w: run(ways[w], marker) for w in order}
        for w in order:
            res[w].append(got[w])
        v, q = got["v12n"], got["raw"]
        print(f"{r:5d}  {order[0]:>4}-first  {v[0]:6.3f} {v[1]:5.3f} {v[2]:5.3f} |"
              f" {q[0]:6.3f} {q[1]:5.3f} {q[2]:5.3f} | {v[0] / q[0]:5.3f}  {loadavg()}",
              flush=True)
    print(f"load at end: {loadavg()}")
    for w in ("v12n", "raw"):
        m = [x[0] for x in res[w]]
        lo, hi = quartiles(m)
        print(f"{w:>4}: start to marker median {statistics.median(m):.3f} s"
              f" (quartiles {lo:.3f} - {hi:.3f}, min {min(m):.3f}, max {max(m):.3f});"
              f" start command returns after {statistics.median(x[1] for x in res[w]):.3f} s;"
              f" stop {statistics.median(x[2] for x in res[w]):.3f} s (medians)")
    ratios = [v[0] / q[0] for v, q in zip(res["v12n"], res["raw"])]
    lo, hi = quartiles(ratios)
    clo, chi = bootstrap_median(ratios)
    print(f"ratio v12n/raw per round: median {statistics.median(ratios):.3f}"
          f" (quartiles {lo:.3f} - {hi:.3f}, 95% CI of the median {clo:.3f} - {chi:.3f},"
          f" min {min(ratios):.3f}, max {max(ratios):.3f}, {len(ratios)} rounds)")
    diffs = [v[0] - q[0] for v, q in zip(res["v12n"], res["raw"])]
    print(f"difference v12n - raw per round: median {statistics.median(diffs) * 1000:+.0f} ms")


if __name__ == "__main__":
    main()
