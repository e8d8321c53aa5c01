/* virtio-blk request parsing on hostile rings, over a 64 KiB memfd image. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "virtio_fuzz.h"
#include "vmm/virtio/devices.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fake_vm vm;

static void init(void)
{
    fake_vm_init(&vm);
    int fd = memfd_create("v12n-fuzz-disk", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, 64 << 10) < 0)
        abort();
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    v12n_error err = {0};
    struct virtio_blk_opts opts = {.path = path, .serial = "fuzz"};
    struct virtio_dev *dev = virtio_blk_create(&opts, &vm.svc, &err);
    close(fd); /* the device has its own */
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
