/* How devices plug into the VMM, and what the VMM offers them.
 *
 * A bus maps address ranges (MMIO or port I/O) to a device's handlers; a
 * vCPU exit is dispatched to the one range that holds the access.  Devices
 * never see KVM: interrupts, file-descriptor events and ioeventfds reach
 * them through struct vmm_services, which the VM fills in (and which
 * tests and fuzzers fill with fakes).  A virtio device never names a
 * transport and a transport never names a device (see virtio/). */
#ifndef V12N_VMM_BUS_H
#define V12N_VMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/guest_mem.h"

struct vmm_bus_ops {
    /* offset is from the range's base; len is 1, 2, 4 or 8.  A read fills
     * data[0..len); a device without such a register leaves zeros. */
    void (*read)(void *opaque, uint64_t offset, uint8_t *data, unsigned len);
    void (*write)(void *opaque, uint64_t offset, const uint8_t *data, unsigned len);
};

struct vmm_bus_range {
    uint64_t base, len;
    const struct vmm_bus_ops *ops;
    void *opaque;
    const char *name; /* for errors: "serial", "virtio-blk@0xd0000000" */
};

#define VMM_BUS_MAX_RANGES 32

/* vCPU threads dispatch concurrently, so handlers take their device's own
 * lock; ranges are all added before the first vCPU runs. */
struct vmm_bus {
    struct vmm_bus_range ranges[VMM_BUS_MAX_RANGES];
    unsigned n;
    const char *name; /* "mmio", "pio" */
};

void vmm_bus_init(struct vmm_bus *b, const char *name);
/* Refuses overlapping ranges and a full bus. */
int vmm_bus_add(struct vmm_bus *b, uint64_t base, uint64_t len, const struct vmm_bus_ops *ops,
                void *opaque, const char *name, v12n_error *err);
/* false when no range holds [addr, addr+len): the caller decides (reads of
 * unmapped space return all ones, as on real hardware). */
bool vmm_bus_dispatch(const struct vmm_bus *b, uint64_t addr, uint8_t *data, unsigned len,
                      bool is_write);

/* What the VMM offers a device.  Every callback may be called from any
 * thread (vCPU or event loop). */
struct vmm_services {
    void *ctx;
    struct guest_mem *mem;
    /* Raise an edge-triggered interrupt on GSI gsi (irqfd or KVM_IRQ_LINE). */
    int (*irq_raise)(void *ctx, unsigned gsi, v12n_error *err);
    /* Call cb(arg) on the event-loop thread whenever fd is readable. */
    int (*watch_fd)(void *ctx, int fd, void (*cb)(void *arg), void *arg, v12n_error *err);
    int (*unwatch_fd)(void *ctx, int fd);
    /* Have KVM signal eventfd fd when the guest writes `value` (len bytes)
     * at MMIO address addr, without a VM exit.  -1 with ENOTSUP when KVM
     * cannot: the transport then handles the write in its bus handler. */
    int (*ioeventfd)(void *ctx, uint64_t addr, unsigned len, uint64_t value, int fd,
                     v12n_error *err);
};

#endif
