#include "vmm/virtio/virtio.h"

#include <stdlib.h>
#include <string.h>

void virtio_dev_init(struct virtio_dev *dev, const char *name, uint32_t device_id,
                     unsigned n_queues, const struct virtio_dev_ops *ops, struct vmm_services *svc)
{
    dev->name = name;
    dev->device_id = device_id;
    dev->n_queues = n_queues < VIRTIO_MAX_QUEUES ? n_queues : VIRTIO_MAX_QUEUES;
    dev->ops = ops;
    dev->svc = svc;
    pthread_mutex_init(&dev->lock, NULL);
}

void virtio_dev_destroy(struct virtio_dev *dev)
{
    if (!dev)
        return;
    if (dev->ops->destroy)
        dev->ops->destroy(dev);
    pthread_mutex_destroy(&dev->lock);
    free(dev);
}

uint64_t virtio_dev_features(const struct virtio_dev *dev)
{
    return dev->host_features | 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_RING_INDIRECT_DESC |
           1ull << VIRTIO_F_RING_EVENT_IDX;
}

bool virtio_dev_has_feature(const struct virtio_dev *dev, unsigned bit)
{
    return bit < 64 && (dev->driver_features >> bit & 1);
}

void virtio_dev_set_driver_features(struct virtio_dev *dev, unsigned word, uint32_t value)
{
    /* Features are fixed once the driver said FEATURES_OK. */
    if (word > 1 || (dev->status & VIRTIO_STATUS_FEATURES_OK))
        return;
    unsigned shift = 32 * word;
    dev->driver_features &= ~(0xffffffffull << shift);
    dev->driver_features |= (uint64_t)value << shift;
}

static void reset(struct virtio_dev *dev)
{
    if (dev->ops->reset)
        dev->ops->reset(dev);
    for (unsigned i = 0; i < dev->n_queues; i++)
        virtq_reset(&dev->queues[i]);
    dev->driver_features = 0;
    dev->status = 0;
    v12n_error_clear(&dev->broken);
}

/* FEATURES_OK holds only for a subset of what we offer, with VERSION_1:
 * we implement no legacy interface. */
static bool features_acceptable(const struct virtio_dev *dev)
{
    return (dev->driver_features & ~virtio_dev_features(dev)) == 0 &&
           virtio_dev_has_feature(dev, VIRTIO_F_VERSION_1);
}

void virtio_dev_set_status(struct virtio_dev *dev, uint8_t status)
{
    if (status == 0) {
        reset(dev);
        return;
    }
    uint8_t added = status & ~dev->status;
    if ((added & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(dev))
        status &= ~VIRTIO_STATUS_FEATURES_OK; /* the driver reads it back and gives up */
    /* NEEDS_RESET is ours to set, not the driver's to clear. */
    status = (status & ~VIRTIO_STATUS_NEEDS_RESET) | (dev->status & VIRTIO_STATUS_NEEDS_RESET);
    dev->status = status;
    if ((added & VIRTIO_STATUS_DRIVER_OK) && virtio_dev_running(dev) && dev->ops->activate)
        dev->ops->activate(dev);
}

void virtio_dev_queue_ready(struct virtio_dev *dev, unsigned q, bool ready)
{
    if (q >= dev->n_queues)
        return;
    struct virtq *vq = &dev->queues[q];
    if (!ready) {
        vq->ready = false;
        return;
    }
    if (vq->ready)
        return;
    vq->event_idx = virtio_dev_has_feature(dev, VIRTIO_F_RING_EVENT_IDX);
    vq->indirect = virtio_dev_has_feature(dev, VIRTIO_F_RING_INDIRECT_DESC);
    v12n_error err = {0};
    if (virtq_activate(vq, dev->svc->mem, &err) < 0) {
        v12n_error_wrap(&err, "queue %u", q);
        virtio_dev_fail(dev, &err);
    }
}

bool virtio_dev_running(const struct virtio_dev *dev)
{
    return (dev->status & VIRTIO_STATUS_DRIVER_OK) && !(dev->status & VIRTIO_STATUS_NEEDS_RESET);
}

void virtio_dev_queue_notify(struct virtio_dev *dev, unsigned q)
{
    if (q >= dev->n_queues || !dev->queues[q].ready || !virtio_dev_running(dev))
        return;
    dev->ops->notify(dev, q);
}

void virtio_dev_signal_used(struct virtio_dev *dev, unsigned q)
{
    if (virtq_should_signal(&dev->queues[q]) && dev->transport_ops)
        dev->transport_ops->interrupt(dev->transport, VIRTIO_INT_USED);
}

void virtio_dev_fail(struct virtio_dev *dev, const v12n_error *why)
{
    if (dev->status & VIRTIO_STATUS_NEEDS_RESET)
        return; /* keep the first cause */
    dev->broken = *why;
    v12n_error_wrap(&dev->broken, "%s", dev->name);
    dev->status |= VIRTIO_STATUS_NEEDS_RESET;
    if ((dev->status & VIRTIO_STATUS_DRIVER_OK) && dev->transport_ops)
        dev->transport_ops->interrupt(dev->transport, VIRTIO_INT_CONFIG);
}
