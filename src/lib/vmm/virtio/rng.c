/* virtio-rng (virtio 1.x, 5.4): fill each writable buffer from getrandom. */
#include "vmm/virtio/devices.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

struct virtio_rng {
    struct virtio_dev dev; /* first: virtio_dev_destroy frees the whole */
    struct virtq_elem elem;
};

/* Bytes written into the chain's writable buffers. */
static uint32_t fill(struct virtq_elem *e)
{
    uint64_t done = 0;
    for (unsigned i = e->n_out; i < e->n_out + e->n_in; i++) {
        ssize_t r = getrandom(e->iov[i].iov_base, e->iov[i].iov_len, 0);
        if (r < 0)
            break; /* the driver gets what we have and asks again */
        done += (uint64_t)r;
        if ((size_t)r < e->iov[i].iov_len)
            break;
    }
    return (uint32_t)done;
}

static void rng_notify(struct virtio_dev *dev, unsigned q)
{
    struct virtio_rng *r = (struct virtio_rng *)dev;
    v12n_error err = {0};
    int got;
    while ((got = virtq_pop(&dev->queues[q], dev->svc->mem, &r->elem, &err)) > 0)
        virtq_push(&dev->queues[q], r->elem.head, fill(&r->elem));
    if (got < 0)
        virtio_dev_fail(dev, &err);
    virtio_dev_signal_used(dev, q);
}

static const struct virtio_dev_ops rng_ops = {.notify = rng_notify};

struct virtio_dev *virtio_rng_create(struct vmm_services *svc, v12n_error *err)
{
    struct virtio_rng *r = calloc(1, sizeof(*r));
    if (!r) {
        v12n_fail(err, ENOMEM, "virtio-rng: allocate device");
        return NULL;
    }
    virtio_dev_init(&r->dev, "virtio-rng", VIRTIO_ID_RNG, 1, &rng_ops, svc);
    return &r->dev;
}
