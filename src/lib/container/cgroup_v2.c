/* cgroup v2 (the pure unified hierarchy, and hybrid's unified part): one
 * directory, controllers enabled from the top down, runc's conversions from
 * the v1-shaped values of the spec. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "container/cgroup_internal.h"
#include "util/cleanup.h"

#define FREEZE_TIMEOUT_MS  5000
#define DEFAULT_CPU_PERIOD 100000

static char *read_trimmed(const char *dir, const char *file, v12n_error *err)
{
    char *data = cg_read(dir, file, err);
    if (data != NULL)
        cg_trim(data);
    return data;
}

/* One ancestor: the controller must be offered there, then handed down. */
static int enable_in(const struct cgroup_dir *d, const char *ancestor, const char *controller,
                     v12n_error *err)
{
    auto_free char *avail = read_trimmed(ancestor, "cgroup.controllers", err);
    if (avail == NULL)
        return -1;
    if (!cg_word_in_list(avail, controller))
        return v12n_fail(err, ENOTSUP,
                         "cgroup %s: %s controller not available (cgroup.controllers: %s)", d->path,
                         controller, avail[0] != '\0' ? avail : "none");
    auto_free char *enabled = read_trimmed(ancestor, "cgroup.subtree_control", err);
    if (enabled == NULL)
        return -1;
    if (cg_word_in_list(enabled, controller))
        return 0;
    if (cg_writef(ancestor, "cgroup.subtree_control", err, "+%s", controller) < 0)
        return v12n_error_wrap(err, "cgroup %s: enable %s controller", d->path, controller);
    return 0;
}

int cgv2_enable_controller(const struct cgroup_dir *d, const char *controller, v12n_error *err)
{
    auto_free char *here = read_trimmed(d->path, "cgroup.controllers", err);
    if (here == NULL)
        return -1;
    if (cg_word_in_list(here, controller))
        return 0;
    auto_free char *buf = strdup(d->path);
    if (buf == NULL)
        return v12n_fail(err, ENOMEM, "cgroup %s: out of memory", d->path);
    /* From the mount down to the leaf's parent. */
    size_t len = strlen(buf), pos = strlen(d->mount);
    while (pos < len) {
        char saved = buf[pos];
        buf[pos] = '\0';
        int rc = enable_in(d, buf, controller, err);
        buf[pos] = saved;
        if (rc < 0)
            return -1;
        char *next = strchr(buf + pos + 1, '/');
        pos = next != NULL ? (size_t)(next - buf) : len;
    }
    return 0;
}

static int write_i64(const char *dir, const char *file, int64_t v, v12n_error *err)
{
    return cg_writef(dir, file, err, "%" PRId64, v);
}

/* v1 spelled "no limit" -1; v2 spells it "max". */
static int write_limit(const char *dir, const char *file, int64_t v, v12n_error *err)
{
    if (v == -1)
        return cg_write(dir, file, "max", err);
    return write_i64(dir, file, v, err);
}

/* runc's ConvertMemorySwapToCgroupV2Value: the spec's swap is memory+swap;
 * memory.swap.max is swap alone.  0 means "leave alone", -1 "max". */
static int swap_for_v2(const char *dir, int64_t swap, int64_t mem, int64_t *out, v12n_error *err)
{
    if (mem == -1 && swap == 0) {
        *out = -1;
        return 0;
    }
    if (swap == -1 || swap == 0) {
        *out = swap;
        return 0;
    }
    if (mem == 0 || mem == -1)
        return v12n_fail(err, EINVAL, "cgroup %s: a swap limit needs a memory limit", dir);
    if (mem < 0 || swap < mem)
        return v12n_fail(err, EINVAL,
                         "cgroup %s: memory+swap limit %" PRId64
                         " is below the memory limit %" PRId64,
                         dir, swap, mem);
    *out = swap - mem;
    return 0;
}

static int check_usage(const char *dir, int64_t mem, v12n_error *err)
{
    auto_free char *cur = read_trimmed(dir, "memory.current", err);
    if (cur == NULL)
        return -1;
    uint64_t usage = strtoull(cur, NULL, 10);
    if (mem > 0 && usage >= (uint64_t)mem)
        return v12n_fail(err, EBUSY,
                         "cgroup %s: memory limit %" PRId64 " is below the current usage %" PRIu64,
                         dir, mem, usage);
    return 0;
}

int cgv2_apply_memory(const struct cgroup_dir *d, const struct cgroup_resources *res,
                      v12n_error *err)
{
    if (res->memory.swappiness.set)
        return v12n_fail(err, ENOTSUP, "cgroup %s: memory.swappiness is not supported on cgroup v2",
                         d->path);
    if (res->memory.disable_oom_killer.set && res->memory.disable_oom_killer.v)
        return v12n_fail(err, ENOTSUP,
                         "cgroup %s: memory.disableOOMKiller is not supported on cgroup v2",
                         d->path);
    int64_t mem = res->memory.limit.set ? res->memory.limit.v : 0;
    int64_t low = res->memory.reservation.set ? res->memory.reservation.v : 0;
    int64_t swap = res->memory.swap.set ? res->memory.swap.v : 0;
    /* kernel and kernelTCP have no v2 file: ignored, as runc does. */
    if (mem == 0 && low == 0 && swap == 0)
        return 0;
    if (cgv2_enable_controller(d, "memory", err) < 0)
        return -1;
    if (res->memory.check_before_update && check_usage(d->path, mem, err) < 0)
        return -1;
    int64_t swap_max = 0;
    if (swap_for_v2(d->path, swap, mem, &swap_max, err) < 0)
        return -1;
    /* swap == mem asks for no swap at all: write 0, not "leave alone". */
    bool write_swap = swap_max != 0 || (swap > 0 && swap == mem);
    if (write_swap && cg_has_file(d->path, "memory.swap.max") &&
        write_limit(d->path, "memory.swap.max", swap_max, err) < 0)
        return -1;
    if (mem != 0 && write_limit(d->path, "memory.max", mem, err) < 0)
        return -1;
    if (low != 0 && write_limit(d->path, "memory.low", low, err) < 0)
        return -1;
    return 0;
}

/* runc's mapping of cpu.shares [2, 262144] onto cpu.weight [1, 10000]. */
static uint64_t shares_to_weight(uint64_t shares)
{
    if (shares < 2)
        shares = 2;
    if (shares > 262144)
        shares = 262144;
    return 1 + ((shares - 2) * 9999) / 262142;
}

int cgv2_apply_cpu(const struct cgroup_dir *d, const struct cgroup_resources *res, v12n_error *err)
{
    if ((res->cpu.rt_runtime.set && res->cpu.rt_runtime.v != 0) ||
        (res->cpu.rt_period.set && res->cpu.rt_period.v != 0))
        return v12n_fail(
            err, ENOTSUP,
            "cgroup %s: cpu.realtimeRuntime/realtimePeriod are not supported on cgroup v2",
            d->path);
    bool weight = res->cpu.shares.set && res->cpu.shares.v != 0;
    bool max = (res->cpu.quota.set && res->cpu.quota.v != 0) ||
               (res->cpu.period.set && res->cpu.period.v != 0);
    if (!weight && !max && !res->cpu.burst.set && !res->cpu.idle.set)
        return 0;
    if (cgv2_enable_controller(d, "cpu", err) < 0)
        return -1;
    if (weight &&
        cg_writef(d->path, "cpu.weight", err, "%" PRIu64, shares_to_weight(res->cpu.shares.v)) < 0)
        return -1;
    if (max) {
        char quota[32] = "max";
        if (res->cpu.quota.set && res->cpu.quota.v > 0)
            snprintf(quota, sizeof quota, "%" PRId64, res->cpu.quota.v);
        uint64_t period =
            res->cpu.period.set && res->cpu.period.v != 0 ? res->cpu.period.v : DEFAULT_CPU_PERIOD;
        if (cg_writef(d->path, "cpu.max", err, "%s %" PRIu64, quota, period) < 0)
            return -1;
    }
    if (res->cpu.burst.set &&
        cg_writef(d->path, "cpu.max.burst", err, "%" PRIu64, res->cpu.burst.v) < 0)
        return -1;
    if (res->cpu.idle.set && write_i64(d->path, "cpu.idle", res->cpu.idle.v, err) < 0)
        return -1;
    return 0;
}

int cgv2_apply_cpuset(const struct cgroup_dir *d, const struct cgroup_resources *res,
                      v12n_error *err)
{
    if (!cg_wants_cpuset(res))
        return 0;
    if (cgv2_enable_controller(d, "cpuset", err) < 0)
        return -1;
    if (res->cpu.cpus != NULL && cg_write(d->path, "cpuset.cpus", res->cpu.cpus, err) < 0)
        return -1;
    if (res->cpu.mems != NULL && cg_write(d->path, "cpuset.mems", res->cpu.mems, err) < 0)
        return -1;
    return 0;
}

int cgv2_apply_pids(const struct cgroup_dir *d, const struct cgroup_resources *res, v12n_error *err)
{
    if (!cg_wants_pids(res))
        return 0;
    if (cgv2_enable_controller(d, "pids", err) < 0)
        return -1;
    if (res->pids_limit.v < 0)
        return cg_write(d->path, "pids.max", "max", err);
    return write_i64(d->path, "pids.max", res->pids_limit.v, err);
}

/* runc's mapping of blkio weight [10, 1000] onto io.weight [1, 10000]. */
static uint64_t blkio_to_io_weight(uint64_t weight)
{
    return 1 + (weight - 10) * 9999 / 990;
}

static int apply_io_weights(const struct cgroup_dir *d, const struct cgroup_resources *res,
                            v12n_error *err)
{
    /* BFQ takes the v1 scale as is; io.weight needs converting. */
    bool bfq = cg_has_file(d->path, "io.bfq.weight");
    const char *file = bfq ? "io.bfq.weight" : "io.weight";
    if (res->blkio.weight.set) {
        uint64_t w = bfq ? res->blkio.weight.v : blkio_to_io_weight(res->blkio.weight.v);
        if (cg_writef(d->path, file, err, "%" PRIu64, w) < 0)
            return -1;
    }
    for (size_t i = 0; i < res->blkio.n_weight_devices; i++) {
        const struct cg_weight_device *wd = &res->blkio.weight_devices[i];
        if (wd->leaf_weight.set)
            return v12n_fail(
                err, ENOTSUP,
                "cgroup %s: blockIO.weightDevice leafWeight is not supported on cgroup v2",
                d->path);
        if (!wd->weight.set)
            continue;
        uint64_t w = bfq ? wd->weight.v : blkio_to_io_weight(wd->weight.v);
        if (cg_writef(d->path, file, err, "%" PRId64 ":%" PRId64 " %" PRIu64, wd->major, wd->minor,
                      w) < 0)
            return -1;
    }
    return 0;
}

int cgv2_apply_io(const struct cgroup_dir *d, const struct cgroup_resources *res, v12n_error *err)
{
    static const char *const keys[CG_THROTTLE_COUNT] = {
        [CG_THROTTLE_READ_BPS] = "rbps",
        [CG_THROTTLE_WRITE_BPS] = "wbps",
        [CG_THROTTLE_READ_IOPS] = "riops",
        [CG_THROTTLE_WRITE_IOPS] = "wiops",
    };
    if (!cg_wants_blkio(res))
        return 0;
    if (res->blkio.leaf_weight.set)
        return v12n_fail(err, ENOTSUP,
                         "cgroup %s: blockIO.leafWeight is not supported on cgroup v2", d->path);
    if (cgv2_enable_controller(d, "io", err) < 0 || apply_io_weights(d, res, err) < 0)
        return -1;
    for (int k = 0; k < CG_THROTTLE_COUNT; k++) {
        for (size_t i = 0; i < res->blkio.n_throttle[k]; i++) {
            const struct cg_throttle *t = &res->blkio.throttle[k][i];
            if (cg_writef(d->path, "io.max", err, "%" PRId64 ":%" PRId64 " %s=%" PRIu64, t->major,
                          t->minor, keys[k], t->rate) < 0)
                return -1;
        }
    }
    return 0;
}

int cgv2_apply_hugetlb(const struct cgroup_dir *d, const struct cgroup_resources *res,
                       v12n_error *err)
{
    if (res->n_hugepages == 0)
        return 0;
    if (cgv2_enable_controller(d, "hugetlb", err) < 0)
        return -1;
    for (size_t i = 0; i < res->n_hugepages; i++) {
        const struct cg_hugepage *h = &res->hugepages[i];
        char file[128];
        snprintf(file, sizeof file, "hugetlb.%s.max", h->page_size);
        if (cg_writef(d->path, file, err, "%" PRIu64, h->limit) < 0)
            return -1;
        snprintf(file, sizeof file, "hugetlb.%s.rsvd.max", h->page_size);
        if (cg_has_file(d->path, file) && cg_writef(d->path, file, err, "%" PRIu64, h->limit) < 0)
            return -1;
    }
    return 0;
}

/* Entries are written verbatim; the controller a file belongs to (its name
 * up to the first dot) is enabled first unless the file is already there. */
int cgv2_apply_unified(const struct cgroup_dir *d, const struct cgroup_resources *res,
                       v12n_error *err)
{
    for (size_t i = 0; i < res->n_unified; i++) {
        const struct cg_unified_entry *e = &res->unified[i];
        if (!cg_has_file(d->path, e->file)) {
            char controller[64];
            size_t len = strcspn(e->file, ".");
            if (e->file[len] == '\0' || len >= sizeof controller ||
                strncmp(e->file, "cgroup", len) == 0)
                return v12n_fail(err, ENOENT, "cgroup %s: linux.resources.unified: no file %s",
                                 d->path, e->file);
            memcpy(controller, e->file, len);
            controller[len] = '\0';
            if (cgv2_enable_controller(d, controller, err) < 0)
                return v12n_error_wrap(err, "linux.resources.unified.%s", e->file);
            if (!cg_has_file(d->path, e->file))
                return v12n_fail(err, ENOENT, "cgroup %s: linux.resources.unified: no file %s",
                                 d->path, e->file);
        }
        if (cg_write(d->path, e->file, e->value, err) < 0)
            return -1;
    }
    return 0;
}

int cgv2_apply(const struct cgroup_dir *d, const struct cgroup_resources *res, v12n_error *err)
{
    if (res->net_class_id.set || res->n_net_prios > 0)
        return v12n_fail(
            err, ENOTSUP,
            "cgroup %s: linux.resources.network (net_cls, net_prio) is not supported on cgroup v2",
            d->path);
    if (cgv2_apply_memory(d, res, err) < 0 || cgv2_apply_cpu(d, res, err) < 0 ||
        cgv2_apply_cpuset(d, res, err) < 0 || cgv2_apply_pids(d, res, err) < 0 ||
        cgv2_apply_io(d, res, err) < 0 || cgv2_apply_hugetlb(d, res, err) < 0 ||
        cgv2_apply_unified(d, res, err) < 0)
        return -1;
    return 0;
}

int cgv2_freeze(const char *dir, bool frozen, v12n_error *err)
{
    if (!cg_has_file(dir, "cgroup.freeze"))
        return v12n_fail(err, ENOTSUP, "cgroup %s: no cgroup.freeze (kernel older than 5.2)", dir);
    if (cg_write(dir, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
        return -1;
    long long deadline = cg_now_ms() + FREEZE_TIMEOUT_MS;
    for (int i = 0;; i++) {
        uint64_t state = 0;
        bool found = false;
        if (cg_read_keyed(dir, "cgroup.events", "frozen", &state, &found, err) < 0)
            return -1;
        if (found && state == (frozen ? 1 : 0))
            return 0;
        if (cg_now_ms() >= deadline)
            break;
        cg_freeze_backoff(i);
    }
    if (frozen) {
        v12n_error ignored = {0};
        cg_write(dir, "cgroup.freeze", "0", &ignored);
    }
    return v12n_fail(err, ETIMEDOUT, "cgroup %s: not %s after %d s", dir,
                     frozen ? "frozen" : "thawed", FREEZE_TIMEOUT_MS / 1000);
}

int cgv2_kill(const char *dir, v12n_error *err)
{
    if (!cg_has_file(dir, "cgroup.kill"))
        return 0;
    if (cg_write(dir, "cgroup.kill", "1", err) < 0)
        return -1;
    return 1;
}
