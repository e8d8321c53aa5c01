/* A fake guest for the virtio unit tests: a buffer as guest RAM, the device
 * on an MMIO bus, and a minimal driver that negotiates, lays out rings and
 * posts descriptor chains the way Linux's virtio_mmio/virtio_ring do.  The
 * VMM services are fakes that count interrupts and remember watched fds. */
#ifndef V12N_TEST_VIRTIO_DRIVER_H
#define V12N_TEST_VIRTIO_DRIVER_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/bus.h"
#include "vmm/guest_mem.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/virtio.h"

#define FAKE_RAM_SIZE (1u << 20)
#define FAKE_MMIO     0xd0000000ull
#define FAKE_GSI      5
#define FAKE_QSIZE    16
#define FAKE_DATA     0x80000ull /* buffers the tests hand the device */

struct fake_buf {
    uint64_t gpa;
    uint32_t len;
    bool write;
};

struct fake_vm {
    uint8_t *ram;
    struct guest_mem mem;
    struct vmm_bus bus;
    struct vmm_services svc;
    struct virtio_mmio mmio;
    struct virtio_dev *dev;
    unsigned irqs;
    int watched_fd;
    void (*watch_cb)(void *);
    void *watch_arg;
    uint16_t avail_idx[VIRTIO_MAX_QUEUES];
    uint16_t next_desc[VIRTIO_MAX_QUEUES];
};

static inline int fake_irq(void *ctx, unsigned gsi, v12n_error *err)
{
    (void)err;
    struct fake_vm *vm = ctx;
    if (gsi == FAKE_GSI)
        vm->irqs++;
    return 0;
}

static inline int fake_watch(void *ctx, int fd, void (*cb)(void *), void *arg, v12n_error *err)
{
    (void)err;
    struct fake_vm *vm = ctx;
    vm->watched_fd = fd;
    vm->watch_cb = cb;
    vm->watch_arg = arg;
    return 0;
}

static inline int fake_unwatch(void *ctx, int fd)
{
    struct fake_vm *vm = ctx;
    if (vm->watched_fd == fd)
        vm->watched_fd = -1;
    return 0;
}

static inline int fake_ioeventfd(void *ctx, uint64_t addr, unsigned len, uint64_t value, int fd,
                                 v12n_error *err)
{
    (void)ctx, (void)addr, (void)len, (void)value, (void)fd;
    return v12n_fail(err, ENOTSUP, "no ioeventfd in tests");
}

static inline void fake_vm_init(struct fake_vm *vm)
{
    memset(vm, 0, sizeof(*vm));
    vm->ram = aligned_alloc(4096, FAKE_RAM_SIZE);
    memset(vm->ram, 0, FAKE_RAM_SIZE);
    struct guest_mem_region r = {.gpa = 0, .size = FAKE_RAM_SIZE, .host = vm->ram};
    guest_mem_init_static(&vm->mem, &r, 1);
    vmm_bus_init(&vm->bus, "mmio");
    vm->watched_fd = -1;
    vm->svc = (struct vmm_services){.ctx = vm,
                                    .mem = &vm->mem,
                                    .irq_raise = fake_irq,
                                    .watch_fd = fake_watch,
                                    .unwatch_fd = fake_unwatch,
                                    .ioeventfd = fake_ioeventfd};
}

static inline int fake_vm_attach(struct fake_vm *vm, struct virtio_dev *dev)
{
    v12n_error err = {0};
    vm->dev = dev;
    return virtio_mmio_attach(&vm->mmio, dev, &vm->bus, FAKE_MMIO, FAKE_GSI, &err);
}

static inline void fake_vm_destroy(struct fake_vm *vm)
{
    if (vm->dev) {
        virtio_mmio_detach(&vm->mmio);
        virtio_dev_destroy(vm->dev);
    }
    free(vm->ram);
}

static inline uint32_t mmio_r32(struct fake_vm *vm, uint64_t off)
{
    uint32_t v = 0;
    vmm_bus_dispatch(&vm->bus, FAKE_MMIO + off, (uint8_t *)&v, 4, false);
    return v;
}

static inline void mmio_w32(struct fake_vm *vm, uint64_t off, uint32_t v)
{
    vmm_bus_dispatch(&vm->bus, FAKE_MMIO + off, (uint8_t *)&v, 4, true);
}

/* Ring layout of queue q: descriptors, then avail, then used, 4 KiB apart. */
static inline uint64_t ring_desc(unsigned q)
{
    return 0x10000ull + q * 0x4000ull;
}
static inline uint64_t ring_avail(unsigned q)
{
    return ring_desc(q) + 0x1000;
}
static inline uint64_t ring_used(unsigned q)
{
    return ring_desc(q) + 0x2000;
}

static inline void fake_setup_queue(struct fake_vm *vm, unsigned q, uint64_t desc, uint64_t avail,
                                    uint64_t used)
{
    mmio_w32(vm, VIRTIO_MMIO_QUEUE_SEL, q);
    mmio_w32(vm, VIRTIO_MMIO_QUEUE_NUM, FAKE_QSIZE);
    mmio_w32(vm, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    mmio_w32(vm, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    mmio_w32(vm, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
    mmio_w32(vm, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
    mmio_w32(vm, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
    mmio_w32(vm, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
    mmio_w32(vm, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Negotiate (accepting the offered features within `mask`), set up every
 * queue, DRIVER_OK.  Returns the status read back. */
static inline uint32_t fake_driver_start(struct fake_vm *vm, uint64_t mask)
{
    mmio_w32(vm, VIRTIO_MMIO_STATUS, 0);
    mmio_w32(vm, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t features = 0;
    for (unsigned w = 0; w < 2; w++) {
        mmio_w32(vm, VIRTIO_MMIO_DEVICE_FEATURES_SEL, w);
        features |= (uint64_t)mmio_r32(vm, VIRTIO_MMIO_DEVICE_FEATURES) << (32 * w);
    }
    features &= mask;
    for (unsigned w = 0; w < 2; w++) {
        mmio_w32(vm, VIRTIO_MMIO_DRIVER_FEATURES_SEL, w);
        mmio_w32(vm, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> (32 * w)));
    }
    mmio_w32(vm, VIRTIO_MMIO_STATUS,
             VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    if (!(mmio_r32(vm, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
        return mmio_r32(vm, VIRTIO_MMIO_STATUS);
    for (unsigned q = 0; q < vm->dev->n_queues; q++) {
        fake_setup_queue(vm, q, ring_desc(q), ring_avail(q), ring_used(q));
        vm->avail_idx[q] = vm->next_desc[q] = 0;
    }
    mmio_w32(vm, VIRTIO_MMIO_STATUS,
             VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                 VIRTIO_STATUS_DRIVER_OK);
    return mmio_r32(vm, VIRTIO_MMIO_STATUS);
}

static inline struct virtq_desc *fake_desc(struct fake_vm *vm, unsigned q, unsigned i)
{
    return (struct virtq_desc *)(vm->ram + ring_desc(q)) + i;
}

static inline uint16_t *fake_avail(struct fake_vm *vm, unsigned q)
{
    return (uint16_t *)(vm->ram + ring_avail(q));
}

static inline uint16_t *fake_used(struct fake_vm *vm, unsigned q)
{
    return (uint16_t *)(vm->ram + ring_used(q));
}

static inline struct virtq_used_elem fake_used_elem(struct fake_vm *vm, unsigned q, unsigned i)
{
    struct virtq_used_elem e;
    memcpy(&e, vm->ram + ring_used(q) + 4 + 8 * (i % FAKE_QSIZE), sizeof(e));
    return e;
}

/* Make head visible in the available ring. */
static inline void fake_publish(struct fake_vm *vm, unsigned q, uint16_t head)
{
    uint16_t *avail = fake_avail(vm, q);
    avail[2 + vm->avail_idx[q] % FAKE_QSIZE] = head;
    vm->avail_idx[q]++;
    __atomic_store_n(&avail[1], vm->avail_idx[q], __ATOMIC_RELEASE);
}

/* Chain bufs[0..n) in fresh descriptors and publish it; returns the head. */
static inline uint16_t fake_post(struct fake_vm *vm, unsigned q, const struct fake_buf *bufs,
                                 unsigned n)
{
    uint16_t head = vm->next_desc[q] % FAKE_QSIZE;
    for (unsigned i = 0; i < n; i++) {
        uint16_t idx = (head + i) % FAKE_QSIZE;
        *fake_desc(vm, q, idx) =
            (struct virtq_desc){.addr = bufs[i].gpa,
                                .len = bufs[i].len,
                                .flags = (uint16_t)((bufs[i].write ? VIRTQ_DESC_F_WRITE : 0) |
                                                    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
                                .next = (uint16_t)((idx + 1) % FAKE_QSIZE)};
    }
    vm->next_desc[q] = (uint16_t)(vm->next_desc[q] + n);
    fake_publish(vm, q, head);
    return head;
}

static inline void fake_kick(struct fake_vm *vm, unsigned q)
{
    mmio_w32(vm, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static inline uint16_t fake_used_idx(struct fake_vm *vm, unsigned q)
{
    return fake_used(vm, q)[1];
}

#endif
