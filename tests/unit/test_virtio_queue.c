/* The virtqueue walker and the virtio-mmio transport, driven like a guest
 * driver would, with virtio-rng as the simplest device behind them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "virtio_driver.h"
#include "vmm/virtio/devices.h"

#define ALL_FEATURES (~0ull)
#define NO_EVENT_IDX (~(1ull << VIRTIO_F_RING_EVENT_IDX))

static int setup(void **state)
{
    struct fake_vm *vm = malloc(sizeof(*vm));
    fake_vm_init(vm);
    v12n_error err = {0};
    struct virtio_dev *dev = virtio_rng_create(&vm->svc, &err);
    assert_non_null(dev);
    assert_int_equal(fake_vm_attach(vm, dev), 0);
    *state = vm;
    return 0;
}

static int teardown(void **state)
{
    fake_vm_destroy(*state);
    free(*state);
    return 0;
}

static bool needs_reset(struct fake_vm *vm)
{
    return mmio_r32(vm, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET;
}

static void test_identity_registers(void **state)
{
    struct fake_vm *vm = *state;
    assert_int_equal(mmio_r32(vm, VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
    assert_int_equal(mmio_r32(vm, VIRTIO_MMIO_VERSION), 2);
    assert_int_equal(mmio_r32(vm, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
    assert_int_equal(mmio_r32(vm, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
    mmio_w32(vm, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    assert_true(mmio_r32(vm, VIRTIO_MMIO_DEVICE_FEATURES) & 1); /* VERSION_1 */
    mmio_w32(vm, VIRTIO_MMIO_QUEUE_SEL, 0);
    assert_int_equal(mmio_r32(vm, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
    mmio_w32(vm, VIRTIO_MMIO_QUEUE_SEL, 1); /* rng has one queue */
    assert_int_equal(mmio_r32(vm, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    /* Registers are 32-bit: a narrower read gets nothing. */
    uint16_t half = 0xffff;
    vmm_bus_dispatch(&vm->bus, FAKE_MMIO, (uint8_t *)&half, 2, false);
    assert_int_equal(half, 0);
}

static void test_cmdline_fragment(void **state)
{
    struct fake_vm *vm = *state;
    char buf[64];
    assert_int_equal(virtio_mmio_cmdline(&vm->mmio, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "virtio_mmio.device=4K@0xd0000000:5");
    assert_int_equal(virtio_mmio_cmdline(&vm->mmio, buf, 10), -1);
}

static void test_features_need_version_1(void **state)
{
    struct fake_vm *vm = *state;
    uint32_t status = fake_driver_start(vm, ~(1ull << VIRTIO_F_VERSION_1));
    assert_false(status & VIRTIO_STATUS_FEATURES_OK);
    status = fake_driver_start(vm, ALL_FEATURES);
    assert_true(status & VIRTIO_STATUS_FEATURES_OK);
    assert_true(status & VIRTIO_STATUS_DRIVER_OK);
}

static void test_rng_fills_and_interrupts(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ALL_FEATURES);
    struct fake_buf b = {.gpa = FAKE_DATA, .len = 64, .write = true};
    uint16_t head = fake_post(vm, 0, &b, 1);
    fake_kick(vm, 0);
    assert_int_equal(fake_used_idx(vm, 0), 1);
    assert_int_equal(fake_used_elem(vm, 0, 0).id, head);
    assert_int_equal(fake_used_elem(vm, 0, 0).len, 64);
    uint8_t zero[64] = {0};
    assert_memory_not_equal(vm->ram + FAKE_DATA, zero, 64);
    assert_int_equal(vm->irqs, 1);
    assert_int_equal(mmio_r32(vm, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_USED);
    mmio_w32(vm, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED);
    assert_int_equal(mmio_r32(vm, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    assert_false(needs_reset(vm));
}

/* A hostile ring: the device stops with NEEDS_RESET, raises a
 * configuration interrupt, and returns nothing. */
static void assert_broken(struct fake_vm *vm, unsigned q, const char *why)
{
    fake_kick(vm, q);
    assert_true(needs_reset(vm));
    assert_int_equal(fake_used_idx(vm, q), 0);
    assert_true(mmio_r32(vm, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
    assert_non_null(strstr(vm->dev->broken.msg, why));
    /* Further kicks are ignored, not processed. */
    fake_kick(vm, q);
    assert_int_equal(fake_used_idx(vm, q), 0);
}

static void test_descriptor_out_of_bounds(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ALL_FEATURES);
    struct fake_buf b = {.gpa = FAKE_RAM_SIZE - 8, .len = 64, .write = true};
    fake_post(vm, 0, &b, 1);
    assert_broken(vm, 0, "outside guest memory");
}

static void test_descriptor_address_wraps(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ALL_FEATURES);
    struct fake_buf b = {.gpa = UINT64_MAX - 4, .len = 64, .write = true};
    fake_post(vm, 0, &b, 1);
    assert_broken(vm, 0, "outside guest memory");
}

static void test_chain_loop(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ALL_FEATURES);
    *fake_desc(vm, 0, 0) =
        (struct virtq_desc){FAKE_DATA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1};
    *fake_desc(vm, 0, 1) =
        (struct virtq_desc){FAKE_DATA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0};
    fake_publish(vm, 0, 0);
    assert_broken(vm, 0, "loops");
}

static void test_next_beyond_table(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ALL_FEATURES);
    *fake_desc(vm, 0, 0) =
        (struct virtq_desc){FAKE_DATA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 200};
    fake_publish(vm, 0, 0);
    assert_broken(vm, 0, "beyond");
}

static void test_head_beyond_queue(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ALL_FEATURES);
    fake_publish(vm, 0, FAKE_QSIZE);
    assert_broken(vm, 0, "head descriptor");
}

static void test_avail_index_jump(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ALL_FEATURES);
    fake_avail(vm, 0)[1] = FAKE_QSIZE + 1;
    assert_broken(vm, 0, "ahead");
}

static void test_readable_after_writable(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ALL_FEATURES);
    struct fake_buf b[2] = {{FAKE_DATA, 8, true}, {FAKE_DATA + 8, 8, false}};
    fake_post(vm, 0, b, 2);
    assert_broken(vm, 0, "readable buffer after");
}

/* Write an indirect table at gpa with n writable 8-byte entries, chained. */
static void write_indirect(struct fake_vm *vm, uint64_t gpa, unsigned n)
{
    struct virtq_desc *t = (struct virtq_desc *)(vm->ram + gpa);
    for (unsigned i = 0; i < n; i++)
        t[i] = (struct virtq_desc){
            FAKE_DATA + 8 * i, 8,
            (uint16_t)(VIRTQ_DESC_F_WRITE | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
            (uint16_t)(i + 1)};
}

static void post_indirect(struct fake_vm *vm, uint64_t table, unsigned n)
{
    *fake_desc(vm, 0, 0) = (struct virtq_desc){table, (uint32_t)(16 * n), VIRTQ_DESC_F_INDIRECT, 0};
    fake_publish(vm, 0, 0);
}

static void test_indirect_chain(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ALL_FEATURES);
    write_indirect(vm, 0x60000, 3);
    post_indirect(vm, 0x60000, 3);
    fake_kick(vm, 0);
    assert_false(needs_reset(vm));
    assert_int_equal(fake_used_idx(vm, 0), 1);
    assert_int_equal(fake_used_elem(vm, 0, 0).len, 24);
}

static void test_indirect_without_feature(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ~(1ull << VIRTIO_F_RING_INDIRECT_DESC));
    write_indirect(vm, 0x60000, 3);
    post_indirect(vm, 0x60000, 3);
    assert_broken(vm, 0, "without the negotiated feature");
}

static void test_indirect_inside_indirect(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ALL_FEATURES);
    write_indirect(vm, 0x60000, 2);
    struct virtq_desc *t = (struct virtq_desc *)(vm->ram + 0x60000);
    t[1] = (struct virtq_desc){0x61000, 32, VIRTQ_DESC_F_INDIRECT, 0};
    write_indirect(vm, 0x61000, 2);
    post_indirect(vm, 0x60000, 2);
    assert_broken(vm, 0, "inside an indirect table");
}

static void test_indirect_loop(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ALL_FEATURES);
    write_indirect(vm, 0x60000, 4);
    ((struct virtq_desc *)(vm->ram + 0x60000))[3].flags |= VIRTQ_DESC_F_NEXT;
    ((struct virtq_desc *)(vm->ram + 0x60000))[3].next = 0;
    post_indirect(vm, 0x60000, 4);
    assert_broken(vm, 0, "loops");
}

static void test_indirect_table_too_long(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ALL_FEATURES);
    post_indirect(vm, 0x40000, VIRTQ_MAX_SEGS + 1);
    assert_broken(vm, 0, "indirect table of");
}

static void test_chain_too_many_bytes(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ALL_FEATURES);
    /* 130 entries of 512 KiB each: every one valid, the sum over 64 MiB. */
    struct virtq_desc *t = (struct virtq_desc *)(vm->ram + 0x60000);
    for (unsigned i = 0; i < 130; i++)
        t[i] = (struct virtq_desc){0, 512u << 10, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
                                   (uint16_t)(i + 1)};
    t[129].flags = VIRTQ_DESC_F_WRITE;
    post_indirect(vm, 0x60000, 130);
    assert_broken(vm, 0, "chain larger than");
}

static void test_zero_length_buffer_skipped(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ALL_FEATURES);
    struct fake_buf b[2] = {{FAKE_DATA, 0, true}, {FAKE_DATA, 8, true}};
    fake_post(vm, 0, b, 2);
    fake_kick(vm, 0);
    assert_false(needs_reset(vm));
    assert_int_equal(fake_used_elem(vm, 0, 0).len, 8);
}

static void test_misaligned_rings(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, 0); /* features not OK: set them up by hand below */
    mmio_w32(vm, VIRTIO_MMIO_STATUS, 0);
    mmio_w32(vm, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    mmio_w32(vm, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    mmio_w32(vm, VIRTIO_MMIO_DRIVER_FEATURES, 1);
    mmio_w32(vm, VIRTIO_MMIO_STATUS,
             VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    fake_setup_queue(vm, 0, ring_desc(0) + 8, ring_avail(0), ring_used(0));
    assert_true(needs_reset(vm));
    assert_int_equal(mmio_r32(vm, VIRTIO_MMIO_QUEUE_READY), 0);
    assert_non_null(strstr(vm->dev->broken.msg, "misaligned"));
}

static void test_rings_outside_memory(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ALL_FEATURES);
    mmio_w32(vm, VIRTIO_MMIO_STATUS, 0);
    mmio_w32(vm, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    fake_setup_queue(vm, 0, ring_desc(0), ring_avail(0), FAKE_RAM_SIZE - 16);
    assert_true(needs_reset(vm));
}

static void test_reset_recovers(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ALL_FEATURES);
    fake_publish(vm, 0, 999);
    fake_kick(vm, 0);
    assert_true(needs_reset(vm));
    /* The driver resets and starts again: the device works. */
    assert_true(fake_driver_start(vm, ALL_FEATURES) & VIRTIO_STATUS_DRIVER_OK);
    assert_false(needs_reset(vm));
    memset(vm->ram + ring_desc(0), 0, 0x3000);
    struct fake_buf b = {FAKE_DATA, 16, true};
    fake_post(vm, 0, &b, 1);
    fake_kick(vm, 0);
    assert_int_equal(fake_used_idx(vm, 0), 1);
}

static void test_no_interrupt_flag(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, NO_EVENT_IDX);
    fake_avail(vm, 0)[0] = VIRTQ_AVAIL_F_NO_INTERRUPT;
    struct fake_buf b = {FAKE_DATA, 16, true};
    fake_post(vm, 0, &b, 1);
    fake_kick(vm, 0);
    assert_int_equal(fake_used_idx(vm, 0), 1);
    assert_int_equal(vm->irqs, 0);
}

static void test_event_idx(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ALL_FEATURES);
    uint16_t *used_event = &fake_avail(vm, 0)[2 + FAKE_QSIZE];
    struct fake_buf b = {FAKE_DATA, 16, true};
    *used_event = 0; /* interrupt after the first */
    fake_post(vm, 0, &b, 1);
    fake_kick(vm, 0);
    assert_int_equal(vm->irqs, 1);
    /* avail_event tells the driver where to kick next. */
    assert_int_equal(fake_used(vm, 0)[2 + 4 * FAKE_QSIZE], 1);
    *used_event = 2; /* not until the third is used */
    fake_post(vm, 0, &b, 1);
    fake_kick(vm, 0);
    assert_int_equal(vm->irqs, 1);
    fake_post(vm, 0, &b, 1);
    fake_kick(vm, 0);
    assert_int_equal(vm->irqs, 2);
    assert_int_equal(fake_used_idx(vm, 0), 3);
}

static void test_queue_layout_fixed_when_ready(void **state)
{
    struct fake_vm *vm = *state;
    fake_driver_start(vm, ALL_FEATURES);
    mmio_w32(vm, VIRTIO_MMIO_QUEUE_SEL, 0);
    mmio_w32(vm, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x12340);
    assert_int_equal(vm->dev->queues[0].desc_gpa, ring_desc(0));
}

/* With an ioeventfd, the guest's QueueNotify write reaches the device as an
 * eventfd signal on the event loop, not through the bus handler. */
static uint64_t kick_addr, kick_value;
static int kick_fd = -1;

static int accepting_ioeventfd(void *ctx, uint64_t addr, unsigned len, uint64_t value, int fd,
                               v12n_error *err)
{
    (void)ctx, (void)len, (void)err;
    kick_addr = addr;
    kick_value = value;
    kick_fd = fd;
    return 0;
}

static void test_ioeventfd_kick(void **state)
{
    (void)state;
    struct fake_vm vm;
    fake_vm_init(&vm);
    vm.svc.ioeventfd = accepting_ioeventfd;
    v12n_error err = {0};
    assert_int_equal(fake_vm_attach(&vm, virtio_rng_create(&vm.svc, &err)), 0);
    assert_int_equal(kick_addr, FAKE_MMIO + VIRTIO_MMIO_QUEUE_NOTIFY);
    assert_int_equal(kick_value, 0);
    assert_int_equal(vm.watched_fd, kick_fd);
    fake_driver_start(&vm, ALL_FEATURES);
    struct fake_buf b = {FAKE_DATA, 32, true};
    fake_post(&vm, 0, &b, 1);
    uint64_t one = 1;
    assert_int_equal(write(kick_fd, &one, sizeof(one)), sizeof(one)); /* what KVM does */
    vm.watch_cb(vm.watch_arg);
    assert_int_equal(fake_used_idx(&vm, 0), 1);
    assert_int_equal(fake_used_elem(&vm, 0, 0).len, 32);
    fake_vm_destroy(&vm);
    assert_int_equal(vm.watched_fd, -1); /* detach stops watching */
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_identity_registers),
        T(test_cmdline_fragment),
        T(test_features_need_version_1),
        T(test_rng_fills_and_interrupts),
        T(test_descriptor_out_of_bounds),
        T(test_descriptor_address_wraps),
        T(test_chain_loop),
        T(test_next_beyond_table),
        T(test_head_beyond_queue),
        T(test_avail_index_jump),
        T(test_readable_after_writable),
        T(test_indirect_chain),
        T(test_indirect_without_feature),
        T(test_indirect_inside_indirect),
        T(test_indirect_loop),
        T(test_indirect_table_too_long),
        T(test_chain_too_many_bytes),
        T(test_zero_length_buffer_skipped),
        T(test_misaligned_rings),
        T(test_rings_outside_memory),
        T(test_reset_recovers),
        T(test_no_interrupt_flag),
        T(test_event_idx),
        T(test_queue_layout_fixed_when_ready),
        cmocka_unit_test(test_ioeventfd_kick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
