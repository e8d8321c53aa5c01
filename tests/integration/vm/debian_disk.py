"""A Debian 12 (bookworm) disk that boots through SeaBIOS and GRUB to a login
prompt on the serial console, for the slow test (test_vm_debian.py).

Built once and cached: debootstrap (minbase + kernel, systemd, dbus for
logind's power button) into an ext4 partition of a raw image on a loop
device, GRUB installed on its MBR with the host's grub-install, then
`qemu-img convert -O qcow2`.  The cache is V12N_TEST_CACHE (default
/var/cache/v12n-tests): the image is debian12-<hash of this file>.qcow2, so
an edit here builds a new one, and downloaded packages stay in debs/ (seeded
from the host's /var/cache/apt/archives).  Every loop device and mount is
released on every path."""

import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
import tempfile
import time

MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
# systemd-sysv: init and the serial getty (console=ttyS0 starts one);
# dbus: systemd-logind, which turns the ACPI power button into a poweroff
PACKAGES = ["linux-image-amd64", "systemd-sysv", "udev", "dbus", "kmod", "initramfs-tools"]
SIZE = "2G"
ROOT_UUID = "6a1c0f0e-7d6f-4c5e-9a57-7631a2b3c4d5"  # fixed: the same recipe, the same disk
CMDLINE = "root=UUID=%s ro console=ttyS0,115200 net.ifnames=0" % ROOT_UUID
HOSTNAME = "v12n-debian"
TOOLS = {"debootstrap": "debootstrap", "sfdisk": "fdisk", "partx": "util-linux",
         "fstrim": "util-linux",
         "losetup": "mount", "mkfs.ext4": "e2fsprogs", "grub-install": "grub2-common",
         "qemu-img": "qemu-utils"}


def cache_dir():
    return os.environ.get("V12N_TEST_CACHE", "/var/cache/v12n-tests")


def missing_tools():
    """The Debian packages to install for the tools that are not on PATH."""
    out = sorted({pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None})
    if not os.path.exists("/usr/lib/grub/i386-pc/boot.img"):
        out.append("grub-pc-bin")
    return out


def image_path():
    with open(__file__, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    return os.path.join(cache_dir(), "debian12-%s.qcow2" % digest)


def run(*argv, timeout=900, **kw):
    if "input" not in kw:
        kw["stdin"] = subprocess.DEVNULL
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d\n%s%s" % (" ".join(argv), p.returncode,
                                                  p.stdout[-3000:], p.stderr[-3000:]))
    return p.stdout


def get_image(log=print):
    """The cached image's path, built first when absent.  A lock serializes
    two sessions that would build it at the same time."""
    path = image_path()
    os.makedirs(cache_dir(), exist_ok=True)
    with open(os.path.join(cache_dir(), "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(path):
            start = time.monotonic()
            build(path)
            log("debian disk: built %s in %.0f s" % (path, time.monotonic() - start))
            for old in glob.glob(os.path.join(cache_dir(), "debian12-*.qcow2")):
                if old != path:  # an older recipe's image
                    os.unlink(old)
    return path


def build(dest):
    work = tempfile.mkdtemp(prefix="build-", dir=cache_dir())
    try:
        raw = os.path.join(work, "disk.raw")
        run("truncate", "-s", SIZE, raw)
        # one bootable Linux partition from 1 MiB: the gap before it holds GRUB's core.img
        run("sfdisk", "-q", raw, input="label: dos\nstart=2048, type=83, bootable\n")
        with LoopDisk(raw) as disk:
            run("mkfs.ext4", "-q", "-U", ROOT_UUID, "-L", "root", disk.partition)
            root = os.path.join(work, "root")
            os.mkdir(root)
            with Mounted(disk.partition, root):
                install_system(root)
                install_grub(root, disk.device)
                # deleted files' blocks become holes in disk.raw, left out of the qcow2
                run("fstrim", root)
        tmp = os.path.join(work, "disk.qcow2")
        run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, tmp)
        os.chmod(tmp, 0o444)  # VMs boot linked clones of it; nothing writes the cache
        os.rename(tmp, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)


class LoopDisk:
    """The raw image on a loop device with its first partition's node
    (partx: losetup -P does not create the nodes on this host)."""

    def __init__(self, raw):
        self.raw = raw

    def __enter__(self):
        self.device = run("losetup", "--find", "--show", self.raw).strip()
        try:
            run("partx", "--add", self.device)
            self.partition = self.device + "p1"
            deadline = time.monotonic() + 10
            while not os.path.exists(self.partition):
                if time.monotonic() > deadline:
                    raise RuntimeError("%s: no partition node" % self.device)
                time.sleep(0.1)
        except BaseException:
            self.release()
            raise
        return self

    def release(self):
        subprocess.run(["partx", "--delete", self.device], capture_output=True)
        run("losetup", "--detach", self.device)

    def __exit__(self, *exc):
        self.release()


class Mounted:
    def __init__(self, source, target, *opts):
        self.argv = ["mount", *opts, source, target]
        self.target = target

    def __enter__(self):
        run(*self.argv)
        return self

    def __exit__(self, *exc):
        # debootstrap, stopped half-way, can leave its /proc and /sys mounts in there
        for m in sorted(mounts_under(self.target), key=len, reverse=True):
            subprocess.run(["umount", "--lazy", m], capture_output=True)
        run("umount", self.target)


def mounts_under(path):
    prefix = os.path.realpath(path) + "/"
    with open("/proc/self/mounts") as f:
        points = [line.split()[1].replace("\\040", " ") for line in f]
    return [p for p in points if p.startswith(prefix)]


def seed_package_cache(debs):
    """Hard links to the host's downloaded packages: debootstrap checks
    their checksums and downloads only what is missing.  On another file
    system (no hard links) it downloads them all."""
    os.makedirs(debs, exist_ok=True)
    for src in glob.glob("/var/cache/apt/archives/*.deb"):
        dst = os.path.join(debs, os.path.basename(src))
        if not os.path.exists(dst):
            try:
                os.link(src, dst)
            except OSError:
                return


def install_system(root):
    debs = os.path.join(cache_dir(), "debs")
    seed_package_cache(debs)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C.UTF-8")
    run("debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES),
        "--cache-dir=" + debs, SUITE, root, MIRROR, env=env, timeout=1500)
    write(root, "etc/fstab", "UUID=%s / ext4 errors=remount-ro 0 1\n" % ROOT_UUID)
    write(root, "etc/hostname", HOSTNAME + "\n")
    write(root, "etc/hosts", "127.0.0.1 localhost\n127.0.1.1 %s\n" % HOSTNAME)
    # root logs in without a password: the test checks the login prompt only
    run("chroot", root, "passwd", "--delete", "root", env=env)
    # no machine id baked into the image: systemd makes one at first boot
    write(root, "etc/machine-id", "")
    for f in glob.glob(os.path.join(root, "var/cache/apt/archives/*.deb")):
        os.unlink(f)


def install_grub(root, device):
    """GRUB for BIOS from the host's grub-pc-bin: boot.img in the MBR,
    core.img in the gap, modules and a hand-written grub.cfg in /boot/grub
    (no update-grub in the guest: the chroot cannot probe the loop disk)."""
    boot = os.path.join(root, "boot")
    kernels = sorted(glob.glob(os.path.join(boot, "vmlinuz-*")))
    if not kernels:
        raise RuntimeError("%s: no kernel installed" % boot)
    release = os.path.basename(kernels[-1])[len("vmlinuz-"):]
    if not os.path.exists(os.path.join(boot, "initrd.img-" + release)):
        raise RuntimeError("%s: no initrd.img-%s" % (boot, release))
    run("grub-install", "--target=i386-pc", "--boot-directory=" + boot,
        "--modules=part_msdos ext2", "--no-floppy", device)
    write(root, "boot/grub/grub.cfg", GRUB_CFG % {"uuid": ROOT_UUID, "release": release,
                                                  "cmdline": CMDLINE})


GRUB_CFG = """serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
insmod part_msdos
insmod ext2
search --no-floppy --fs-uuid --set=root %(uuid)s
menuentry "Debian 12" {
  linux /boot/vmlinuz-%(release)s %(cmdline)s
  initrd /boot/initrd.img-%(release)s
}
"""


def write(root, rel, text):
    with open(os.path.join(root, rel), "w") as f:
        f.write(text)


if __name__ == "__main__":
    print(get_image())
