#include "vmm/guest_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define GIB      (1ull << 30)
#define FOUR_GIB (4ull * GIB)

static int map_region(struct guest_mem *m, uint64_t gpa, uint64_t size, v12n_error *err)
{
    void *host = mmap(NULL, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (host == MAP_FAILED)
        return v12n_fail_errno(err, "guest memory: map %llu MiB at 0x%llx",
                               (unsigned long long)(size >> 20), (unsigned long long)gpa);
    /* Guest RAM in a core dump of the VMM is the guest's data, not ours. */
    (void)madvise(host, size, MADV_DONTDUMP);
    m->regions[m->n_regions++] = (struct guest_mem_region){.gpa = gpa, .size = size, .host = host};
    m->total += size;
    return 0;
}

int guest_mem_init(struct guest_mem *m, uint64_t size, uint64_t hole_start, v12n_error *err)
{
    memset(m, 0, sizeof(*m));
    m->owned = true;
    if (size == 0 || hole_start == 0 || hole_start > FOUR_GIB)
        return v12n_fail(err, EINVAL, "guest memory: invalid size %llu or MMIO hole at 0x%llx",
                         (unsigned long long)size, (unsigned long long)hole_start);
    uint64_t low = size < hole_start ? size : hole_start;
    if (map_region(m, 0, low, err) < 0)
        return -1;
    if (size > low && map_region(m, FOUR_GIB, size - low, err) < 0) {
        guest_mem_destroy(m);
        return -1;
    }
    return 0;
}

void guest_mem_init_static(struct guest_mem *m, const struct guest_mem_region *regions, unsigned n)
{
    memset(m, 0, sizeof(*m));
    for (unsigned i = 0; i < n && i < GUEST_MEM_MAX_REGIONS; i++) {
        m->regions[i] = regions[i];
        m->total += regions[i].size;
    }
    m->n_regions = n < GUEST_MEM_MAX_REGIONS ? n : GUEST_MEM_MAX_REGIONS;
    m->owned = false; /* the caller's buffers: never unmapped here */
}

void guest_mem_destroy(struct guest_mem *m)
{
    for (unsigned i = 0; m->owned && i < m->n_regions; i++)
        if (m->regions[i].host)
            munmap(m->regions[i].host, m->regions[i].size);
    memset(m, 0, sizeof(*m));
}

void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < m->n_regions; i++) {
        const struct guest_mem_region *r = &m->regions[i];
        if (gpa < r->gpa)
            continue;
        uint64_t off = gpa - r->gpa;
        /* off < size and len <= size - off: no addition that can wrap. */
        if (off < r->size && len <= r->size - off)
            return r->host + off;
        if (off == r->size && len == 0)
            return r->host + off;
    }
    return NULL;
}

bool guest_mem_valid(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
    return guest_mem_ptr(m, gpa, len) != NULL;
}

int guest_mem_read(const struct guest_mem *m, uint64_t gpa, void *dst, size_t len, v12n_error *err)
{
    const void *src = guest_mem_ptr(m, gpa, len);
    if (!src)
        return v12n_fail(err, EFAULT, "guest memory: read of %zu bytes at 0x%llx is out of bounds",
                         len, (unsigned long long)gpa);
    memcpy(dst, src, len);
    return 0;
}

int guest_mem_write(const struct guest_mem *m, uint64_t gpa, const void *src, size_t len,
                    v12n_error *err)
{
    void *dst = guest_mem_ptr(m, gpa, len);
    if (!dst)
        return v12n_fail(err, EFAULT, "guest memory: write of %zu bytes at 0x%llx is out of bounds",
                         len, (unsigned long long)gpa);
    memcpy(dst, src, len);
    return 0;
}
