/* virtio-blk (virtio 1.x, 5.2) over a raw image file. */
#include "vmm/virtio/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/virtio/iov.h"

#define SECTOR 512u

#define VIRTIO_BLK_F_RO      5
#define VIRTIO_BLK_F_FLUSH   9
#define VIRTIO_BLK_F_DISCARD 13

#define VIRTIO_BLK_T_IN      0
#define VIRTIO_BLK_T_OUT     1
#define VIRTIO_BLK_T_FLUSH   4
#define VIRTIO_BLK_T_GET_ID  8
#define VIRTIO_BLK_T_DISCARD 11

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define BLK_ID_BYTES         20
#define MAX_DISCARD_SEGMENTS 32
#define MAX_DISCARD_SECTORS  (1u << 22)

struct blk_config {
    uint64_t capacity;
    uint32_t size_max, seg_max;
    uint8_t geometry[4];
    uint32_t blk_size;
    uint8_t topology[8];
    uint8_t writeback, unused0;
    uint16_t num_queues;
    uint32_t max_discard_sectors, max_discard_seg, discard_sector_alignment;
    uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
    uint8_t write_zeroes_may_unmap, unused1[3];
} __attribute__((packed));

struct blk_req_header {
    uint32_t type, reserved;
    uint64_t sector;
};

struct blk_discard_segment {
    uint64_t sector;
    uint32_t num_sectors, flags;
};

struct virtio_blk {
    struct virtio_dev dev; /* first: virtio_dev_destroy frees the whole */
    int fd;
    bool read_only;
    uint64_t sectors;
    char id[BLK_ID_BYTES];
    struct blk_config config;
    struct virtq_elem elem; /* one request at a time, under dev.lock */
    struct iovec data[VIRTQ_MAX_SEGS];
};

/* Whether [sector, sector + bytes/512) is on the disk, without overflow. */
static bool in_disk(const struct virtio_blk *b, uint64_t sector, uint64_t bytes)
{
    return bytes % SECTOR == 0 && sector <= b->sectors && bytes / SECTOR <= b->sectors - sector;
}

static uint8_t do_rw(struct virtio_blk *b, const struct blk_req_header *h, uint32_t *written)
{
    struct virtq_elem *e = &b->elem;
    bool in = h->type == VIRTIO_BLK_T_IN;
    /* Reads land in the writable part before the status byte; writes come
     * from the readable part after the header. */
    uint64_t len = in ? e->in_bytes - 1 : e->out_bytes - sizeof(*h);
    if (!in && b->read_only)
        return VIRTIO_BLK_S_IOERR;
    if (!in_disk(b, h->sector, len))
        return VIRTIO_BLK_S_IOERR;
    const struct iovec *src = in ? e->iov + e->n_out : e->iov;
    unsigned n_src = in ? e->n_in : e->n_out;
    int n = iov_slice(src, n_src, in ? 0 : sizeof(*h), len, b->data, VIRTQ_MAX_SEGS);
    if (n < 0)
        return VIRTIO_BLK_S_IOERR;
    off_t off = (off_t)(h->sector * SECTOR);
    ssize_t r = len == 0 ? 0
                : in     ? preadv(b->fd, b->data, n, off)
                         : pwritev(b->fd, b->data, n, off);
    if (r < 0 || (uint64_t)r != len)
        return VIRTIO_BLK_S_IOERR;
    if (in)
        *written = (uint32_t)len;
    return VIRTIO_BLK_S_OK;
}

static uint8_t do_get_id(struct virtio_blk *b, uint32_t *written)
{
    struct virtq_elem *e = &b->elem;
    size_t room = e->in_bytes - 1 < BLK_ID_BYTES ? e->in_bytes - 1 : BLK_ID_BYTES;
    *written = (uint32_t)iov_from_buf(e->iov + e->n_out, e->n_in, 0, b->id, room);
    return VIRTIO_BLK_S_OK;
}

static uint8_t do_discard(struct virtio_blk *b, const struct blk_req_header *h)
{
    struct virtq_elem *e = &b->elem;
    uint64_t bytes = e->out_bytes - sizeof(*h);
    if (b->read_only)
        return VIRTIO_BLK_S_IOERR;
    if (bytes % sizeof(struct blk_discard_segment) != 0 ||
        bytes / sizeof(struct blk_discard_segment) > MAX_DISCARD_SEGMENTS)
        return VIRTIO_BLK_S_UNSUPP;
    for (uint64_t off = sizeof(*h); off < e->out_bytes; off += sizeof(struct blk_discard_segment)) {
        struct blk_discard_segment s;
        iov_to_buf(e->iov, e->n_out, off, &s, sizeof(s));
        if (s.flags != 0 || s.num_sectors > MAX_DISCARD_SECTORS)
            return VIRTIO_BLK_S_UNSUPP;
        if (!in_disk(b, s.sector, (uint64_t)s.num_sectors * SECTOR))
            return VIRTIO_BLK_S_IOERR;
        if (s.num_sectors &&
            fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(s.sector * SECTOR),
                      (off_t)s.num_sectors * SECTOR) < 0)
            return VIRTIO_BLK_S_IOERR;
    }
    return VIRTIO_BLK_S_OK;
}

/* One request: header, data, status byte.  A malformed request fails with an
 * error status; only a broken ring stops the device. */
static uint32_t handle_request(struct virtio_blk *b)
{
    struct virtq_elem *e = &b->elem;
    struct blk_req_header h;
    if (e->in_bytes == 0)
        return 0; /* nowhere to put a status: the driver gets nothing back */
    uint8_t status = VIRTIO_BLK_S_IOERR;
    uint32_t written = 0;
    if (iov_to_buf(e->iov, e->n_out, 0, &h, sizeof(h)) == sizeof(h)) {
        switch (h.type) {
        case VIRTIO_BLK_T_IN:
        case VIRTIO_BLK_T_OUT:
            status = do_rw(b, &h, &written);
            break;
        case VIRTIO_BLK_T_FLUSH:
            status = fdatasync(b->fd) == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
            break;
        case VIRTIO_BLK_T_GET_ID:
            status = do_get_id(b, &written);
            break;
        case VIRTIO_BLK_T_DISCARD:
            status = do_discard(b, &h);
            break;
        default:
            status = VIRTIO_BLK_S_UNSUPP;
        }
    }
    iov_from_buf(e->iov + e->n_out, e->n_in, e->in_bytes - 1, &status, 1);
    return written + 1;
}

static void blk_notify(struct virtio_dev *dev, unsigned q)
{
    struct virtio_blk *b = (struct virtio_blk *)dev;
    v12n_error err = {0};
    int r;
    while ((r = virtq_pop(&dev->queues[q], dev->svc->mem, &b->elem, &err)) > 0)
        virtq_push(&dev->queues[q], b->elem.head, handle_request(b));
    if (r < 0)
        virtio_dev_fail(dev, &err);
    virtio_dev_signal_used(dev, q);
}

static void blk_destroy(struct virtio_dev *dev)
{
    struct virtio_blk *b = (struct virtio_blk *)dev;
    if (b->fd >= 0)
        close(b->fd);
}

static const struct virtio_dev_ops blk_ops = {.notify = blk_notify, .destroy = blk_destroy};

static void set_config(struct virtio_blk *b)
{
    b->config.capacity = b->sectors;
    b->config.num_queues = 1;
    b->config.max_discard_sectors = MAX_DISCARD_SECTORS;
    b->config.max_discard_seg = MAX_DISCARD_SEGMENTS;
    b->config.discard_sector_alignment = 1;
    b->dev.config = (uint8_t *)&b->config;
    b->dev.config_len = sizeof(b->config);
    b->dev.host_features = 1ull << VIRTIO_BLK_F_FLUSH;
    if (b->read_only)
        b->dev.host_features |= 1ull << VIRTIO_BLK_F_RO;
    else
        b->dev.host_features |= 1ull << VIRTIO_BLK_F_DISCARD;
}

static int open_image(struct virtio_blk *b, const char *path, v12n_error *err)
{
    b->fd = open(path, (b->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (b->fd < 0)
        return v12n_fail_errno(err, "disk %s: open", path);
    struct stat st;
    if (fstat(b->fd, &st) < 0)
        return v12n_fail_errno(err, "disk %s: stat", path);
    if (!S_ISREG(st.st_mode))
        return v12n_fail(err, EINVAL, "disk %s: not a regular file", path);
    b->sectors = (uint64_t)st.st_size / SECTOR;
    return 0;
}

struct virtio_dev *virtio_blk_create(const struct virtio_blk_opts *opts, struct vmm_services *svc,
                                     v12n_error *err)
{
    struct virtio_blk *b = calloc(1, sizeof(*b));
    if (!b) {
        v12n_fail(err, ENOMEM, "disk %s: allocate device", opts->path);
        return NULL;
    }
    virtio_dev_init(&b->dev, "virtio-blk", VIRTIO_ID_BLOCK, 1, &blk_ops, svc);
    b->read_only = opts->read_only;
    if (open_image(b, opts->path, err) < 0) {
        virtio_dev_destroy(&b->dev);
        return NULL;
    }
    char copy[4096];
    snprintf(copy, sizeof(copy), "%s", opts->path);
    const char *serial = opts->serial ? opts->serial : basename(copy);
    /* Up to 20 bytes, not NUL-terminated when that long (virtio 1.x, 5.2.6). */
    size_t id_len = strlen(serial);
    memcpy(b->id, serial, id_len < BLK_ID_BYTES ? id_len : BLK_ID_BYTES);
    set_config(b);
    return &b->dev;
}
