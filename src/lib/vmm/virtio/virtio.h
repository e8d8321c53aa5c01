/* A virtio device, independent of its transport (kvmtool-like ops tables).
 *
 * A device (blk.c, net.c, console.c, rng.c) embeds struct virtio_dev and
 * hands it a struct virtio_dev_ops; a transport (mmio.c) decodes the
 * driver's register accesses into the calls below and supplies
 * struct virtio_transport_ops to deliver interrupts.  Neither names the
 * other.  All state is guarded by dev->lock: vCPU threads (register
 * accesses, notifies) and the event loop (rx, ioeventfd) both take it. */
#ifndef V12N_VMM_VIRTIO_VIRTIO_H
#define V12N_VMM_VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/bus.h"
#include "vmm/virtio/queue.h"

#define VIRTIO_MAX_QUEUES 4

/* Device status bits (virtio 1.x, 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED      128

/* Transport-independent feature bits. */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32

/* Why an interrupt is raised (the mmio InterruptStatus bits). */
#define VIRTIO_INT_USED   1
#define VIRTIO_INT_CONFIG 2

/* Device ids (virtio 1.x, 5). */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4

struct virtio_dev;

struct virtio_dev_ops {
    /* The driver kicked queue q (dev->lock held). */
    void (*notify)(struct virtio_dev *dev, unsigned q);
    /* The driver set DRIVER_OK: start rx sources (dev->lock held). */
    void (*activate)(struct virtio_dev *dev);
    /* The driver reset the device: stop rx sources (dev->lock held). */
    void (*reset)(struct virtio_dev *dev);
    /* Free the device's own resources (not the struct's common part). */
    void (*destroy)(struct virtio_dev *dev);
};

struct virtio_transport_ops {
    void (*interrupt)(void *transport, uint32_t why);
};

struct virtio_dev {
    const char *name; /* "virtio-blk": errors name the device */
    uint32_t device_id;
    uint64_t host_features; /* offered; the common ring features are added */
    uint64_t driver_features;
    uint8_t status;
    uint32_t config_generation;
    unsigned n_queues;
    struct virtq queues[VIRTIO_MAX_QUEUES];
    /* Device-specific configuration space, read by the driver. */
    uint8_t *config;
    uint32_t config_len;
    const struct virtio_dev_ops *ops;
    struct vmm_services *svc;
    const struct virtio_transport_ops *transport_ops;
    void *transport;
    pthread_mutex_t lock;
    /* Why the device stopped (NEEDS_RESET), for the VMM's log. */
    v12n_error broken;
};

/* Common part of a device's constructor. */
void virtio_dev_init(struct virtio_dev *dev, const char *name, uint32_t device_id,
                     unsigned n_queues, const struct virtio_dev_ops *ops, struct vmm_services *svc);
/* Calls ops->destroy, then frees dev (devices are allocated by their
 * constructors with the common part first). */
void virtio_dev_destroy(struct virtio_dev *dev);

/* The driver's side, called by the transport with dev->lock held. */
uint64_t virtio_dev_features(const struct virtio_dev *dev);
void virtio_dev_set_driver_features(struct virtio_dev *dev, unsigned word, uint32_t value);
void virtio_dev_set_status(struct virtio_dev *dev, uint8_t status);
void virtio_dev_queue_ready(struct virtio_dev *dev, unsigned q, bool ready);
void virtio_dev_queue_notify(struct virtio_dev *dev, unsigned q);
bool virtio_dev_has_feature(const struct virtio_dev *dev, unsigned bit);

/* The device's side.  Interrupt the driver if queue q wants it. */
void virtio_dev_signal_used(struct virtio_dev *dev, unsigned q);
/* The driver broke the protocol: record why, set NEEDS_RESET, tell the
 * driver, and process nothing more until it resets the device. */
void virtio_dev_fail(struct virtio_dev *dev, const v12n_error *why);
/* Whether queues may be processed (DRIVER_OK and not broken). */
bool virtio_dev_running(const struct virtio_dev *dev);

#endif
