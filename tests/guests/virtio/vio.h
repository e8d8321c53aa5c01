/* A tiny freestanding virtio-mmio (version 2) driver for the test guests:
 * polling only (no interrupts), split rings, identity-mapped memory.  Just
 * enough to drive the VMM's devices the way Linux does. */
#ifndef V12N_GUEST_VIO_H
#define V12N_GUEST_VIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIO_MMIO_FIRST 0xd0000000ul /* where the VMM puts device 0 */
#define VIO_MMIO_STEP  0x1000ul
#define VIO_MMIO_SLOTS 8
#define VIO_QSIZE      8

struct vio_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct vio_queue {
    struct vio_desc desc[VIO_QSIZE] __attribute__((aligned(16)));
    struct {
        uint16_t flags, idx, ring[VIO_QSIZE], used_event;
    } avail __attribute__((aligned(2)));
    struct {
        uint16_t flags, idx;
        struct {
            uint32_t id, len;
        } ring[VIO_QSIZE];
        uint16_t avail_event;
    } used __attribute__((aligned(4)));
    uint16_t last_used, next_desc;
    unsigned index;
};

struct vio_dev {
    uintptr_t base; /* the device's register page */
};

/* Built with VIO_HOSTED (the host-side unit test that runs these programs
 * against the real devices in a thread), register accesses go through
 * these instead of touching MMIO. */
uint32_t vio_hosted_read(uintptr_t addr, unsigned len);
void vio_hosted_write(uintptr_t addr, uint32_t value);

struct vio_buf {
    void *addr;
    uint32_t len;
    bool device_writes;
};

/* Find the first device with this id in the VMM's slots, reset it and
 * negotiate VERSION_1 plus `features` (those the device offers). */
bool vio_find(struct vio_dev *d, uint32_t device_id, uint64_t features);
bool vio_setup_queue(struct vio_dev *d, struct vio_queue *q, unsigned index);
/* DRIVER_OK; false when the device refused (status FAILED or NEEDS_RESET). */
bool vio_start(struct vio_dev *d);
/* Post one chain, kick, and spin until the device returns it (or `spins`
 * run out); the used length, or -1. */
long vio_transfer(struct vio_dev *d, struct vio_queue *q, const struct vio_buf *bufs, unsigned n,
                  unsigned long spins);
/* Post without waiting, and wait for whatever comes back next. */
void vio_post(struct vio_dev *d, struct vio_queue *q, const struct vio_buf *bufs, unsigned n);
long vio_wait(struct vio_queue *q, unsigned long spins);
uint8_t vio_config8(struct vio_dev *d, unsigned off);

void vio_memset(void *p, int c, size_t n);
int vio_memcmp(const void *a, const void *b, size_t n);
void vio_memcpy(void *dst, const void *src, size_t n);

#endif
