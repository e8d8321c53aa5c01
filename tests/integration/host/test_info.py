"""`v12n info` against what /proc, /sys and /dev say on this machine.

Every expectation is computed here from the kernel's own files, never
hard-coded, so the test is right on any host (here: PVM, hybrid cgroups)."""

import json
import os
import re
import shutil
import subprocess

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


@pytest.fixture(scope="session")
def v12n():
    path = os.environ.get("V12N") or os.path.join(REPO, "build", "src", "v12n")
    if not os.access(path, os.X_OK):
        alt = os.path.join(os.path.dirname(path), "src", os.path.basename(path))
        path = alt if os.access(alt, os.X_OK) else path
    if not os.access(path, os.X_OK):
        pytest.skip("no v12n binary at %s (build first)" % path)
    return path


def run(v12n, *args):
    return subprocess.run([v12n, *args], capture_output=True, text=True, timeout=60)


def info(v12n):
    p = run(v12n, "info", "--format", "json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def module_present(name):
    modules = read("/proc/modules") or ""
    return any(line.split(" ", 1)[0] == name for line in modules.splitlines()) or \
        os.path.isdir("/sys/module/" + name)


def first_cpu_flags():
    for line in read("/proc/cpuinfo").splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def test_cpu_flags_match_cpuinfo(v12n):
    cpu = info(v12n)["cpu"]
    flags = first_cpu_flags()
    assert cpu["vmx"] == ("vmx" in flags)
    assert cpu["svm"] == ("svm" in flags)
    assert cpu["hypervisor"]["present"] == ("hypervisor" in flags)
    assert cpu["cpus"] == os.cpu_count()
    if "hypervisor" in flags:
        assert cpu["hypervisor"]["signature"]


def test_kvm_kind_matches_the_loaded_module(v12n):
    kvm = info(v12n)["kvm"]
    if module_present("kvm_intel") or module_present("kvm_amd"):
        assert kvm["kind"] == "hardware"
        assert kvm["module"] in ("kvm_intel", "kvm_amd")
        nested = read("/sys/module/%s/parameters/nested" % kvm["module"])
        if nested is not None:
            assert kvm["nested"] == (nested.strip() in ("Y", "y", "1"))
    elif module_present("kvm_pvm"):
        assert kvm["kind"] == "pvm" and kvm["module"] == "kvm_pvm"
        assert kvm["nested"] is None
    elif not os.path.exists("/dev/kvm"):
        assert kvm["kind"] == "none"
    assert kvm["device"] == os.path.exists("/dev/kvm")
    if kvm["device"] and os.geteuid() == 0:
        # root can open it unless the kernel refuses
        assert kvm["usable"] == (kvm["api_version"] == 12)
    if not kvm["usable"]:
        assert kvm["reason"]


def test_features_match_proc(v12n):
    f = info(v12n)["features"]
    expected_ns = sorted(n for n in os.listdir("/proc/self/ns") if not n.endswith("_for_children"))
    assert f["namespaces"] == expected_ns
    types = {line.split(" - ", 1)[1].split()[0] for line in read("/proc/self/mountinfo").splitlines()}
    v1, v2 = "cgroup" in types, "cgroup2" in types
    assert f["cgroup"] == {(True, True): "hybrid", (True, False): "v1",
                           (False, True): "v2", (False, False): "none"}[(v1, v2)]
    fss = {line.split("\t")[-1] for line in read("/proc/filesystems").splitlines()}
    assert f["overlayfs"] == ("overlay" in fss)
    assert f["tun"] == os.path.exists("/dev/net/tun")
    assert f["seccomp"] == ("Seccomp:" in read("/proc/self/status"))
    maxns = read("/proc/sys/user/max_user_namespaces")
    if maxns is not None:
        assert f["user_namespaces"] == (int(maxns) > 0)


def test_qemu_and_summary(v12n):
    doc = info(v12n)
    q, kvm, s = doc["qemu"], doc["kvm"], doc["summary"]
    system = shutil.which("qemu-system-x86_64")
    assert q["present"] == (system is not None)
    if system:
        assert os.path.realpath(q["system"]) == os.path.realpath(system)
        out = subprocess.run([system, "--version"], capture_output=True, text=True).stdout
        assert q["version"] == re.search(r"version ([0-9.]+)", out).group(1)
        assert q["tcg"] is True
    hardware = kvm["kind"] == "hardware" and kvm["usable"]
    assert q["kvm"] == (hardware and system is not None)
    assert s["qemu"] == ("unavailable" if not system else "kvm" if q["kvm"] else "tcg")
    assert s["vmm"] == ("unavailable" if not kvm["usable"] else
                        "native" if kvm["kind"] == "hardware" else "emulated")
    assert s["containers"] is True


def test_human_output_has_sections_and_summary(v12n):
    p = run(v12n, "info")
    assert p.returncode == 0, p.stderr
    for section in ("CPU", "KVM", "Containers", "QEMU", "Summary"):
        assert re.search("^%s" % section, p.stdout, re.M), p.stdout
    doc = info(v12n)
    if doc["kvm"]["kind"] == "pvm":
        assert "instruction-emulated" in p.stdout
    if doc["features"]["cgroup"] == "hybrid":
        assert "hybrid" in p.stdout


def test_bad_format_is_a_usage_error(v12n):
    p = run(v12n, "info", "--format", "yaml")
    assert p.returncode == 1
    assert p.stderr.startswith("v12n: info:")
    assert run(v12n, "info", "extra").returncode == 1
