/* virtio-console (virtio 1.x, 5.3) with one port and no multiport: queue 0
 * receives from in_fd (the terminal), queue 1 transmits to out_fd (the
 * terminal or a file). */
#include "vmm/virtio/devices.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define RX 0
#define TX 1

struct console_config {
    uint16_t cols, rows;
    uint32_t max_nr_ports, emerg_wr;
} __attribute__((packed));

struct virtio_console {
    struct virtio_dev dev; /* first: virtio_dev_destroy frees the whole */
    int in_fd, out_fd;
    bool watching;
    struct console_config config;
    struct virtq_elem elem;
};

static void transmit(struct virtio_console *c)
{
    struct virtio_dev *dev = &c->dev;
    v12n_error err = {0};
    int r;
    while ((r = virtq_pop(&dev->queues[TX], dev->svc->mem, &c->elem, &err)) > 0) {
        /* Output the host cannot take is dropped: the guest must not block
         * the VMM on a slow terminal. */
        if (c->elem.n_out > 0)
            (void)!writev(c->out_fd, c->elem.iov, (int)c->elem.n_out);
        virtq_push(&dev->queues[TX], c->elem.head, 0);
    }
    if (r < 0)
        virtio_dev_fail(dev, &err);
    virtio_dev_signal_used(dev, TX);
}

static void stop_watching(struct virtio_console *c)
{
    if (c->watching && c->dev.svc->unwatch_fd)
        c->dev.svc->unwatch_fd(c->dev.svc->ctx, c->in_fd);
    c->watching = false;
}

static void input_ready(void *arg);

static void start_watching(struct virtio_console *c)
{
    v12n_error err = {0};
    if (c->watching || c->in_fd < 0 || !c->dev.svc->watch_fd)
        return;
    if (c->dev.svc->watch_fd(c->dev.svc->ctx, c->in_fd, input_ready, c, &err) == 0)
        c->watching = true;
}

/* Move input into the guest's receive buffers; with none posted, stop
 * watching until the driver posts some (else the readable fd would spin). */
static void receive(struct virtio_console *c)
{
    struct virtio_dev *dev = &c->dev;
    v12n_error err = {0};
    for (;;) {
        int r = virtq_pop(&dev->queues[RX], dev->svc->mem, &c->elem, &err);
        if (r < 0) {
            virtio_dev_fail(dev, &err);
            break;
        }
        if (r == 0) {
            stop_watching(c);
            break;
        }
        ssize_t n =
            c->elem.n_in ? readv(c->in_fd, c->elem.iov + c->elem.n_out, (int)c->elem.n_in) : 0;
        if (n <= 0 && c->elem.n_in) {
            virtq_unpop(&dev->queues[RX]);
            if (n == 0) /* end of input: nothing more will come */
                stop_watching(c);
            break;
        }
        virtq_push(&dev->queues[RX], c->elem.head, (uint32_t)n);
    }
    virtio_dev_signal_used(dev, RX);
}

static void input_ready(void *arg)
{
    struct virtio_console *c = arg;
    pthread_mutex_lock(&c->dev.lock);
    if (virtio_dev_running(&c->dev))
        receive(c);
    else
        stop_watching(c);
    pthread_mutex_unlock(&c->dev.lock);
}

static void console_notify(struct virtio_dev *dev, unsigned q)
{
    struct virtio_console *c = (struct virtio_console *)dev;
    if (q == TX)
        transmit(c);
    else
        start_watching(c); /* new receive buffers */
}

static void console_activate(struct virtio_dev *dev)
{
    start_watching((struct virtio_console *)dev);
}

static void console_reset(struct virtio_dev *dev)
{
    stop_watching((struct virtio_console *)dev);
}

static void console_destroy(struct virtio_dev *dev)
{
    stop_watching((struct virtio_console *)dev);
}

static const struct virtio_dev_ops console_ops = {.notify = console_notify,
                                                  .activate = console_activate,
                                                  .reset = console_reset,
                                                  .destroy = console_destroy};

struct virtio_dev *virtio_console_create(int in_fd, int out_fd, struct vmm_services *svc,
                                         v12n_error *err)
{
    struct virtio_console *c = calloc(1, sizeof(*c));
    if (!c) {
        v12n_fail(err, ENOMEM, "virtio-console: allocate device");
        return NULL;
    }
    virtio_dev_init(&c->dev, "virtio-console", VIRTIO_ID_CONSOLE, 2, &console_ops, svc);
    c->in_fd = in_fd;
    c->out_fd = out_fd;
    c->config.max_nr_ports = 1;
    c->dev.config = (uint8_t *)&c->config;
    c->dev.config_len = sizeof(c->config);
    return &c->dev;
}
