"""A busybox initramfs for boot tests, written as a newc cpio by hand (no
cpio(1) needed).  Its /init prints a marker, mounts proc, sys and dev, loads
the ACPI button and evdev modules of the kernel under test, and powers off
when the power button is pressed (QMP system_powerdown)."""

import os
import stat

BOOTED = "V12N-MARKER-BOOTED"
WAITING = "V12N-WAITING-POWER-BUTTON"
PRESSED = "V12N-POWER-BUTTON-PRESSED"

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo {booted}
for m in /lib/modules/*.ko; do insmod $m; done
# one reader per power button input device: a key event powers off
n=0
for d in /sys/class/input/event*; do
    case "$(cat $d/device/name 2>/dev/null)" in
    *"Power Button"*)
        (dd if=/dev/input/${{d##*/}} bs=24 count=1 >/dev/null 2>&1
         echo {pressed}; poweroff -f) &
        n=$((n+1));;
    esac
done
echo {waiting} $n
while :; do sleep 60; done
""".format(booted=BOOTED, waiting=WAITING, pressed=PRESSED)


def _entry(out, ino, name, mode, data=b""):
    name_b = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0]
    out.write(b"070701" + b"".join(b"%08X" % f for f in fields))
    out.write(name_b)
    out.write(b"\0" * ((4 - (110 + len(name_b)) % 4) % 4))
    out.write(data)
    out.write(b"\0" * ((4 - len(data) % 4) % 4))


def module_path(kernel_release, rel):
    """A module of the kernel (uncompressed .ko), or None."""
    p = os.path.join("/lib/modules", kernel_release, "kernel", rel)
    return p if os.path.exists(p) else None


def build(path, busybox, modules):
    """Write the initramfs to path; modules: host paths of .ko files."""
    with open(path, "wb") as out:
        ino = 1
        for d in ("bin", "dev", "proc", "sys", "lib", "lib/modules"):
            _entry(out, ino, d, stat.S_IFDIR | 0o755)
            ino += 1
        with open(busybox, "rb") as f:
            _entry(out, ino, "bin/busybox", stat.S_IFREG | 0o755, f.read())
        ino += 1
        _entry(out, ino, "init", stat.S_IFREG | 0o755, INIT.encode())
        ino += 1
        for m in modules:
            with open(m, "rb") as f:
                _entry(out, ino, "lib/modules/" + os.path.basename(m), stat.S_IFREG | 0o644, f.read())
            ino += 1
        _entry(out, 0, "TRAILER!!!", 0)
