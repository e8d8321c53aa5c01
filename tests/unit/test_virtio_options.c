/* The devices' command-line options. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/virtio/devices.h"

static void test_disk_path_only(void **state)
{
    (void)state;
    char spec[] = "/var/lib/disk.img";
    struct virtio_blk_opts o;
    v12n_error err = {0};
    assert_int_equal(virtio_blk_parse(spec, &o, &err), 0);
    assert_string_equal(o.path, "/var/lib/disk.img");
    assert_false(o.read_only);
    assert_null(o.serial);
}

static void test_disk_options(void **state)
{
    (void)state;
    char spec[] = "disk.img,ro,serial=root-disk";
    struct virtio_blk_opts o;
    v12n_error err = {0};
    assert_int_equal(virtio_blk_parse(spec, &o, &err), 0);
    assert_string_equal(o.path, "disk.img");
    assert_true(o.read_only);
    assert_string_equal(o.serial, "root-disk");
}

static void test_disk_bad(void **state)
{
    (void)state;
    const char *bad[] = {"", ",ro", "disk.img,rw0",
                         "disk.img,serial=", "d,serial=123456789012345678901"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char spec[64];
        strcpy(spec, bad[i]);
        struct virtio_blk_opts o;
        v12n_error err = {0};
        assert_int_equal(virtio_blk_parse(spec, &o, &err), -1);
        assert_int_equal(err.errnum, EINVAL);
        assert_non_null(strstr(err.msg, "disk"));
    }
}

static void test_net(void **state)
{
    (void)state;
    char spec[] = "tap=tap0,mac=02:00:5e:00:53:01";
    struct virtio_net_opts o;
    v12n_error err = {0};
    assert_int_equal(virtio_net_parse(spec, &o, &err), 0);
    assert_string_equal(o.tap, "tap0");
    assert_true(o.mac_set);
    uint8_t want[6] = {0x02, 0x00, 0x5e, 0x00, 0x53, 0x01};
    assert_memory_equal(o.mac, want, 6);
    assert_int_equal(o.tap_fd, -1);
}

static void test_net_bad(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "mac=02:00:00:00:00:01",
                         "tap=",
                         "tap=t,mac=01:00:00:00:00:01",
                         "tap=t,mac=02:00:00:00:00",
                         "tap=t,mac=02:00:00:00:00:01:02",
                         "tap=t,mac=zz:00:00:00:00:01",
                         "tap=t,speed=10"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char spec[64];
        strcpy(spec, bad[i]);
        struct virtio_net_opts o;
        v12n_error err = {0};
        assert_int_equal(virtio_net_parse(spec, &o, &err), -1);
        assert_int_equal(err.errnum, EINVAL);
        assert_non_null(strstr(err.msg, "net"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disk_path_only), cmocka_unit_test(test_disk_options),
        cmocka_unit_test(test_disk_bad),       cmocka_unit_test(test_net),
        cmocka_unit_test(test_net_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
