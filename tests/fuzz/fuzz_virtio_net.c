/* virtio-net on hostile rings.  A datagram socket pair stands in for the
 * TAP: the harness puts a frame on it before firing rx, and drains what tx
 * sent. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "virtio_fuzz.h"
#include "vmm/virtio/devices.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fake_vm vm;
static int wire[2]; /* [0] the device's "TAP", [1] the host end */

static void init(void)
{
    fake_vm_init(&vm);
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, wire) < 0)
        abort();
    v12n_error err = {0};
    struct virtio_net_opts opts = {.tap_fd = wire[0]};
    struct virtio_dev *dev = virtio_net_create(&opts, &vm.svc, &err);
    if (!dev || fake_vm_attach(&vm, dev) < 0)
        abort();
}

static void send_frame(void)
{
    static const uint8_t frame[12 + 60] = {[12] = 0xff, [13] = 0xff, [24] = 0x88, [25] = 0xb5};
    (void)!write(wire[1], frame, sizeof(frame));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!vm.dev)
        init();
    fuzz_virtio_run(&vm, data, size, send_frame);
    uint8_t drain[2048];
    while (read(wire[1], drain, sizeof(drain)) > 0)
        ;
    while (read(wire[0], drain, sizeof(drain)) > 0)
        ;
    return 0;
}
