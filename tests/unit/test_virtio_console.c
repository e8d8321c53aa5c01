/* virtio-console over pipes: guest output reaches out_fd, input from in_fd
 * reaches the guest's receive buffers. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "virtio_driver.h"
#include "vmm/virtio/devices.h"

#define RXQ 0
#define TXQ 1

struct console_test {
    struct fake_vm vm;
    int in[2], out[2];
};

static int setup(void **state)
{
    struct console_test *t = calloc(1, sizeof(*t));
    *state = t;
    assert_int_equal(pipe2(t->in, O_NONBLOCK | O_CLOEXEC), 0);
    assert_int_equal(pipe2(t->out, O_NONBLOCK | O_CLOEXEC), 0);
    fake_vm_init(&t->vm);
    v12n_error err = {0};
    struct virtio_dev *dev = virtio_console_create(t->in[0], t->out[1], &t->vm.svc, &err);
    assert_non_null(dev);
    assert_int_equal(fake_vm_attach(&t->vm, dev), 0);
    assert_true(fake_driver_start(&t->vm, ~0ull) & VIRTIO_STATUS_DRIVER_OK);
    return 0;
}

static int teardown(void **state)
{
    struct console_test *t = *state;
    fake_vm_destroy(&t->vm);
    for (int i = 0; i < 2; i++) {
        close(t->in[i]);
        close(t->out[i]);
    }
    free(t);
    return 0;
}

static void test_output(void **state)
{
    struct console_test *t = *state;
    struct fake_vm *vm = &t->vm;
    memcpy(vm->ram + FAKE_DATA, "hello, ", 7);
    memcpy(vm->ram + FAKE_DATA + 0x100, "console\n", 8);
    struct fake_buf b[2] = {{FAKE_DATA, 7, false}, {FAKE_DATA + 0x100, 8, false}};
    fake_post(vm, TXQ, b, 2);
    fake_kick(vm, TXQ);
    assert_int_equal(fake_used_idx(vm, TXQ), 1);
    char got[32] = {0};
    assert_int_equal(read(t->out[0], got, sizeof(got)), 15);
    assert_string_equal(got, "hello, console\n");
}

static void test_input(void **state)
{
    struct console_test *t = *state;
    struct fake_vm *vm = &t->vm;
    assert_int_equal(vm->watched_fd, t->in[0]);
    struct fake_buf b = {FAKE_DATA, 64, true};
    fake_post(vm, RXQ, &b, 1);
    fake_kick(vm, RXQ);
    assert_int_equal(write(t->in[1], "ls\n", 3), 3);
    vm->watch_cb(vm->watch_arg);
    assert_int_equal(fake_used_idx(vm, RXQ), 1);
    assert_int_equal(fake_used_elem(vm, RXQ, 0).len, 3);
    assert_memory_equal(vm->ram + FAKE_DATA, "ls\n", 3);
    /* Nothing more to read: the buffer stays posted. */
    vm->watch_cb(vm->watch_arg);
    assert_int_equal(fake_used_idx(vm, RXQ), 1);
}

static void test_input_without_buffers(void **state)
{
    struct console_test *t = *state;
    struct fake_vm *vm = &t->vm;
    assert_int_equal(write(t->in[1], "x", 1), 1);
    vm->watch_cb(vm->watch_arg);
    assert_int_equal(vm->watched_fd, -1); /* no spinning on a readable fd */
    struct fake_buf b = {FAKE_DATA, 64, true};
    fake_post(vm, RXQ, &b, 1);
    fake_kick(vm, RXQ);
    assert_int_equal(vm->watched_fd, t->in[0]);
    vm->watch_cb(vm->watch_arg);
    assert_int_equal(fake_used_elem(vm, RXQ, 0).len, 1);
}

static void test_hostile_tx_ring(void **state)
{
    struct console_test *t = *state;
    struct fake_vm *vm = &t->vm;
    struct fake_buf b = {FAKE_RAM_SIZE, 16, false};
    fake_post(vm, TXQ, &b, 1);
    fake_kick(vm, TXQ);
    assert_true(mmio_r32(vm, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    char got[8];
    assert_int_equal(read(t->out[0], got, sizeof(got)), -1); /* nothing written */
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_output),
        T(test_input),
        T(test_input_without_buffers),
        T(test_hostile_tx_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
