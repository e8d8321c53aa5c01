/* The device side of a split virtqueue.  x86 is little-endian like virtio
 * 1.x, so ring fields are used as they are.  Ordering: the driver publishes
 * descriptors, then the ring entry, then avail->idx; we load idx with
 * acquire before anything it covers, and store used->idx with release after
 * the used entry. */
#include "vmm/virtio/queue.h"

#include <errno.h>
#include <string.h>

/* Offsets, in uint16_t units, within the avail and used rings. */
#define AVAIL_FLAGS 0
#define AVAIL_IDX   1
#define AVAIL_RING  2
#define USED_IDX    1
#define USED_RING   2

static uint64_t avail_bytes(uint16_t size)
{
    return 4 + 2ull * size + 2; /* flags, idx, ring, used_event */
}

static uint64_t used_bytes(uint16_t size)
{
    return 4 + 8ull * size + 2; /* flags, idx, ring, avail_event */
}

static bool aligned(uint64_t v, uint64_t a)
{
    return (v & (a - 1)) == 0;
}

int virtq_activate(struct virtq *q, const struct guest_mem *mem, v12n_error *err)
{
    uint16_t n = q->size;
    if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)) != 0)
        return v12n_fail(err, EINVAL, "queue size %u is not a power of two up to %u", n,
                         VIRTQ_MAX_SIZE);
    if (!aligned(q->desc_gpa, 16) || !aligned(q->avail_gpa, 2) || !aligned(q->used_gpa, 4))
        return v12n_fail(err, EINVAL,
                         "misaligned rings: descriptors 0x%llx, available 0x%llx, used 0x%llx",
                         (unsigned long long)q->desc_gpa, (unsigned long long)q->avail_gpa,
                         (unsigned long long)q->used_gpa);
    void *desc = guest_mem_ptr(mem, q->desc_gpa, 16ull * n);
    void *avail = guest_mem_ptr(mem, q->avail_gpa, avail_bytes(n));
    void *used = guest_mem_ptr(mem, q->used_gpa, used_bytes(n));
    if (!desc || !avail || !used)
        return v12n_fail(err, EFAULT,
                         "rings outside guest memory: descriptors 0x%llx, "
                         "available 0x%llx, used 0x%llx",
                         (unsigned long long)q->desc_gpa, (unsigned long long)q->avail_gpa,
                         (unsigned long long)q->used_gpa);
    /* Host views must be aligned for the 16-bit index accesses. */
    if (!aligned((uintptr_t)avail, 2) || !aligned((uintptr_t)used, 4))
        return v12n_fail(err, EINVAL, "rings misaligned in host memory");
    q->desc = desc;
    q->avail = avail;
    q->used = used;
    q->last_avail = 0;
    q->used_idx = 0;
    q->signalled_valid = false;
    q->ready = true;
    return 0;
}

void virtq_reset(struct virtq *q)
{
    memset(q, 0, sizeof(*q));
}

static int add_buffer(struct virtq_elem *e, const struct guest_mem *mem, const struct virtq_desc *d,
                      v12n_error *err)
{
    bool writable = d->flags & VIRTQ_DESC_F_WRITE;
    if (!writable && e->n_in > 0)
        return v12n_fail(err, EINVAL, "readable buffer after a writable one");
    if (d->len == 0)
        return 0; /* nothing to move; harmless */
    if (e->n_out + e->n_in == VIRTQ_MAX_SEGS)
        return v12n_fail(err, E2BIG, "chain has more than %u buffers", VIRTQ_MAX_SEGS);
    uint64_t *total = writable ? &e->in_bytes : &e->out_bytes;
    if (e->in_bytes + e->out_bytes + d->len > VIRTQ_MAX_CHAIN_BYTES)
        return v12n_fail(err, E2BIG, "chain larger than %u bytes", VIRTQ_MAX_CHAIN_BYTES);
    void *p = guest_mem_ptr(mem, d->addr, d->len);
    if (!p)
        return v12n_fail(err, EFAULT, "buffer 0x%llx+%u outside guest memory",
                         (unsigned long long)d->addr, d->len);
    e->iov[e->n_out + e->n_in] = (struct iovec){.iov_base = p, .iov_len = d->len};
    if (writable)
        e->n_in++;
    else
        e->n_out++;
    *total += d->len;
    return 0;
}

/* Enter an indirect table: one level only, never chained onwards. */
static int enter_indirect(const struct virtq *q, const struct guest_mem *mem,
                          const struct virtq_desc *d, bool nested, const struct virtq_desc **table,
                          uint32_t *table_n, v12n_error *err)
{
    if (!q->indirect)
        return v12n_fail(err, EINVAL, "indirect descriptor without the negotiated feature");
    if (nested)
        return v12n_fail(err, EINVAL, "indirect descriptor inside an indirect table");
    if (d->flags & VIRTQ_DESC_F_NEXT)
        return v12n_fail(err, EINVAL, "indirect descriptor with the next flag");
    if (d->len == 0 || d->len % sizeof(struct virtq_desc) != 0 ||
        d->len / sizeof(struct virtq_desc) > VIRTQ_MAX_SEGS)
        return v12n_fail(err, EINVAL, "indirect table of %u bytes", d->len);
    *table = guest_mem_ptr(mem, d->addr, d->len);
    if (!*table)
        return v12n_fail(err, EFAULT, "indirect table 0x%llx+%u outside guest memory",
                         (unsigned long long)d->addr, d->len);
    *table_n = d->len / sizeof(struct virtq_desc);
    return 0;
}

static int walk_chain(const struct virtq *q, const struct guest_mem *mem, struct virtq_elem *e,
                      v12n_error *err)
{
    const struct virtq_desc *table = q->desc;
    uint32_t table_n = q->size, idx = e->head, seen = 0;
    bool in_indirect = false;
    for (;;) {
        /* More descriptors than the table holds means the chain loops. */
        if (++seen > table_n)
            return v12n_fail(err, ELOOP, "chain from %u loops or exceeds %u descriptors", e->head,
                             table_n);
        struct virtq_desc d;
        memcpy(&d, &table[idx], sizeof(d)); /* read once: the guest may change it */
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (enter_indirect(q, mem, &d, in_indirect, &table, &table_n, err) < 0)
                return -1;
            in_indirect = true;
            idx = 0;
            seen = 0;
            continue;
        }
        if (add_buffer(e, mem, &d, err) < 0)
            return -1;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return 0;
        idx = d.next;
        if (idx >= table_n)
            return v12n_fail(err, EINVAL, "next descriptor %u beyond a table of %u", idx, table_n);
    }
}

bool virtq_has_avail(const struct virtq *q)
{
    return q->ready && __atomic_load_n(&q->avail[AVAIL_IDX], __ATOMIC_ACQUIRE) != q->last_avail;
}

int virtq_pop(struct virtq *q, const struct guest_mem *mem, struct virtq_elem *elem,
              v12n_error *err)
{
    if (!q->ready)
        return 0;
    uint16_t avail_idx = __atomic_load_n(&q->avail[AVAIL_IDX], __ATOMIC_ACQUIRE);
    uint16_t pending = avail_idx - q->last_avail;
    if (pending == 0)
        return 0;
    if (pending > q->size)
        return v12n_fail(err, EINVAL, "available index %u is %u ahead of %u in a queue of %u",
                         avail_idx, pending, q->last_avail, q->size);
    uint16_t head = q->avail[AVAIL_RING + q->last_avail % q->size];
    if (head >= q->size)
        return v12n_fail(err, EINVAL, "head descriptor %u beyond a queue of %u", head, q->size);
    elem->head = head;
    elem->n_out = elem->n_in = 0;
    elem->out_bytes = elem->in_bytes = 0;
    if (walk_chain(q, mem, elem, err) < 0)
        return -1;
    q->last_avail++;
    /* avail_event: kick us again once past this entry.  Sequentially
     * consistent, so that our next load of avail->idx cannot pass it: else a
     * driver adding an entry in between could read the old avail_event, skip
     * the kick, and we would miss the entry. */
    if (q->event_idx)
        __atomic_store_n(&q->used[USED_RING + 4 * q->size], q->last_avail, __ATOMIC_SEQ_CST);
    return 1;
}

void virtq_unpop(struct virtq *q)
{
    q->last_avail--;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
    struct virtq_used_elem u = {.id = head, .len = len};
    uint8_t *ring = (uint8_t *)(uintptr_t)&q->used[USED_RING];
    memcpy(ring + sizeof(u) * (q->used_idx % q->size), &u, sizeof(u));
    q->used_idx++;
    __atomic_store_n(&q->used[USED_IDX], q->used_idx, __ATOMIC_RELEASE);
}

bool virtq_should_signal(struct virtq *q)
{
    /* Our used->idx store must be visible before we read the driver's wishes. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!q->event_idx)
        return !(q->avail[AVAIL_FLAGS] & VIRTQ_AVAIL_F_NO_INTERRUPT);
    uint16_t old = q->signalled_used, now = q->used_idx;
    bool valid = q->signalled_valid;
    q->signalled_used = now;
    q->signalled_valid = true;
    if (!valid)
        return true;
    uint16_t used_event = q->avail[AVAIL_RING + q->size];
    /* virtio 1.x 2.7.10: signal when used_event lies in (old, now]. */
    return (uint16_t)(now - used_event - 1) < (uint16_t)(now - old);
}
