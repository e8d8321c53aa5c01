/* virtio-rng on hostile rings: whatever the chains, the device fills only
 * writable guest buffers inside guest RAM. */
#include <stddef.h>
#include <stdint.h>

#include "virtio_fuzz.h"
#include "vmm/virtio/devices.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fake_vm vm;

static void init(void)
{
    fake_vm_init(&vm);
    v12n_error err = {0};
    struct virtio_dev *dev = virtio_rng_create(&vm.svc, &err);
    if (!dev || fake_vm_attach(&vm, dev) < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!vm.dev)
        init();
    fuzz_virtio_run(&vm, data, size, NULL);
    return 0;
}
