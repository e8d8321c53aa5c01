/* Guest physical memory: the only way VMM and device code reach guest RAM.
 *
 * The guest is hostile: every address and length it hands us (descriptor
 * tables, buffers, boot parameters it may rewrite) is checked here, once,
 * with overflow-safe arithmetic, before a host pointer exists.  Nothing
 * else in src/lib/vmm dereferences a guest physical address.
 *
 * Memory is a small, fixed set of regions (below and above the 32-bit MMIO
 * hole), each one anonymous mmap, registered with KVM by the VM code.  A
 * range must lie within one region: a buffer straddling two regions or the
 * hole is refused (guests do not need that, and it keeps callers simple). */
#ifndef V12N_VMM_GUEST_MEM_H
#define V12N_VMM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define GUEST_MEM_MAX_REGIONS 4

struct guest_mem_region {
    uint64_t gpa;  /* guest physical start */
    uint64_t size; /* bytes */
    uint8_t *host; /* host mapping of gpa */
};

struct guest_mem {
    struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
    unsigned n_regions;
    uint64_t total; /* sum of the regions' sizes */
    bool owned;     /* mapped by guest_mem_init, unmapped by guest_mem_destroy */
};

/* Lay out `size` bytes of RAM: one region from 0, or two around the MMIO
 * hole [hole_start, 4 GiB) when size exceeds hole_start.  Maps anonymous,
 * private memory (MAP_NORESERVE); fails with ENOMEM naming the size when the
 * host cannot give it. */
int guest_mem_init(struct guest_mem *m, uint64_t size, uint64_t hole_start, v12n_error *err);
/* Wrap caller-owned buffers (tests, fuzzers): no mapping is made or freed. */
void guest_mem_init_static(struct guest_mem *m, const struct guest_mem_region *regions, unsigned n);
void guest_mem_destroy(struct guest_mem *m);

/* A host pointer to [gpa, gpa+len) when the whole range lies in one region,
 * else NULL.  len 0 is allowed (checks gpa only). */
void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);
bool guest_mem_valid(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Copies in and out; -1 with an error naming the range when out of bounds. */
int guest_mem_read(const struct guest_mem *m, uint64_t gpa, void *dst, size_t len, v12n_error *err);
int guest_mem_write(const struct guest_mem *m, uint64_t gpa, const void *src, size_t len,
                    v12n_error *err);

#endif
