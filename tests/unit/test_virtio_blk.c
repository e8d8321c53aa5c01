/* virtio-blk against a real image file, driven as a guest driver would. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <cmocka.h>

#include "virtio_driver.h"
#include "vmm/virtio/devices.h"

#define SECTORS    64
#define HDR_GPA    0x70000ull
#define STATUS_GPA 0x7f000ull

#define T_IN      0
#define T_OUT     1
#define T_FLUSH   4
#define T_GET_ID  8
#define T_DISCARD 11

#define S_OK     0
#define S_IOERR  1
#define S_UNSUPP 2

struct blk_test {
    struct fake_vm vm;
    char path[64];
    int fd;
};

static uint8_t pattern(uint64_t off)
{
    return (uint8_t)(off * 7 + 3);
}

static int make_disk(struct blk_test *t, bool read_only)
{
    snprintf(t->path, sizeof(t->path), "/tmp/v12n-blk-XXXXXX");
    t->fd = mkstemp(t->path);
    assert_true(t->fd >= 0);
    uint8_t buf[SECTORS * 512];
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = pattern(i);
    assert_int_equal(pwrite(t->fd, buf, sizeof(buf), 0), sizeof(buf));
    fake_vm_init(&t->vm);
    v12n_error err = {0};
    struct virtio_blk_opts opts = {.path = t->path, .read_only = read_only, .serial = "serial-1"};
    struct virtio_dev *dev = virtio_blk_create(&opts, &t->vm.svc, &err);
    assert_non_null(dev);
    assert_int_equal(fake_vm_attach(&t->vm, dev), 0);
    assert_true(fake_driver_start(&t->vm, ~0ull) & VIRTIO_STATUS_DRIVER_OK);
    return 0;
}

static int setup_rw(void **state)
{
    struct blk_test *t = calloc(1, sizeof(*t));
    *state = t;
    return make_disk(t, false);
}

static int setup_ro(void **state)
{
    struct blk_test *t = calloc(1, sizeof(*t));
    *state = t;
    return make_disk(t, true);
}

static int teardown(void **state)
{
    struct blk_test *t = *state;
    fake_vm_destroy(&t->vm);
    close(t->fd);
    unlink(t->path);
    free(t);
    return 0;
}

/* Post header + data (+ status byte) and kick; returns the used length and
 * the status byte in *status. */
static uint32_t request(struct blk_test *t, uint32_t type, uint64_t sector, uint64_t data_gpa,
                        uint32_t data_len, bool device_writes, uint8_t *status)
{
    struct fake_vm *vm = &t->vm;
    uint32_t hdr[4] = {type, 0, (uint32_t)sector, (uint32_t)(sector >> 32)};
    memcpy(vm->ram + HDR_GPA, hdr, sizeof(hdr));
    vm->ram[STATUS_GPA] = 0xee;
    struct fake_buf b[3] = {
        {HDR_GPA, 16, false}, {data_gpa, data_len, device_writes}, {STATUS_GPA, 1, true}};
    unsigned n = 0;
    struct fake_buf chain[3];
    chain[n++] = b[0];
    if (data_len)
        chain[n++] = b[1];
    chain[n++] = b[2];
    uint16_t before = fake_used_idx(vm, 0);
    fake_post(vm, 0, chain, n);
    fake_kick(vm, 0);
    assert_int_equal(fake_used_idx(vm, 0), (uint16_t)(before + 1));
    *status = vm->ram[STATUS_GPA];
    return fake_used_elem(vm, 0, before).len;
}

static void test_config_and_features(void **state)
{
    struct blk_test *t = *state;
    uint64_t capacity;
    for (unsigned i = 0; i < 8; i++)
        vmm_bus_dispatch(&t->vm.bus, FAKE_MMIO + VIRTIO_MMIO_CONFIG + i, (uint8_t *)&capacity + i,
                         1, false);
    assert_int_equal(capacity, SECTORS);
    mmio_w32(&t->vm, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint32_t f = mmio_r32(&t->vm, VIRTIO_MMIO_DEVICE_FEATURES);
    assert_true(f & (1u << 9));  /* FLUSH */
    assert_true(f & (1u << 13)); /* DISCARD */
    assert_false(f & (1u << 5)); /* RO */
}

static void test_read(void **state)
{
    struct blk_test *t = *state;
    uint8_t status;
    assert_int_equal(request(t, T_IN, 2, FAKE_DATA, 1024, true, &status), 1025);
    assert_int_equal(status, S_OK);
    for (unsigned i = 0; i < 1024; i++)
        assert_int_equal(t->vm.ram[FAKE_DATA + i], pattern(1024 + i));
}

static void test_write(void **state)
{
    struct blk_test *t = *state;
    memset(t->vm.ram + FAKE_DATA, 0x5a, 512);
    uint8_t status;
    assert_int_equal(request(t, T_OUT, 5, FAKE_DATA, 512, false, &status), 1);
    assert_int_equal(status, S_OK);
    uint8_t back[512];
    assert_int_equal(pread(t->fd, back, 512, 5 * 512), 512);
    assert_memory_equal(back, t->vm.ram + FAKE_DATA, 512);
}

static void test_header_split_across_descriptors(void **state)
{
    struct blk_test *t = *state;
    struct fake_vm *vm = &t->vm;
    uint32_t hdr[4] = {T_IN, 0, 1, 0};
    memcpy(vm->ram + HDR_GPA, hdr, 16);
    struct fake_buf b[4] = {{HDR_GPA, 8, false},
                            {HDR_GPA + 8, 8, false},
                            {FAKE_DATA, 512, true},
                            {STATUS_GPA, 1, true}};
    fake_post(vm, 0, b, 4);
    fake_kick(vm, 0);
    assert_int_equal(vm->ram[STATUS_GPA], S_OK);
    assert_int_equal(vm->ram[FAKE_DATA], pattern(512));
}

static void test_sector_beyond_disk(void **state)
{
    struct blk_test *t = *state;
    memset(t->vm.ram + FAKE_DATA, 0, 1024);
    uint8_t status;
    assert_int_equal(request(t, T_IN, SECTORS - 1, FAKE_DATA, 1024, true, &status), 1);
    assert_int_equal(status, S_IOERR);
    assert_int_equal(request(t, T_IN, UINT64_MAX, FAKE_DATA, 512, true, &status), 1);
    assert_int_equal(status, S_IOERR);
    assert_int_equal(request(t, T_OUT, SECTORS, FAKE_DATA, 512, false, &status), 1);
    assert_int_equal(status, S_IOERR);
    assert_int_equal(t->vm.ram[FAKE_DATA], 0);
    /* The device keeps working: request errors are not ring errors. */
    assert_int_equal(request(t, T_IN, SECTORS - 1, FAKE_DATA, 512, true, &status), 513);
    assert_int_equal(status, S_OK);
}

static void test_partial_sector(void **state)
{
    struct blk_test *t = *state;
    uint8_t status;
    request(t, T_IN, 0, FAKE_DATA, 100, true, &status);
    assert_int_equal(status, S_IOERR);
}

static void test_flush(void **state)
{
    struct blk_test *t = *state;
    uint8_t status;
    assert_int_equal(request(t, T_FLUSH, 0, 0, 0, false, &status), 1);
    assert_int_equal(status, S_OK);
}

static void test_get_id(void **state)
{
    struct blk_test *t = *state;
    uint8_t status;
    memset(t->vm.ram + FAKE_DATA, 0xff, 20);
    assert_int_equal(request(t, T_GET_ID, 0, FAKE_DATA, 20, true, &status), 21);
    assert_int_equal(status, S_OK);
    assert_string_equal((char *)t->vm.ram + FAKE_DATA, "serial-1");
}

static void test_discard(void **state)
{
    struct blk_test *t = *state;
    struct {
        uint64_t sector;
        uint32_t num, flags;
    } seg = {8, 8, 0};
    memcpy(t->vm.ram + FAKE_DATA, &seg, sizeof(seg));
    uint8_t status;
    assert_int_equal(request(t, T_DISCARD, 0, FAKE_DATA, sizeof(seg), false, &status), 1);
    assert_int_equal(status, S_OK);
    uint8_t back[8 * 512], zero[8 * 512] = {0};
    assert_int_equal(pread(t->fd, back, sizeof(back), 8 * 512), sizeof(back));
    assert_memory_equal(back, zero, sizeof(back));
    assert_int_not_equal(lseek(t->fd, 0, SEEK_END), 0); /* the size is kept */
    /* A segment past the end is refused. */
    seg.sector = SECTORS - 4;
    memcpy(t->vm.ram + FAKE_DATA, &seg, sizeof(seg));
    request(t, T_DISCARD, 0, FAKE_DATA, sizeof(seg), false, &status);
    assert_int_equal(status, S_IOERR);
}

static void test_unknown_type(void **state)
{
    struct blk_test *t = *state;
    uint8_t status;
    request(t, 99, 0, 0, 0, false, &status);
    assert_int_equal(status, S_UNSUPP);
}

static void test_short_header(void **state)
{
    struct blk_test *t = *state;
    struct fake_vm *vm = &t->vm;
    struct fake_buf b[2] = {{HDR_GPA, 8, false}, {STATUS_GPA, 1, true}};
    fake_post(vm, 0, b, 2);
    fake_kick(vm, 0);
    assert_int_equal(vm->ram[STATUS_GPA], S_IOERR);
}

static void test_no_status_byte(void **state)
{
    struct blk_test *t = *state;
    struct fake_vm *vm = &t->vm;
    struct fake_buf b = {HDR_GPA, 16, false};
    fake_post(vm, 0, &b, 1);
    fake_kick(vm, 0);
    assert_int_equal(fake_used_idx(vm, 0), 1);
    assert_int_equal(fake_used_elem(vm, 0, 0).len, 0);
    assert_false(mmio_r32(vm, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_read_only(void **state)
{
    struct blk_test *t = *state;
    mmio_w32(&t->vm, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    assert_true(mmio_r32(&t->vm, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << 5));
    memset(t->vm.ram + FAKE_DATA, 0x5a, 512);
    uint8_t status;
    request(t, T_OUT, 0, FAKE_DATA, 512, false, &status);
    assert_int_equal(status, S_IOERR);
    uint8_t back[512];
    assert_int_equal(pread(t->fd, back, 512, 0), 512);
    assert_int_equal(back[0], pattern(0));
    assert_int_equal(back[511], pattern(511));
    /* Reads still work. */
    assert_int_equal(request(t, T_IN, 0, FAKE_DATA, 512, true, &status), 513);
    assert_int_equal(status, S_OK);
}

static void test_missing_file(void **state)
{
    (void)state;
    struct fake_vm vm;
    fake_vm_init(&vm);
    v12n_error err = {0};
    struct virtio_blk_opts opts = {.path = "/nonexistent/disk.img"};
    assert_null(virtio_blk_create(&opts, &vm.svc, &err));
    assert_int_equal(err.errnum, ENOENT);
    assert_non_null(strstr(err.msg, "disk /nonexistent/disk.img"));
    fake_vm_destroy(&vm);
}

#define RW(name) cmocka_unit_test_setup_teardown(name, setup_rw, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        RW(test_config_and_features),
        RW(test_read),
        RW(test_write),
        RW(test_header_split_across_descriptors),
        RW(test_sector_beyond_disk),
        RW(test_partial_sector),
        RW(test_flush),
        RW(test_get_id),
        RW(test_discard),
        RW(test_unknown_type),
        RW(test_short_header),
        RW(test_no_status_byte),
        cmocka_unit_test_setup_teardown(test_read_only, setup_ro, teardown),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
