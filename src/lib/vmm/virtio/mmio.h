/* The virtio-mmio transport, version 2 (virtio 1.x, 4.2): one 4 KiB page of
 * registers per device and one edge-triggered interrupt line.  The kernel
 * finds each device from its command line (virtio_mmio_cmdline). */
#ifndef V12N_VMM_VIRTIO_MMIO_H
#define V12N_VMM_VIRTIO_MMIO_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/bus.h"
#include "vmm/virtio/virtio.h"

#define VIRTIO_MMIO_SIZE 0x1000

/* Register offsets. */
#define VIRTIO_MMIO_MAGIC_VALUE         0x000
#define VIRTIO_MMIO_VERSION             0x004
#define VIRTIO_MMIO_DEVICE_ID           0x008
#define VIRTIO_MMIO_VENDOR_ID           0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES     0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES     0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL           0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX       0x034
#define VIRTIO_MMIO_QUEUE_NUM           0x038
#define VIRTIO_MMIO_QUEUE_READY         0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY        0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS    0x060
#define VIRTIO_MMIO_INTERRUPT_ACK       0x064
#define VIRTIO_MMIO_STATUS              0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW      0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH     0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW    0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH   0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW    0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH   0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION   0x0fc
#define VIRTIO_MMIO_CONFIG              0x100

#define VIRTIO_MMIO_MAGIC  0x74726976 /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x6e323176 /* "v12n" */

struct virtio_mmio;

struct virtio_mmio_kick {
    struct virtio_mmio *t;
    unsigned queue;
    int fd; /* ioeventfd, -1 when KVM cannot and the bus handler sees the write */
};

struct virtio_mmio {
    struct virtio_dev *dev;
    uint64_t base;
    unsigned gsi;
    uint32_t device_features_sel, driver_features_sel, queue_sel;
    uint32_t interrupt_status;
    struct virtio_mmio_kick kicks[VIRTIO_MAX_QUEUES];
    char name[48]; /* "virtio-blk@0xd0000000" */
};

/* Put dev at [base, base + VIRTIO_MMIO_SIZE) on bus with interrupt gsi, and
 * ask the VMM for an ioeventfd per queue.  t must outlive the bus. */
int virtio_mmio_attach(struct virtio_mmio *t, struct virtio_dev *dev, struct vmm_bus *bus,
                       uint64_t base, unsigned gsi, v12n_error *err);
/* Stop watching and close the ioeventfds (the device is destroyed apart). */
void virtio_mmio_detach(struct virtio_mmio *t);
/* The kernel command-line fragment "virtio_mmio.device=4K@0xd0000000:5";
 * -1 when buf is too small. */
int virtio_mmio_cmdline(const struct virtio_mmio *t, char *buf, size_t len);

#endif
