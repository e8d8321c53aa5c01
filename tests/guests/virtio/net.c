/* Guest: send one frame of ethertype 0x88b5 to the broadcast address, then
 * wait for one frame back from the host (the test answers through the TAP).
 * Prints "virtio-net: ok" with the first bytes of the answer's payload. */
#include "guest_env.h"
#include "vio.h"

#define HDR   12
#define SPINS 400000000ul

static struct vio_queue rxq, txq;
static uint8_t rx[HDR + 1514], tx[HDR + 60];

int guest_main(void)
{
    struct vio_dev d;
    if (!vio_find(&d, 1, 1ull << 5) || !vio_setup_queue(&d, &rxq, 0) ||
        !vio_setup_queue(&d, &txq, 1) || !vio_start(&d)) {
        guest_puts("virtio-net: no device\n");
        return 1;
    }
    struct vio_buf in = {rx, sizeof(rx), true};
    vio_post(&d, &rxq, &in, 1);

    vio_memset(tx, 0, sizeof(tx));
    vio_memset(tx + HDR, 0xff, 6); /* broadcast */
    for (unsigned i = 0; i < 6; i++)
        tx[HDR + 6 + i] = vio_config8(&d, i); /* our MAC from config space */
    tx[HDR + 12] = 0x88;
    tx[HDR + 13] = 0xb5;
    vio_memcpy(tx + HDR + 14, "ping from guest", 15);
    struct vio_buf out = {tx, sizeof(tx), false};
    if (vio_transfer(&d, &txq, &out, 1, SPINS) < 0) {
        guest_puts("virtio-net: send failed\n");
        return 1;
    }
    long got = vio_wait(&rxq, SPINS);
    if (got < HDR + 14 || rx[HDR + 12] != 0x88 || rx[HDR + 13] != 0xb5) {
        guest_puts("virtio-net: no answer\n");
        return 1;
    }
    char text[16];
    vio_memcpy(text, rx + HDR + 14, 15);
    text[15] = '\0';
    guest_puts("virtio-net: ok ");
    guest_puts(text);
    guest_puts("\n");
    return 0;
}
