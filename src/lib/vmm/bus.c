#include "vmm/bus.h"

#include <errno.h>
#include <string.h>

void vmm_bus_init(struct vmm_bus *b, const char *name)
{
    memset(b, 0, sizeof(*b));
    b->name = name;
}

static bool overlaps(const struct vmm_bus_range *r, uint64_t base, uint64_t len)
{
    return base < r->base + r->len && r->base < base + len;
}

int vmm_bus_add(struct vmm_bus *b, uint64_t base, uint64_t len, const struct vmm_bus_ops *ops,
                void *opaque, const char *name, v12n_error *err)
{
    if (len == 0 || base + len < base)
        return v12n_fail(err, EINVAL, "%s bus: %s: invalid range 0x%llx+0x%llx", b->name, name,
                         (unsigned long long)base, (unsigned long long)len);
    if (b->n == VMM_BUS_MAX_RANGES)
        return v12n_fail(err, ENOSPC, "%s bus: %s: no room for another device", b->name, name);
    for (unsigned i = 0; i < b->n; i++)
        if (overlaps(&b->ranges[i], base, len))
            return v12n_fail(err, EEXIST, "%s bus: %s at 0x%llx overlaps %s", b->name, name,
                             (unsigned long long)base, b->ranges[i].name);
    b->ranges[b->n++] = (struct vmm_bus_range){
        .base = base, .len = len, .ops = ops, .opaque = opaque, .name = name};
    return 0;
}

bool vmm_bus_dispatch(const struct vmm_bus *b, uint64_t addr, uint8_t *data, unsigned len,
                      bool is_write)
{
    for (unsigned i = 0; i < b->n; i++) {
        const struct vmm_bus_range *r = &b->ranges[i];
        if (addr < r->base || addr - r->base >= r->len || len > r->len - (addr - r->base))
            continue;
        if (is_write) {
            if (r->ops->write)
                r->ops->write(r->opaque, addr - r->base, data, len);
        } else {
            memset(data, 0, len);
            if (r->ops->read)
                r->ops->read(r->opaque, addr - r->base, data, len);
        }
        return true;
    }
    return false;
}
