/* virtio-console on hostile rings, over pipes. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "virtio_fuzz.h"
#include "vmm/virtio/devices.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fake_vm vm;
static int in[2], out[2];

static void init(void)
{
    fake_vm_init(&vm);
    if (pipe2(in, O_NONBLOCK | O_CLOEXEC) < 0 || pipe2(out, O_NONBLOCK | O_CLOEXEC) < 0)
        abort();
    v12n_error err = {0};
    struct virtio_dev *dev = virtio_console_create(in[0], out[1], &vm.svc, &err);
    if (!dev || fake_vm_attach(&vm, dev) < 0)
        abort();
}

static void type_keys(void)
{
    (void)!write(in[1], "keys\n", 5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!vm.dev)
        init();
    fuzz_virtio_run(&vm, data, size, type_keys);
    char drain[4096];
    while (read(out[0], drain, sizeof(drain)) > 0)
        ;
    while (read(in[0], drain, sizeof(drain)) > 0)
        ;
    return 0;
}
