/* Guest: read sector 0 (the host wrote BLK_HOST_PATTERN there), check it,
 * write BLK_GUEST_PATTERN to sector 1, flush.  Prints "virtio-blk: ok". */
#include "guest_env.h"
#include "vio.h"

#define BLK_HOST_PATTERN  "v12n host wrote this sector"
#define BLK_GUEST_PATTERN "v12n guest wrote this sector"
#define SPINS             100000000ul

static struct vio_queue q;
static struct {
    uint32_t type, reserved;
    uint64_t sector;
} hdr;
static uint8_t sector[512], status;

static long request(struct vio_dev *d, uint32_t type, uint64_t nr, bool device_writes)
{
    hdr.type = type;
    hdr.sector = nr;
    status = 0xff;
    struct vio_buf b[3] = {
        {&hdr, sizeof(hdr), false}, {sector, 512, device_writes}, {&status, 1, true}};
    if (type == 4) { /* flush carries no data */
        b[1] = b[2];
        return vio_transfer(d, &q, b, 2, SPINS) < 0 ? -1 : status;
    }
    return vio_transfer(d, &q, b, 3, SPINS) < 0 ? -1 : status;
}

int guest_main(void)
{
    struct vio_dev d;
    if (!vio_find(&d, 2, 1ull << 9) || !vio_setup_queue(&d, &q, 0) || !vio_start(&d)) {
        guest_puts("virtio-blk: no device\n");
        return 1;
    }
    if (request(&d, 0, 0, true) != 0 ||
        vio_memcmp(sector, BLK_HOST_PATTERN, sizeof(BLK_HOST_PATTERN) - 1) != 0) {
        guest_puts("virtio-blk: read failed\n");
        return 1;
    }
    vio_memset(sector, 0, sizeof(sector));
    vio_memcpy(sector, BLK_GUEST_PATTERN, sizeof(BLK_GUEST_PATTERN) - 1);
    if (request(&d, 1, 1, false) != 0 || request(&d, 4, 0, false) != 0) {
        guest_puts("virtio-blk: write failed\n");
        return 1;
    }
    guest_puts("virtio-blk: ok\n");
    return 0;
}
