/* VM definitions: names, --disk values, and a definition that survives a
 * save and load unchanged; hostile vm.json files are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/vm.h"
#include "engine/vm_store.h"
#include "qemu/cmdline.h"
#include "util/fs.h"
#include "util/json.h"

static void test_names(void **state)
{
    (void)state;
    v12n_error err = {0};
    assert_int_equal(vm_name_check("web-1.test_a", &err), 0);
    const char *bad[] = {"", "-x", ".hidden", "a/b", "..", "a b", "a,b", "ä"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(vm_name_check(bad[i], &err), -1);
    char longname[VM_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(vm_name_check(longname, &err), -1);
    longname[VM_NAME_MAX] = '\0';
    assert_int_equal(vm_name_check(longname, &err), 0);
}

static void test_disk_requests(void **state)
{
    (void)state;
    v12n_error err = {0};
    struct vm_disk_request r;
    char a[] = "10G";
    assert_int_equal(vm_disk_request_parse(a, &r, &err), 0);
    assert_true(r.size == 10ull << 30 && r.path == NULL && r.base == NULL);
    char b[] = "/img/a,b.raw,raw";
    assert_int_equal(vm_disk_request_parse(b, &r, &err), 0);
    assert_string_equal(r.path, "/img/a,b.raw");
    assert_string_equal(r.format, "raw");
    char c[] = "/img/x.img";
    assert_int_equal(vm_disk_request_parse(c, &r, &err), 0);
    assert_null(r.format);
    char d[] = "base=/img/base.qcow2";
    assert_int_equal(vm_disk_request_parse(d, &r, &err), 0);
    assert_string_equal(r.base, "/img/base.qcow2");
    char e[] = "1.5G", f[] = "base=", g[] = "", h[] = "512K";
    assert_int_equal(vm_disk_request_parse(e, &r, &err), -1);
    assert_non_null(strstr(err.msg, "1.5G"));
    assert_int_equal(vm_disk_request_parse(f, &r, &err), -1);
    assert_int_equal(vm_disk_request_parse(g, &r, &err), -1);
    assert_int_equal(vm_disk_request_parse(h, &r, &err), -1); /* under 1M */
}

static void test_enums(void **state)
{
    (void)state;
    v12n_error err = {0};
    enum vm_net net;
    char *tap = NULL;
    assert_int_equal(vm_net_parse("tap=tap0", &net, &tap, &err), 0);
    assert_int_equal(net, VM_NET_TAP);
    assert_string_equal(tap, "tap0");
    free(tap);
    tap = NULL;
    assert_int_equal(vm_net_parse("tap=", &net, &tap, &err), -1);
    assert_int_equal(vm_net_parse("tap=waytoolonginterface", &net, &tap, &err), -1);
    assert_int_equal(vm_net_parse("bridge", &net, &tap, &err), -1);
    enum vm_boot boot;
    assert_int_equal(vm_boot_parse("cdrom", &boot, &err), 0);
    assert_int_equal(boot, VM_BOOT_CDROM);
    assert_int_equal(vm_boot_parse("floppy", &boot, &err), -1);
    enum vm_engine engine;
    assert_int_equal(vm_engine_parse("kvm", &engine, &err), 0);
    assert_int_equal(vm_engine_parse("xen", &engine, &err), -1);
}

static char *tmpdir(void)
{
    char *d = strdup("/tmp/v12n-test-vmstore-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void write_vm_json(const char *root, const char *name, const char *text)
{
    char path[512];
    v12n_error err = {0};
    snprintf(path, sizeof path, "%s/vms/%s", root, name);
    assert_int_equal(v12n_mkdir_p(path, 0700, &err), 0);
    strcat(path, "/vm.json");
    assert_int_equal(v12n_write_file(path, text, strlen(text), &err), 0);
}

static void test_save_load_roundtrip(void **state)
{
    (void)state;
    char *root = tmpdir();
    v12n_error err = {0};
    struct vm_def d = {.cpus = 2,
                       .memory_mib = 1024,
                       .n_disks = 1,
                       .boot = VM_BOOT_CDROM,
                       .net = VM_NET_TAP,
                       .display = VM_DISPLAY_VNC,
                       .engine = VM_ENGINE_QEMU};
    snprintf(d.name, sizeof d.name, "round");
    d.disks[0].path = strdup("/var/lib/v12n/vms/round/disk0.qcow2");
    d.disks[0].format = strdup("qcow2");
    d.disks[0].base = strdup("/img/base.qcow2");
    d.disks[0].owned = true;
    d.cdrom = strdup("/img/install.iso");
    d.tap = strdup("tap7");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/vms/round", root);
    assert_int_equal(v12n_mkdir_p(dir, 0700, &err), 0);
    assert_int_equal(vm_store_save(root, &d, &err), 0);
    struct vm_def l;
    assert_int_equal(vm_store_load(root, "round", &l, &err), 0);
    assert_string_equal(l.name, "round");
    assert_int_equal(l.cpus, 2);
    assert_int_equal(l.memory_mib, 1024);
    assert_int_equal(l.n_disks, 1);
    assert_string_equal(l.disks[0].base, "/img/base.qcow2");
    assert_true(l.disks[0].owned);
    assert_string_equal(l.cdrom, "/img/install.iso");
    assert_int_equal(l.boot, VM_BOOT_CDROM);
    assert_int_equal(l.net, VM_NET_TAP);
    assert_string_equal(l.tap, "tap7");
    assert_int_equal(l.display, VM_DISPLAY_VNC);
    assert_int_equal(l.engine, VM_ENGINE_QEMU);
    vm_def_free(&l);
    vm_def_free(&d);
    char **names = NULL;
    write_vm_json(root, ".tmp-half-XXXX", "{}"); /* a create in progress: not listed */
    assert_int_equal(vm_store_list(root, &names, &err), 0);
    assert_int_equal(v12n_strv_len(names), 1);
    assert_string_equal(names[0], "round");
    v12n_strv_free(names);
    assert_int_equal(v12n_rm_rf(root, &err), 0);
    free(root);
}

static void test_hostile_definitions(void **state)
{
    (void)state;
    char *root = tmpdir();
    v12n_error err = {0};
    struct vm_def l;
    const char *bad[] = {
        "[1]",
        "{\"name\": \"../x\"}",
        "{\"name\": \"a\", \"disks\": [{\"path\": \"rel.img\", \"format\": \"raw\"}]}",
        "{\"name\": \"a\", \"disks\": [{\"path\": \"/x\", \"format\": \"vmdk\"}]}",
        "{\"name\": \"a\", \"disks\": [1,2,3,4,5,6,7,8,9]}",
        "{\"name\": \"a\", \"boot\": \"floppy\"}",
        "{\"name\": \"a\", \"net\": \"tap\"}",
        "{\"name\": \"a\", \"cpus\": \"many\"}",
        "{\"name\": \"b\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_vm_json(root, "a", bad[i]);
        assert_int_equal(vm_store_load(root, "a", &l, &err), -1);
        assert_non_null(strstr(err.msg, "vm a"));
    }
    assert_int_equal(vm_store_load(root, "missing", &l, &err), -1);
    assert_string_equal(err.msg, "vm missing: no such VM");
    assert_int_equal(vm_store_load(root, "../etc", &l, &err), -1);
    assert_int_equal(v12n_rm_rf(root, &err), 0);
    free(root);
}

static void test_cmdline_serial_log_and_boot_order(void **state)
{
    (void)state;
    struct qemu_vm_config c = {.name = "v",
                               .binary = "/usr/bin/qemu-system-x86_64",
                               .cpus = 1,
                               .memory_mib = 64,
                               .serial = QEMU_SERIAL_SOCKET,
                               .serial_path = "/run/s,1.sock",
                               .serial_log = "/run/a,b.log",
                               .boot_order = "dc"};
    char **argv = NULL;
    v12n_error err = {0};
    assert_int_equal(qemu_build_argv(&c, &argv, &err), 0);
    bool chardev = false, boot = false;
    for (size_t i = 0; argv[i] != NULL && argv[i + 1] != NULL; i++) {
        chardev |= strcmp(argv[i + 1], "socket,id=serial0,path=/run/s,,1.sock,server=on,"
                                       "wait=off,logfile=/run/a,,b.log") == 0;
        boot |= strcmp(argv[i], "-boot") == 0 && strcmp(argv[i + 1], "order=dc") == 0;
    }
    assert_true(chardev);
    assert_true(boot);
    v12n_strv_free(argv);
    c.boot_order = "d,x";
    assert_int_equal(qemu_build_argv(&c, &argv, &err), -1);
}

static void test_log_tail(void **state)
{
    (void)state;
    /* a VM that never ran has no log: an empty tail, not an error */
    char *t = vm_log_tail("no-such-vm-for-unit-test", 5);
    assert_string_equal(t, "");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_disk_requests),
        cmocka_unit_test(test_enums),
        cmocka_unit_test(test_save_load_roundtrip),
        cmocka_unit_test(test_hostile_definitions),
        cmocka_unit_test(test_cmdline_serial_log_and_boot_order),
        cmocka_unit_test(test_log_tail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
