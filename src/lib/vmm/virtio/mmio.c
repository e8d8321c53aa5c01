#include "vmm/virtio/mmio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void interrupt(void *transport, uint32_t why)
{
    struct virtio_mmio *t = transport;
    t->interrupt_status |= why;
    v12n_error err = {0};
    /* A failed raise leaves the bit set: the driver sees it on its next
     * interrupt or poll, so there is nothing better to do here. */
    (void)t->dev->svc->irq_raise(t->dev->svc->ctx, t->gsi, &err);
}

static const struct virtio_transport_ops mmio_transport_ops = {.interrupt = interrupt};

static struct virtq *selected_queue(struct virtio_mmio *t)
{
    return t->queue_sel < t->dev->n_queues ? &t->dev->queues[t->queue_sel] : NULL;
}

static uint32_t read_register(struct virtio_mmio *t, uint64_t off)
{
    struct virtio_dev *dev = t->dev;
    struct virtq *q = selected_queue(t);
    switch (off) {
    case VIRTIO_MMIO_MAGIC_VALUE:
        return VIRTIO_MMIO_MAGIC;
    case VIRTIO_MMIO_VERSION:
        return 2;
    case VIRTIO_MMIO_DEVICE_ID:
        return dev->device_id;
    case VIRTIO_MMIO_VENDOR_ID:
        return VIRTIO_MMIO_VENDOR;
    case VIRTIO_MMIO_DEVICE_FEATURES:
        return t->device_features_sel > 1
                   ? 0
                   : (uint32_t)(virtio_dev_features(dev) >> (32 * t->device_features_sel));
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
        return q ? VIRTQ_MAX_SIZE : 0;
    case VIRTIO_MMIO_QUEUE_READY:
        return q && q->ready;
    case VIRTIO_MMIO_INTERRUPT_STATUS:
        return t->interrupt_status;
    case VIRTIO_MMIO_STATUS:
        return dev->status;
    case VIRTIO_MMIO_CONFIG_GENERATION:
        return dev->config_generation;
    default:
        return 0;
    }
}

/* Ring addresses are 64-bit, written as two halves. */
static void set_half(uint64_t *v, bool high, uint32_t value)
{
    if (high)
        *v = (*v & 0xffffffffull) | (uint64_t)value << 32;
    else
        *v = (*v & ~0xffffffffull) | value;
}

static void write_queue_register(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
    struct virtq *q = selected_queue(t);
    if (!q || q->ready) /* the layout of a live queue is fixed */
        return;
    switch (off) {
    case VIRTIO_MMIO_QUEUE_NUM:
        q->size = v > 0xffff ? 0 : (uint16_t)v;
        break;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        set_half(&q->desc_gpa, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
        break;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
        set_half(&q->avail_gpa, off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, v);
        break;
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        set_half(&q->used_gpa, off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, v);
        break;
    }
}

static void write_register(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
    struct virtio_dev *dev = t->dev;
    switch (off) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        t->device_features_sel = v;
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        virtio_dev_set_driver_features(dev, t->driver_features_sel, v);
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        t->driver_features_sel = v;
        break;
    case VIRTIO_MMIO_QUEUE_SEL:
        t->queue_sel = v;
        break;
    case VIRTIO_MMIO_QUEUE_READY:
        virtio_dev_queue_ready(dev, t->queue_sel, v & 1);
        break;
    case VIRTIO_MMIO_QUEUE_NOTIFY:
        virtio_dev_queue_notify(dev, v);
        break;
    case VIRTIO_MMIO_INTERRUPT_ACK:
        t->interrupt_status &= ~v;
        break;
    case VIRTIO_MMIO_STATUS:
        virtio_dev_set_status(dev, (uint8_t)v);
        if (v == 0) {
            t->interrupt_status = 0;
            t->queue_sel = t->device_features_sel = t->driver_features_sel = 0;
        }
        break;
    default:
        write_queue_register(t, off, v);
    }
}

static void mmio_read(void *opaque, uint64_t off, uint8_t *data, unsigned len)
{
    struct virtio_mmio *t = opaque;
    struct virtio_dev *dev = t->dev;
    pthread_mutex_lock(&dev->lock);
    if (off >= VIRTIO_MMIO_CONFIG) {
        uint64_t c = off - VIRTIO_MMIO_CONFIG;
        if (c < dev->config_len && len <= dev->config_len - c)
            memcpy(data, dev->config + c, len);
    } else if (len == 4) { /* registers are 32-bit only */
        uint32_t v = read_register(t, off);
        memcpy(data, &v, 4);
    }
    pthread_mutex_unlock(&dev->lock);
}

static void mmio_write(void *opaque, uint64_t off, const uint8_t *data, unsigned len)
{
    struct virtio_mmio *t = opaque;
    if (off >= VIRTIO_MMIO_CONFIG || len != 4)
        return; /* our devices have no writable configuration */
    uint32_t v;
    memcpy(&v, data, 4);
    pthread_mutex_lock(&t->dev->lock);
    write_register(t, off, v);
    pthread_mutex_unlock(&t->dev->lock);
}

static const struct vmm_bus_ops mmio_bus_ops = {.read = mmio_read, .write = mmio_write};

static void kicked(void *arg)
{
    struct virtio_mmio_kick *k = arg;
    uint64_t count;
    if (read(k->fd, &count, sizeof(count)) != sizeof(count))
        return; /* spurious wakeup: nothing to do */
    pthread_mutex_lock(&k->t->dev->lock);
    virtio_dev_queue_notify(k->t->dev, k->queue);
    pthread_mutex_unlock(&k->t->dev->lock);
}

/* An ioeventfd turns the QueueNotify write into an eventfd signal without a
 * VM exit; without one the bus handler sees the write instead. */
static int setup_kick(struct virtio_mmio *t, unsigned q, v12n_error *err)
{
    struct vmm_services *svc = t->dev->svc;
    struct virtio_mmio_kick *k = &t->kicks[q];
    *k = (struct virtio_mmio_kick){.t = t, .queue = q, .fd = -1};
    if (!svc->ioeventfd || !svc->watch_fd)
        return 0;
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0)
        return v12n_fail_errno(err, "%s: eventfd", t->name);
    if (svc->ioeventfd(svc->ctx, t->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, q, fd, err) < 0) {
        close(fd);
        if (err->errnum != ENOTSUP)
            return v12n_error_wrap(err, "%s", t->name);
        v12n_error_clear(err);
        return 0;
    }
    k->fd = fd;
    if (svc->watch_fd(svc->ctx, fd, kicked, k, err) < 0)
        return v12n_error_wrap(err, "%s", t->name);
    return 0;
}

int virtio_mmio_attach(struct virtio_mmio *t, struct virtio_dev *dev, struct vmm_bus *bus,
                       uint64_t base, unsigned gsi, v12n_error *err)
{
    memset(t, 0, sizeof(*t));
    t->dev = dev;
    t->base = base;
    t->gsi = gsi;
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
        t->kicks[q].fd = -1;
    snprintf(t->name, sizeof(t->name), "%s@0x%llx", dev->name, (unsigned long long)base);
    if (vmm_bus_add(bus, base, VIRTIO_MMIO_SIZE, &mmio_bus_ops, t, t->name, err) < 0)
        return -1;
    dev->transport = t;
    dev->transport_ops = &mmio_transport_ops;
    for (unsigned q = 0; q < dev->n_queues; q++)
        if (setup_kick(t, q, err) < 0) {
            virtio_mmio_detach(t);
            return -1;
        }
    return 0;
}

void virtio_mmio_detach(struct virtio_mmio *t)
{
    struct vmm_services *svc = t->dev ? t->dev->svc : NULL;
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
        if (t->kicks[q].fd < 0)
            continue;
        if (svc && svc->unwatch_fd)
            svc->unwatch_fd(svc->ctx, t->kicks[q].fd);
        close(t->kicks[q].fd);
        t->kicks[q].fd = -1;
    }
}

int virtio_mmio_cmdline(const struct virtio_mmio *t, char *buf, size_t len)
{
    int n =
        snprintf(buf, len, "virtio_mmio.device=4K@0x%llx:%u", (unsigned long long)t->base, t->gsi);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}
