"""What a container could leave behind: mounts, cgroups, processes.  A module of
its own, not conftest.py: pytest imports every directory's conftest.py under
the one name, so `from conftest import` may get another directory's."""
import os


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [l.split()[4] for l in f if l.split()[4].startswith(path)]


def cgroups_named(ident):
    found = []
    for top in ("/sys/fs/cgroup",):
        for dirpath, dirnames, _ in os.walk(top):
            if dirpath.count("/") > 6:
                dirnames[:] = []
                continue
            found += [os.path.join(dirpath, d) for d in dirnames if ident in d]
    return found


def processes_with(text):
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if text.encode() in f.read():
                    out.append(int(pid))
        except OSError:
            pass
    return out
