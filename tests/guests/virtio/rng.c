/* Guest: read 64 bytes from virtio-rng; two reads must differ.  Prints
 * "virtio-rng: ok". */
#include "guest_env.h"
#include "vio.h"

#define SPINS 100000000ul

static struct vio_queue q;
static uint8_t a[64], b[64];

int guest_main(void)
{
    struct vio_dev d;
    if (!vio_find(&d, 4, 0) || !vio_setup_queue(&d, &q, 0) || !vio_start(&d)) {
        guest_puts("virtio-rng: no device\n");
        return 1;
    }
    struct vio_buf ba = {a, sizeof(a), true}, bb = {b, sizeof(b), true};
    if (vio_transfer(&d, &q, &ba, 1, SPINS) != sizeof(a) ||
        vio_transfer(&d, &q, &bb, 1, SPINS) != sizeof(b) || vio_memcmp(a, b, sizeof(a)) == 0) {
        guest_puts("virtio-rng: read failed\n");
        return 1;
    }
    guest_puts("virtio-rng: ok\n");
    return 0;
}
