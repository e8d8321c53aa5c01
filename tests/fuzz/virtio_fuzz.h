/* Shared harness for the virtio fuzz targets: the input becomes the guest's
 * rings and buffers, then every queue is kicked and every rx source fired,
 * then the tail of the input is replayed as register writes.  Whatever the
 * bytes, the device must neither crash, leak nor hang, and anything it
 * refuses must leave a reason when it sets NEEDS_RESET.
 *
 * Input: byte 0 selects features (bit 0 indirect, bit 1 event index); the
 * rest is copied to guest RAM at ring_desc(0), where queue 0's rings start
 * (queue q's rings follow at 16 KiB steps, buffers from FAKE_DATA). */
#ifndef V12N_FUZZ_VIRTIO_FUZZ_H
#define V12N_FUZZ_VIRTIO_FUZZ_H

#include <stdlib.h>

#include "../unit/virtio_driver.h"

#define FUZZ_REG_WRITES 8

static inline void fuzz_virtio_run(struct fake_vm *vm, const uint8_t *data, size_t size,
                                   void (*before_rx)(void))
{
    if (size < 1)
        return;
    uint64_t mask = ~(1ull << VIRTIO_F_RING_INDIRECT_DESC | 1ull << VIRTIO_F_RING_EVENT_IDX);
    if (data[0] & 1)
        mask |= 1ull << VIRTIO_F_RING_INDIRECT_DESC;
    if (data[0] & 2)
        mask |= 1ull << VIRTIO_F_RING_EVENT_IDX;
    if (!(fake_driver_start(vm, mask) & VIRTIO_STATUS_DRIVER_OK))
        abort();
    size_t room = FAKE_RAM_SIZE - ring_desc(0);
    size_t n = size - 1 < room ? size - 1 : room;
    memset(vm->ram, 0, FAKE_RAM_SIZE);
    memcpy(vm->ram + ring_desc(0), data + 1, n);
    for (unsigned q = 0; q < vm->dev->n_queues; q++)
        fake_kick(vm, q);
    if (vm->watch_cb && vm->watched_fd >= 0) {
        if (before_rx)
            before_rx();
        vm->watch_cb(vm->watch_arg);
    }
    for (unsigned q = 0; q < vm->dev->n_queues; q++)
        fake_kick(vm, q); /* again: past the first used entries */
    if ((vm->dev->status & VIRTIO_STATUS_NEEDS_RESET) && vm->dev->broken.msg[0] == '\0')
        abort(); /* a refusal always says why */
    /* The last bytes as register writes: offset (2 bytes), value (4). */
    if (n >= 6 * FUZZ_REG_WRITES) {
        const uint8_t *p = data + size - 6 * FUZZ_REG_WRITES;
        for (unsigned i = 0; i < FUZZ_REG_WRITES; i++, p += 6) {
            uint16_t off;
            uint32_t v;
            memcpy(&off, p, 2);
            memcpy(&v, p + 2, 4);
            mmio_w32(vm, off & 0xffc, v);
        }
        for (unsigned q = 0; q < vm->dev->n_queues; q++)
            fake_kick(vm, q);
    }
    mmio_w32(vm, VIRTIO_MMIO_STATUS, 0); /* reset for the next input */
}

#endif
