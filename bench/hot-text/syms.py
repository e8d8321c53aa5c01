# Turns the bitmaps of bench/hot-text/profile-hook.c into function names, in order of
# first profile then address: syms.py BINARY BITMAP...
import sys, subprocess
binary, *profs = sys.argv[1:]
syms = {}
for line in subprocess.run(['nm', '--defined-only', binary], capture_output=True, text=True).stdout.splitlines():
    a, t, n = line.split()[:3]
    if t in 'tT': syms.setdefault(int(a, 16), n)
base = 0
seen = set()
for p in profs:
    data = open(p, 'rb').read()
    out = []
    for i, b in enumerate(data):
        if not b: continue
        for k in range(8):
            if b >> k & 1:
                off = (i * 8 + k) << 4
                n = syms.get(off)
                if n is None:
                    print('unknown', hex(off), file=sys.stderr); continue
                if n not in seen: seen.add(n); out.append(n)
    print('\n'.join(out))
