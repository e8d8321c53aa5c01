/* virtio-net (virtio 1.x, 5.1) on a TAP device.  The TAP carries the same
 * 12-byte virtio_net_hdr as the rings (IFF_VNET_HDR), so frames pass through
 * unchanged: tx writes a chain to the TAP, rx reads the TAP into a chain.
 * No offloads are offered, so every header is plain. */
#include "vmm/virtio/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "vmm/virtio/iov.h"

#define RX 0
#define TX 1

#define VIRTIO_NET_F_MAC     5
#define VIRTIO_NET_F_STATUS  16
#define VIRTIO_NET_S_LINK_UP 1

#define NET_HDR_BYTES      12 /* virtio_net_hdr with num_buffers (1.x) */
#define NUM_BUFFERS_OFFSET 10

struct net_config {
    uint8_t mac[6];
    uint16_t status;
    uint16_t max_virtqueue_pairs;
} __attribute__((packed));

struct virtio_net {
    struct virtio_dev dev; /* first: virtio_dev_destroy frees the whole */
    int tap_fd;
    bool own_fd, watching;
    char tap[IFNAMSIZ];
    struct net_config config;
    struct virtq_elem elem;
};

static void transmit(struct virtio_net *n)
{
    struct virtio_dev *dev = &n->dev;
    v12n_error err = {0};
    int r;
    while ((r = virtq_pop(&dev->queues[TX], dev->svc->mem, &n->elem, &err)) > 0) {
        /* A frame the TAP refuses (too short, queue full) is dropped, as a
         * wire would. */
        if (n->elem.out_bytes > NET_HDR_BYTES)
            (void)!writev(n->tap_fd, n->elem.iov, (int)n->elem.n_out);
        virtq_push(&dev->queues[TX], n->elem.head, 0);
    }
    if (r < 0)
        virtio_dev_fail(dev, &err);
    virtio_dev_signal_used(dev, TX);
}

static void rx_ready(void *arg);

static void stop_watching(struct virtio_net *n)
{
    if (n->watching && n->dev.svc->unwatch_fd)
        n->dev.svc->unwatch_fd(n->dev.svc->ctx, n->tap_fd);
    n->watching = false;
}

static void start_watching(struct virtio_net *n)
{
    v12n_error err = {0};
    if (n->watching || !n->dev.svc->watch_fd)
        return;
    if (n->dev.svc->watch_fd(n->dev.svc->ctx, n->tap_fd, rx_ready, n, &err) == 0)
        n->watching = true;
}

/* Frames from the TAP into posted receive buffers.  With no buffer posted
 * we stop watching the TAP until the driver posts some: a level-triggered
 * readable fd would otherwise spin the event loop. */
static void receive(struct virtio_net *n)
{
    struct virtio_dev *dev = &n->dev;
    v12n_error err = {0};
    for (;;) {
        int r = virtq_pop(&dev->queues[RX], dev->svc->mem, &n->elem, &err);
        if (r < 0) {
            virtio_dev_fail(dev, &err);
            break;
        }
        if (r == 0) {
            stop_watching(n);
            break;
        }
        if (n->elem.in_bytes < NET_HDR_BYTES) { /* unusable buffer: return it empty */
            virtq_push(&dev->queues[RX], n->elem.head, 0);
            continue;
        }
        ssize_t got = readv(n->tap_fd, n->elem.iov + n->elem.n_out, (int)n->elem.n_in);
        if (got < NET_HDR_BYTES) {
            virtq_unpop(&dev->queues[RX]);
            break; /* EAGAIN: the TAP is drained */
        }
        uint16_t one = 1; /* without MRG_RXBUF a frame fills one buffer chain */
        iov_from_buf(n->elem.iov + n->elem.n_out, n->elem.n_in, NUM_BUFFERS_OFFSET, &one, 2);
        virtq_push(&dev->queues[RX], n->elem.head, (uint32_t)got);
    }
    virtio_dev_signal_used(dev, RX);
}

static void rx_ready(void *arg)
{
    struct virtio_net *n = arg;
    pthread_mutex_lock(&n->dev.lock);
    if (virtio_dev_running(&n->dev))
        receive(n);
    else
        stop_watching(n);
    pthread_mutex_unlock(&n->dev.lock);
}

static void net_notify(struct virtio_dev *dev, unsigned q)
{
    struct virtio_net *n = (struct virtio_net *)dev;
    if (q == TX)
        transmit(n);
    else if (q == RX)
        start_watching(n); /* new receive buffers */
}

static void net_activate(struct virtio_dev *dev)
{
    start_watching((struct virtio_net *)dev);
}

static void net_reset(struct virtio_dev *dev)
{
    stop_watching((struct virtio_net *)dev);
}

static void net_destroy(struct virtio_dev *dev)
{
    struct virtio_net *n = (struct virtio_net *)dev;
    stop_watching(n);
    if (n->own_fd && n->tap_fd >= 0)
        close(n->tap_fd);
}

static const struct virtio_dev_ops net_ops = {
    .notify = net_notify, .activate = net_activate, .reset = net_reset, .destroy = net_destroy};

/* TUNSETIFF would create a missing interface: check it exists first, so a
 * typo is an error rather than a new, unconnected TAP. */
static int open_tap(struct virtio_net *n, const char *name, v12n_error *err)
{
    if (strlen(name) >= IFNAMSIZ)
        return v12n_fail(err, EINVAL, "tap %s: name longer than %d bytes", name, IFNAMSIZ - 1);
    if (if_nametoindex(name) == 0)
        return v12n_fail(err, ENODEV, "tap %s: no such network interface", name);
    n->tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (n->tap_fd < 0)
        return v12n_fail_errno(err, "tap %s: open /dev/net/tun", name);
    n->own_fd = true;
    struct ifreq ifr = {0};
    memcpy(ifr.ifr_name, name, strlen(name));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (ioctl(n->tap_fd, TUNSETIFF, &ifr) < 0)
        return v12n_fail_errno(err, "tap %s: attach (is it a TAP, and free?)", name);
    int hdr = NET_HDR_BYTES;
    if (ioctl(n->tap_fd, TUNSETVNETHDRSZ, &hdr) < 0)
        return v12n_fail_errno(err, "tap %s: set the virtio header size", name);
    if (ioctl(n->tap_fd, TUNSETOFFLOAD, 0) < 0)
        return v12n_fail_errno(err, "tap %s: disable offloads", name);
    return 0;
}

static int set_mac(struct virtio_net *n, const struct virtio_net_opts *opts, v12n_error *err)
{
    if (opts->mac_set) {
        memcpy(n->config.mac, opts->mac, 6);
        return 0;
    }
    if (getrandom(n->config.mac, 6, 0) != 6)
        return v12n_fail_errno(err, "virtio-net: random MAC address");
    n->config.mac[0] = (uint8_t)((n->config.mac[0] & 0xfe) | 0x02); /* unicast, local */
    return 0;
}

struct virtio_dev *virtio_net_create(const struct virtio_net_opts *opts, struct vmm_services *svc,
                                     v12n_error *err)
{
    struct virtio_net *n = calloc(1, sizeof(*n));
    if (!n) {
        v12n_fail(err, ENOMEM, "virtio-net: allocate device");
        return NULL;
    }
    virtio_dev_init(&n->dev, "virtio-net", VIRTIO_ID_NET, 2, &net_ops, svc);
    n->tap_fd = opts->tap_fd;
    int r = opts->tap_fd >= 0 ? 0 : open_tap(n, opts->tap ? opts->tap : "", err);
    if (r == 0)
        r = set_mac(n, opts, err);
    if (r < 0) {
        virtio_dev_destroy(&n->dev);
        return NULL;
    }
    n->config.status = VIRTIO_NET_S_LINK_UP;
    n->config.max_virtqueue_pairs = 1;
    n->dev.config = (uint8_t *)&n->config;
    n->dev.config_len = sizeof(n->config);
    n->dev.host_features = 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS;
    return &n->dev;
}
