/* The QEMU module: command lines, sizes, and the QMP client against a
 * scripted peer on a socketpair. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "qemu/cmdline.h"
#include "qemu/qmp.h"
#include "qemu/run.h"
#include "qemu/size.h"
#include "util/json.h"

/* The argv joined with spaces, for readable comparisons. */
static char *joined(char **argv)
{
    static char buf[4096];
    buf[0] = '\0';
    for (size_t i = 0; argv[i] != NULL; i++) {
        if (i > 0)
            strcat(buf, " ");
        strcat(buf, argv[i]);
    }
    return buf;
}

static bool has_pair(char **argv, const char *opt, const char *value)
{
    for (size_t i = 0; argv[i] != NULL && argv[i + 1] != NULL; i++)
        if (strcmp(argv[i], opt) == 0 && strcmp(argv[i + 1], value) == 0)
            return true;
    return false;
}

static void q35_tcg_full_config(void **state)
{
    (void)state;
    struct qemu_vm_config c = {
        .name = "web",
        .binary = "qemu-system-x86_64",
        .cpus = 2,
        .memory_mib = 512,
        .drives = {{"/v/disk,1.qcow2", "qcow2", false}, {"/v/seed.img", "raw", true}},
        .n_drives = 2,
        .cdrom = "/v/install.iso",
        .kernel = "/boot/vmlinuz",
        .initrd = "/boot/initrd",
        .append = "console=ttyS0 quiet",
        .net = QEMU_NET_USER,
        .mac = "52:54:00:12:34:56",
        .serial = QEMU_SERIAL_FILE,
        .serial_path = "/run/web/serial.log",
        .qmp_socket = "/run/web/qmp.sock",
        .pidfile = "/run/web/pid",
        .daemonize = true,
        .no_shutdown = true,
    };
    v12n_error err = {0};
    char **argv = NULL;
    assert_int_equal(qemu_build_argv(&c, &argv, &err), 0);
    assert_string_equal(argv[0], "qemu-system-x86_64");
    assert_true(has_pair(argv, "-name", "web"));
    assert_true(has_pair(argv, "-machine", "q35"));
    assert_true(has_pair(argv, "-accel", "tcg"));
    assert_true(has_pair(argv, "-cpu", "max"));
    assert_true(has_pair(argv, "-smp", "2"));
    assert_true(has_pair(argv, "-m", "512M"));
    /* the comma in the path is doubled, so QEMU does not split there */
    assert_true(has_pair(argv, "-drive", "file=/v/disk,,1.qcow2,format=qcow2,if=virtio,id=drive0"));
    assert_true(
        has_pair(argv, "-drive", "file=/v/seed.img,format=raw,if=virtio,id=drive1,readonly=on"));
    assert_true(has_pair(argv, "-drive", "file=/v/install.iso,media=cdrom,readonly=on"));
    assert_true(has_pair(argv, "-kernel", "/boot/vmlinuz"));
    assert_true(has_pair(argv, "-initrd", "/boot/initrd"));
    assert_true(has_pair(argv, "-append", "console=ttyS0 quiet"));
    assert_true(has_pair(argv, "-netdev", "user,id=net0"));
    assert_true(has_pair(argv, "-device", "virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56"));
    assert_true(has_pair(argv, "-chardev", "file,id=serial0,path=/run/web/serial.log"));
    assert_true(has_pair(argv, "-serial", "chardev:serial0"));
    assert_true(has_pair(argv, "-display", "none"));
    assert_true(has_pair(argv, "-qmp", "unix:/run/web/qmp.sock,server=on,wait=off"));
    assert_true(has_pair(argv, "-pidfile", "/run/web/pid"));
    const char *s = joined(argv);
    assert_non_null(strstr(s, " -nodefaults "));
    assert_non_null(strstr(s, " -daemonize"));
    assert_non_null(strstr(s, " -no-shutdown"));
    v12n_strv_free(argv);
}

static void microvm_kvm_uses_mmio_devices(void **state)
{
    (void)state;
    struct qemu_vm_config c = {
        .name = "tiny",
        .binary = "/opt/qemu",
        .machine = QEMU_MACHINE_MICROVM,
        .accel = QEMU_ACCEL_KVM,
        .cpus = 1,
        .memory_mib = 128,
        .drives = {{"/d.raw", "raw", false}},
        .n_drives = 1,
        .kernel = "/k",
        .net = QEMU_NET_TAP,
        .tap = "tap0",
        .serial = QEMU_SERIAL_SOCKET,
        .serial_path = "/s.sock",
        .display = QEMU_DISPLAY_VNC,
        .vnc_display = 3,
    };
    v12n_error err = {0};
    char **argv = NULL;
    assert_int_equal(qemu_build_argv(&c, &argv, &err), 0);
    assert_string_equal(argv[0], "/opt/qemu");
    assert_true(has_pair(argv, "-machine", "microvm"));
    assert_true(has_pair(argv, "-accel", "kvm"));
    assert_true(has_pair(argv, "-cpu", "host"));
    assert_true(has_pair(argv, "-drive", "file=/d.raw,format=raw,if=none,id=drive0"));
    assert_true(has_pair(argv, "-device", "virtio-blk-device,drive=drive0"));
    assert_true(has_pair(argv, "-netdev", "tap,id=net0,ifname=tap0,script=no,downscript=no"));
    assert_true(has_pair(argv, "-device", "virtio-net-device,netdev=net0"));
    assert_true(has_pair(argv, "-chardev", "socket,id=serial0,path=/s.sock,server=on,wait=off"));
    assert_true(has_pair(argv, "-vnc", "127.0.0.1:3"));
    assert_null(strstr(joined(argv), "-display none"));
    assert_null(strstr(joined(argv), "-qmp"));
    v12n_strv_free(argv);
}

static void expect_refused(struct qemu_vm_config c, const char *words)
{
    v12n_error err = {0};
    char **argv = NULL;
    assert_int_equal(qemu_build_argv(&c, &argv, &err), -1);
    assert_null(argv);
    if (strstr(err.msg, words) == NULL)
        fail_msg("\"%s\" lacks \"%s\"", err.msg, words);
    assert_non_null(strstr(err.msg, "vm bad"));
}

static void invalid_configs_are_refused_by_name(void **state)
{
    (void)state;
    struct qemu_vm_config ok = {.name = "bad", .cpus = 1, .memory_mib = 64};
    struct qemu_vm_config c = ok;
    c.memory_mib = 0;
    expect_refused(c, "memory");
    c = ok;
    c.cpus = 0;
    expect_refused(c, "cpus");
    c = ok;
    c.machine = QEMU_MACHINE_MICROVM;
    expect_refused(c, "needs a kernel");
    c = ok;
    c.net = QEMU_NET_TAP;
    expect_refused(c, "no interface name");
    c = ok;
    c.n_drives = 1;
    c.drives[0] = (struct qemu_drive){"/x", "vmdk", false};
    expect_refused(c, "drive /x: format");
    c = ok;
    c.n_drives = QEMU_MAX_DRIVES + 1;
    expect_refused(c, "at most");
    c = ok;
    c.serial = QEMU_SERIAL_FILE;
    expect_refused(c, "serial");
    c = ok;
    c.daemonize = true;
    expect_refused(c, "pidfile");
    c = ok;
    c.initrd = "/i";
    expect_refused(c, "need a kernel");
    c = ok;
    c.net = QEMU_NET_USER;
    c.mac = "52:54,x";
    expect_refused(c, "mac");
}

static void sizes_in_binary_units(void **state)
{
    (void)state;
    v12n_error err = {0};
    uint64_t b = 0;
    assert_int_equal(qemu_parse_size("4096", &b, "disk", &err), 0);
    assert_int_equal(b, 4096);
    assert_int_equal(qemu_parse_size("512M", &b, "disk", &err), 0);
    assert_int_equal(b, 512ull << 20);
    assert_int_equal(qemu_parse_size("10G", &b, "disk", &err), 0);
    assert_int_equal(b, 10ull << 30);
    assert_int_equal(qemu_parse_size("2GiB", &b, "disk", &err), 0);
    assert_int_equal(b, 2ull << 30);
    assert_int_equal(qemu_parse_size("1k", &b, "disk", &err), 0);
    assert_int_equal(b, 1024);
    assert_int_equal(qemu_parse_size("3TB", &b, "disk", &err), 0);
    assert_int_equal(b, 3ull << 40);
    const char *bad[] = {
        "", "-1", "1.5G", "G", "10X", "10GG", "10 G", "99999999999999999999", "16777216T"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(qemu_parse_size(bad[i], &b, "disk", &err), -1);
        assert_non_null(strstr(err.msg, "disk: "));
    }
    assert_int_equal(qemu_parse_size(NULL, &b, "memory", &err), -1);
}

static void escape_and_version(void **state)
{
    (void)state;
    char *e = qemu_escape_opt("a,b,,c");
    assert_string_equal(e, "a,,b,,,,c");
    free(e);
    char v[16];
    assert_int_equal(qemu_parse_version("QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7)\n"
                                        "Copyright (c) 2003-2022",
                                        v, sizeof v),
                     0);
    assert_string_equal(v, "7.2.19");
    assert_int_equal(qemu_parse_version("qemu-img version 8.0.0\n", v, sizeof v), 0);
    assert_string_equal(v, "8.0.0");
    assert_int_equal(qemu_parse_version("nothing here", v, sizeof v), -1);
    assert_string_equal(qemu_debian_package("qemu-img"), "qemu-utils");
    assert_string_equal(qemu_debian_package("qemu-system-x86_64"), "qemu-system-x86");
}

/* ---- QMP against a scripted peer ---- */

static const char greeting[] =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 19, \"minor\": 2, \"major\": 7}, "
    "\"package\": \"\"}, \"capabilities\": [\"oob\"]}}\n";

static int peer_with(const char *script, struct qmp_client **c, v12n_error *err)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(write(sv[1], script, strlen(script)), (ssize_t)strlen(script));
    int r = qmp_attach(sv[0], 5000, c, err);
    return r < 0 ? -1 : sv[1];
}

/* The lines the client sent, as one string. */
static char *sent(int peer)
{
    static char buf[4096];
    ssize_t n = recv(peer, buf, sizeof buf - 1, MSG_DONTWAIT);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void qmp_session(void **state)
{
    (void)state;
    char script[2048];
    snprintf(script, sizeof script, "%s%s", greeting,
             "{\"return\": {}, \"id\": \"v12n-1\"}\n"
             "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\n"
             "{\"return\": {}, \"id\": \"stale\"}\n"
             "{\"return\": {\"status\": \"paused\", \"running\": false}, \"id\": \"v12n-2\"}\n"
             "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command nope has "
             "not been found\"}, \"id\": \"v12n-3\"}\n"
             "{\"event\": \"POWERDOWN\"}\n"
             "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true}}\n");
    v12n_error err = {0};
    struct qmp_client *c = NULL;
    int peer = peer_with(script, &c, &err);
    assert_true(peer >= 0);
    assert_string_equal(qmp_qemu_version(c), "7.2.19");
    assert_non_null(strstr(sent(peer), "{\"execute\":\"qmp_capabilities\",\"id\":\"v12n-1\"}\n"));

    json_t *ret = NULL;
    assert_int_equal(qmp_execute(c, "query-status", NULL, &ret, 5000, &err), 0);
    assert_string_equal(json_string_value(json_object_get(ret, "status")), "paused");
    json_decref(ret);
    assert_non_null(strstr(sent(peer), "\"execute\":\"query-status\""));

    assert_int_equal(qmp_execute(c, "nope", json_pack("{s:i}", "x", 1), NULL, 5000, &err), -1);
    assert_string_equal(err.msg, "qmp nope: CommandNotFound: The command nope has not been found");
    assert_non_null(strstr(sent(peer), "\"arguments\":{\"x\":1}"));

    /* the STOP that arrived between answers was queued; SHUTDOWN is found
     * past POWERDOWN, which stays queued */
    json_t *ev = NULL;
    assert_int_equal(qmp_wait_event(c, "SHUTDOWN", &ev, 5000, &err), 0);
    assert_true(json_is_true(json_object_get(json_object_get(ev, "data"), "guest")));
    json_decref(ev);
    ev = qmp_next_event(c);
    assert_string_equal(json_string_value(json_object_get(ev, "event")), "STOP");
    json_decref(ev);
    ev = qmp_next_event(c);
    assert_string_equal(json_string_value(json_object_get(ev, "event")), "POWERDOWN");
    json_decref(ev);
    assert_null(qmp_next_event(c));

    /* silence is a timeout, a closed peer a clear error */
    assert_int_equal(qmp_execute(c, "query-status", NULL, NULL, 50, &err), -1);
    assert_int_equal(err.errnum, ETIMEDOUT);
    close(peer);
    assert_int_equal(qmp_wait_event(c, "RESET", NULL, 5000, &err), -1);
    assert_int_equal(err.errnum, ECONNRESET);
    assert_non_null(strstr(err.msg, "wait for event RESET"));
    assert_int_equal(qmp_execute(c, "quit", NULL, NULL, 5000, &err), -1);
    qmp_close(c);
}

static void qmp_refuses_garbage(void **state)
{
    (void)state;
    v12n_error err = {0};
    struct qmp_client *c = NULL;
    assert_int_equal(peer_with("not json\n", &c, &err), -1);
    assert_int_equal(err.errnum, EPROTO);
    assert_int_equal(peer_with("{\"hello\": 1}\n", &c, &err), -1);
    assert_non_null(strstr(err.msg, "no QMP greeting"));
    assert_int_equal(qmp_connect("/nonexistent/qmp.sock", 0, &c, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/qmp.sock"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(q35_tcg_full_config),
        cmocka_unit_test(microvm_kvm_uses_mmio_devices),
        cmocka_unit_test(invalid_configs_are_refused_by_name),
        cmocka_unit_test(sizes_in_binary_units),
        cmocka_unit_test(escape_and_version),
        cmocka_unit_test(qmp_session),
        cmocka_unit_test(qmp_refuses_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
