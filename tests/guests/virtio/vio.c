#include "vio.h"

#define R_MAGIC         (0x000 / 4)
#define R_VERSION       (0x004 / 4)
#define R_DEVICE_ID     (0x008 / 4)
#define R_DEV_FEATURES  (0x010 / 4)
#define R_DEV_FEAT_SEL  (0x014 / 4)
#define R_DRV_FEATURES  (0x020 / 4)
#define R_DRV_FEAT_SEL  (0x024 / 4)
#define R_QUEUE_SEL     (0x030 / 4)
#define R_QUEUE_NUM_MAX (0x034 / 4)
#define R_QUEUE_NUM     (0x038 / 4)
#define R_QUEUE_READY   (0x044 / 4)
#define R_QUEUE_NOTIFY  (0x050 / 4)
#define R_STATUS        (0x070 / 4)
#define R_DESC_LO       (0x080 / 4)
#define R_DESC_HI       (0x084 / 4)
#define R_DRIVER_LO     (0x090 / 4)
#define R_DRIVER_HI     (0x094 / 4)
#define R_DEVICE_LO     (0x0a0 / 4)
#define R_DEVICE_HI     (0x0a4 / 4)

#define S_ACK         1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64
#define S_FAILED      128

#define VERSION_1 (1ull << 32)

#ifdef VIO_HOSTED
static uint32_t rd(uintptr_t base, unsigned reg)
{
    return vio_hosted_read(base + 4 * reg, 4);
}
static void wr(uintptr_t base, unsigned reg, uint32_t v)
{
    vio_hosted_write(base + 4 * reg, v);
}
uint8_t vio_config8(struct vio_dev *d, unsigned off)
{
    return (uint8_t)vio_hosted_read(d->base + 0x100 + off, 1);
}
#else
static uint32_t rd(uintptr_t base, unsigned reg)
{
    return ((volatile uint32_t *)base)[reg];
}
static void wr(uintptr_t base, unsigned reg, uint32_t v)
{
    ((volatile uint32_t *)base)[reg] = v;
}
uint8_t vio_config8(struct vio_dev *d, unsigned off)
{
    return ((volatile uint8_t *)d->base)[0x100 + off];
}
#endif

void vio_memset(void *p, int c, size_t n)
{
    volatile uint8_t *b = p;
    while (n--)
        *b++ = (uint8_t)c;
}

int vio_memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

void vio_memcpy(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n--)
        *d++ = *s++;
}

bool vio_find(struct vio_dev *d, uint32_t device_id, uint64_t features)
{
    for (unsigned i = 0; i < VIO_MMIO_SLOTS; i++) {
        uintptr_t r = VIO_MMIO_FIRST + i * VIO_MMIO_STEP;
        if (rd(r, R_MAGIC) != 0x74726976 || rd(r, R_VERSION) != 2 ||
            rd(r, R_DEVICE_ID) != device_id)
            continue;
        d->base = r;
        wr(r, R_STATUS, 0);
        wr(r, R_STATUS, S_ACK | S_DRIVER);
        wr(r, R_DEV_FEAT_SEL, 0);
        uint64_t offered = rd(r, R_DEV_FEATURES);
        wr(r, R_DEV_FEAT_SEL, 1);
        offered |= (uint64_t)rd(r, R_DEV_FEATURES) << 32;
        uint64_t want = (features | VERSION_1) & offered;
        wr(r, R_DRV_FEAT_SEL, 0);
        wr(r, R_DRV_FEATURES, (uint32_t)want);
        wr(r, R_DRV_FEAT_SEL, 1);
        wr(r, R_DRV_FEATURES, (uint32_t)(want >> 32));
        wr(r, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
        return (rd(r, R_STATUS) & S_FEATURES_OK) != 0;
    }
    return false;
}

bool vio_setup_queue(struct vio_dev *d, struct vio_queue *q, unsigned index)
{
    uintptr_t r = d->base;
    vio_memset(q, 0, sizeof(*q));
    q->index = index;
    wr(r, R_QUEUE_SEL, index);
    if (rd(r, R_QUEUE_NUM_MAX) < VIO_QSIZE)
        return false;
    wr(r, R_QUEUE_NUM, VIO_QSIZE);
    uint64_t desc = (uintptr_t)q->desc, avail = (uintptr_t)&q->avail, used = (uintptr_t)&q->used;
    wr(r, R_DESC_LO, (uint32_t)desc);
    wr(r, R_DESC_HI, (uint32_t)(desc >> 32));
    wr(r, R_DRIVER_LO, (uint32_t)avail);
    wr(r, R_DRIVER_HI, (uint32_t)(avail >> 32));
    wr(r, R_DEVICE_LO, (uint32_t)used);
    wr(r, R_DEVICE_HI, (uint32_t)(used >> 32));
    wr(r, R_QUEUE_READY, 1);
    return rd(r, R_QUEUE_READY) == 1;
}

bool vio_start(struct vio_dev *d)
{
    wr(d->base, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    return (rd(d->base, R_STATUS) & (S_FAILED | S_NEEDS_RESET)) == 0;
}

void vio_post(struct vio_dev *d, struct vio_queue *q, const struct vio_buf *bufs, unsigned n)
{
    uint16_t head = q->next_desc % VIO_QSIZE;
    for (unsigned i = 0; i < n; i++) {
        uint16_t idx = (uint16_t)((head + i) % VIO_QSIZE);
        q->desc[idx].addr = (uintptr_t)bufs[i].addr;
        q->desc[idx].len = bufs[i].len;
        q->desc[idx].flags = (uint16_t)((bufs[i].device_writes ? 2 : 0) | (i + 1 < n ? 1 : 0));
        q->desc[idx].next = (uint16_t)((idx + 1) % VIO_QSIZE);
    }
    q->next_desc = (uint16_t)(q->next_desc + n);
    q->avail.ring[q->avail.idx % VIO_QSIZE] = head;
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* descriptors before the index */
    __atomic_store_n(&q->avail.idx, (uint16_t)(q->avail.idx + 1), __ATOMIC_RELEASE);
    wr(d->base, R_QUEUE_NOTIFY, q->index);
}

long vio_wait(struct vio_queue *q, unsigned long spins)
{
    while (spins--) {
        if (__atomic_load_n(&q->used.idx, __ATOMIC_ACQUIRE) != q->last_used) {
            long len = q->used.ring[q->last_used % VIO_QSIZE].len;
            q->last_used++;
            return len;
        }
        __asm__ volatile("pause");
    }
    return -1;
}

long vio_transfer(struct vio_dev *d, struct vio_queue *q, const struct vio_buf *bufs, unsigned n,
                  unsigned long spins)
{
    vio_post(d, q, bufs, n);
    return vio_wait(q, spins);
}
