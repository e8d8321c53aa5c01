"""`v12n list`: containers and VMs in one table, like `virsh list --all`."""

import json

from vm_fixtures import boot_files, qemu_img, qemu_system, store  # noqa: F401


def test_list_shows_containers_and_vms(store, boot_files):
    vm = store.create_kernel_vm(boot_files)
    p = store.run("image", "builtin", "busybox")
    if p.returncode != 0:
        import pytest
        pytest.skip("no builtin busybox image: %s" % p.stderr)
    running, exited = store.name(), store.name()
    try:
        store.ok("run", "-d", "--name", running, "busybox", "sleep", "600")
        store.ok("run", "--name", exited, "busybox", "true")
        rows = {r["name"]: r for r in json.loads(store.ok("list", "--all", "--format",
                                                          "json").stdout)}
        assert rows[vm]["kind"] == "vm" and rows[vm]["state"] == "shut off"
        assert rows[vm]["image"].startswith("vmlinuz")
        assert rows[running]["kind"] == "container" and rows[running]["state"] == "running"
        assert rows[running]["image"] == "busybox" and "uptime_seconds" in rows[running]
        assert rows[exited]["state"] == "exited"
        live = {r["name"] for r in json.loads(store.ok("list", "--format", "json").stdout)}
        assert running in live and vm not in live and exited not in live
        table = store.ok("list", "--all").stdout.splitlines()
        assert table[0].split() == ["ID", "NAME", "KIND", "STATE", "IMAGE/OS", "UPTIME"]
        assert any(line.split()[1:4] == [vm, "vm", "shut"] for line in table[1:])
        vms_only = {r["name"] for r in json.loads(store.ok("vm", "list", "--all", "--format",
                                                           "json").stdout)}
        assert vms_only == {vm}
    finally:
        store.run("rm", "-f", running, exited)
