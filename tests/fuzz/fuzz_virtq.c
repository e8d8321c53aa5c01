/* The split-virtqueue walker on hostile rings: byte 0 picks the queue size
 * and features, the rest is guest RAM holding the rings and indirect tables.
 * Every chain popped must lie within guest RAM and respect the limits. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/guest_mem.h"
#include "vmm/virtio/queue.h"

#define RAM 0x10000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static _Alignas(4096) uint8_t ram[RAM];
static struct virtq_elem elem;

static bool within_ram(const struct iovec *v)
{
    uintptr_t p = (uintptr_t)v->iov_base, base = (uintptr_t)ram;
    return p >= base && v->iov_len <= RAM && p - base <= RAM - v->iov_len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    memset(ram, 0, sizeof(ram));
    memcpy(ram, data + 1, size - 1 < RAM ? size - 1 : RAM);
    struct guest_mem mem;
    struct guest_mem_region r = {.gpa = 0x1000, .size = RAM - 0x1000, .host = ram + 0x1000};
    guest_mem_init_static(&mem, &r, 1);
    struct virtq q;
    virtq_reset(&q);
    q.size = (uint16_t)(1u << (data[0] & 7)) + (data[0] & 0x80 ? 1 : 0); /* some invalid */
    q.indirect = data[0] & 8;
    q.event_idx = data[0] & 16;
    q.desc_gpa = 0x1000;
    q.avail_gpa = 0x1000 + 16ull * q.size + (data[0] & 32 ? 1 : 0);
    q.used_gpa = 0x3000;
    v12n_error err = {0};
    if (virtq_activate(&q, &mem, &err) < 0) {
        if (err.msg[0] == '\0')
            abort(); /* a refusal always says why */
        return 0;
    }
    for (unsigned rounds = 0; rounds < 2; rounds++) {
        int got;
        unsigned popped = 0;
        while ((got = virtq_pop(&q, &mem, &elem, &err)) > 0) {
            if (++popped > q.size || elem.n_out + elem.n_in > VIRTQ_MAX_SEGS ||
                elem.out_bytes + elem.in_bytes > VIRTQ_MAX_CHAIN_BYTES)
                abort();
            for (unsigned i = 0; i < elem.n_out + elem.n_in; i++)
                if (!within_ram(&elem.iov[i]) || elem.iov[i].iov_base < (void *)(ram + 0x1000))
                    abort();
            virtq_push(&q, elem.head, (uint32_t)elem.in_bytes);
            (void)virtq_should_signal(&q);
        }
        if (got < 0 && err.msg[0] == '\0')
            abort();
        if (got < 0)
            break;
    }
    return 0;
}
