/* Split virtqueues (virtio 1.x, section 2.7): the device side.
 *
 * The rings live in guest memory and the guest may rewrite them at any
 * moment, from another vCPU.  Every ring and buffer address goes through
 * guest_mem; the walker refuses a chain that loops, is longer than the queue
 * (or its indirect table), nests indirect tables, mixes readable after
 * writable buffers or adds up to more than VIRTQ_MAX_CHAIN_BYTES.  A refused
 * chain is a broken driver: the caller marks the device NEEDS_RESET rather
 * than guessing. */
#ifndef V12N_VMM_VIRTIO_QUEUE_H
#define V12N_VMM_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/error.h"
#include "vmm/guest_mem.h"

#define VIRTQ_MAX_SIZE        256 /* QueueNumMax we offer */
#define VIRTQ_MAX_SEGS        512 /* buffers in one chain, indirect included */
#define VIRTQ_MAX_CHAIN_BYTES (64u << 20)

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4

#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct virtq_used_elem {
    uint32_t id;
    uint32_t len;
};

struct virtq {
    /* Set by the driver through the transport while the queue is not ready. */
    uint16_t size;
    uint64_t desc_gpa, avail_gpa, used_gpa;
    bool ready;
    bool event_idx; /* VIRTIO_F_RING_EVENT_IDX negotiated */
    bool indirect;  /* VIRTIO_F_RING_INDIRECT_DESC negotiated */
    /* Host views of the rings, checked once when the queue becomes ready:
     * guest memory never moves while the VM runs. */
    struct virtq_desc *desc;
    volatile uint16_t *avail; /* flags, idx, ring[size], used_event */
    volatile uint16_t *used;  /* flags, idx, then elems; avail_event after */
    uint16_t last_avail;      /* next available entry we will take */
    uint16_t used_idx;        /* next used entry we will write */
    uint16_t signalled_used;  /* used_idx at the last interrupt (EVENT_IDX) */
    bool signalled_valid;
};

/* One popped chain: iov[0..n_out) the device reads, iov[n_out..n_out+n_in)
 * the device writes.  Zero-length buffers are skipped. */
struct virtq_elem {
    uint16_t head;
    unsigned n_out, n_in;
    uint64_t out_bytes, in_bytes;
    struct iovec iov[VIRTQ_MAX_SEGS];
};

/* Check the driver's ring addresses (size a power of two up to
 * VIRTQ_MAX_SIZE, alignment 16/2/4, all within guest memory) and map them;
 * the queue is ready on success. */
int virtq_activate(struct virtq *q, const struct guest_mem *mem, v12n_error *err);
void virtq_reset(struct virtq *q);

/* 1 with a chain in *elem, 0 when the ring is empty, -1 when the driver
 * broke the ring or the chain. */
int virtq_pop(struct virtq *q, const struct guest_mem *mem, struct virtq_elem *elem,
              v12n_error *err);
/* Give back the chain just popped (no data for it yet, e.g. rx). */
void virtq_unpop(struct virtq *q);
/* Return a chain to the driver with `len` bytes written into it. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/* Whether the driver wants an interrupt for what was pushed since the last
 * one (its NO_INTERRUPT flag, or used_event with EVENT_IDX). */
bool virtq_should_signal(struct virtq *q);
/* Whether the ring holds chains we have not taken. */
bool virtq_has_avail(const struct virtq *q);

#endif
