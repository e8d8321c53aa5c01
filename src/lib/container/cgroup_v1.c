/* cgroup v1 (and the v1 side of hybrid): one hierarchy per controller, the
 * files runc writes, in the order runc writes them. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "container/cgroup_internal.h"
#include "util/cleanup.h"

#define FREEZE_TIMEOUT_MS 5000

static int write_i64(const char *dir, const char *file, int64_t v, v12n_error *err)
{
    return cg_writef(dir, file, err, "%" PRId64, v);
}

static int write_u64(const char *dir, const char *file, uint64_t v, v12n_error *err)
{
    return cg_writef(dir, file, err, "%" PRIu64, v);
}

static int read_u64(const char *dir, const char *file, uint64_t *v, v12n_error *err)
{
    auto_free char *data = cg_read(dir, file, err);
    if (data == NULL)
        return -1;
    char *end;
    errno = 0;
    *v = strtoull(data, &end, 10);
    if (errno != 0 || end == data)
        return v12n_fail(err, EINVAL, "cgroup %s: %s: not a number", dir, file);
    return 0;
}

/* A new cpuset directory starts with no CPUs and no memory nodes, and no task
 * can join it like that: inherit the parent's. */
int cgv1_copy_cpuset_from_parent(const char *dir, v12n_error *err)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    auto_free char *parent = strdup(dir);
    if (parent == NULL)
        return v12n_fail(err, ENOMEM, "cgroup %s: out of memory", dir);
    char *slash = strrchr(parent, '/');
    if (slash == NULL || slash == parent)
        return 0;
    *slash = '\0';
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        auto_free char *mine = cg_read(dir, files[i], err);
        if (mine == NULL)
            return -1;
        cg_trim(mine);
        if (mine[0] != '\0')
            continue;
        auto_free char *theirs = cg_read(parent, files[i], err);
        if (theirs == NULL)
            return -1;
        cg_trim(theirs);
        if (cg_write(dir, files[i], theirs, err) < 0)
            return -1;
    }
    return 0;
}

/* The kernel refuses a memory limit above memsw or memsw below the limit,
 * so the order depends on which way the limits move (runc's rule). */
static int apply_memory_and_swap(const char *dir, const struct cgroup_resources *res,
                                 v12n_error *err)
{
    static const char *const memsw = "memory.memsw.limit_in_bytes";
    int64_t mem = res->memory.limit.set ? res->memory.limit.v : 0;
    int64_t swap = res->memory.swap.set ? res->memory.swap.v : 0;
    bool has_memsw = cg_has_file(dir, memsw);
    if (!has_memsw)
        swap = 0; /* no swap accounting in this kernel: nothing to limit */
    else if (mem == -1 && swap == 0)
        swap = -1; /* unlimited memory means unlimited swap too */
    if (mem > 0 && res->memory.check_before_update) {
        uint64_t usage = 0;
        if (read_u64(dir, "memory.usage_in_bytes", &usage, err) < 0)
            return -1;
        if (usage >= (uint64_t)mem)
            return v12n_fail(err, EBUSY,
                             "cgroup %s: memory limit %" PRId64
                             " is below the current usage %" PRIu64,
                             dir, mem, usage);
    }
    bool swap_first = false;
    if (mem != 0 && swap != 0) {
        uint64_t current = 0;
        if (read_u64(dir, "memory.limit_in_bytes", &current, err) < 0)
            return -1;
        swap_first = swap == -1 || current < (uint64_t)swap;
    }
    if (swap_first && write_i64(dir, memsw, swap, err) < 0)
        return -1;
    if (mem != 0 && write_i64(dir, "memory.limit_in_bytes", mem, err) < 0)
        return -1;
    if (!swap_first && swap != 0 && write_i64(dir, memsw, swap, err) < 0)
        return -1;
    return 0;
}

/* memory.kernel (kmem) is deprecated and ignored, as runc does; useHierarchy
 * is always on in current kernels. */
static int apply_memory(const char *dir, const struct cgroup_resources *res, v12n_error *err)
{
    if (apply_memory_and_swap(dir, res, err) < 0)
        return -1;
    if (res->memory.reservation.set && res->memory.reservation.v != 0 &&
        write_i64(dir, "memory.soft_limit_in_bytes", res->memory.reservation.v, err) < 0)
        return -1;
    if (res->memory.kernel_tcp.set && res->memory.kernel_tcp.v != 0 &&
        write_i64(dir, "memory.kmem.tcp.limit_in_bytes", res->memory.kernel_tcp.v, err) < 0)
        return -1;
    if (res->memory.swappiness.set &&
        write_u64(dir, "memory.swappiness", res->memory.swappiness.v, err) < 0)
        return -1;
    if (res->memory.disable_oom_killer.set &&
        cg_write(dir, "memory.oom_control", res->memory.disable_oom_killer.v ? "1" : "0", err) < 0)
        return -1;
    return 0;
}

/* A period shorter than the current one can be refused until the quota
 * moves too: write the period first, and again after the quota if it failed
 * with EINVAL (runc does the same). */
static int apply_period_pair(const char *dir, const char *period_file, bool period_set,
                             uint64_t period, const char *value_file, bool value_set, int64_t value,
                             v12n_error *err)
{
    bool period_pending = false;
    if (period_set && period != 0 && write_u64(dir, period_file, period, err) < 0) {
        if (err == NULL || err->errnum != EINVAL || !value_set)
            return -1;
        period_pending = true;
    }
    if (value_set && write_i64(dir, value_file, value, err) < 0)
        return -1;
    if (period_pending && write_u64(dir, period_file, period, err) < 0)
        return -1;
    return 0;
}

static int apply_cpu(const char *dir, const struct cgroup_resources *res, v12n_error *err)
{
    if (res->cpu.shares.set && res->cpu.shares.v != 0 &&
        write_u64(dir, "cpu.shares", res->cpu.shares.v, err) < 0)
        return -1;
    bool quota_set = res->cpu.quota.set && res->cpu.quota.v != 0;
    if (apply_period_pair(dir, "cpu.cfs_period_us", res->cpu.period.set, res->cpu.period.v,
                          "cpu.cfs_quota_us", quota_set, res->cpu.quota.v, err) < 0)
        return -1;
    if (res->cpu.burst.set && write_u64(dir, "cpu.cfs_burst_us", res->cpu.burst.v, err) < 0)
        return -1;
    bool runtime_set = res->cpu.rt_runtime.set && res->cpu.rt_runtime.v != 0;
    if (apply_period_pair(dir, "cpu.rt_period_us", res->cpu.rt_period.set, res->cpu.rt_period.v,
                          "cpu.rt_runtime_us", runtime_set, res->cpu.rt_runtime.v, err) < 0)
        return -1;
    if (res->cpu.idle.set && write_i64(dir, "cpu.idle", res->cpu.idle.v, err) < 0)
        return -1;
    return 0;
}

static int apply_cpuset(const char *dir, const struct cgroup_resources *res, v12n_error *err)
{
    if (res->cpu.cpus != NULL && cg_write(dir, "cpuset.cpus", res->cpu.cpus, err) < 0)
        return -1;
    if (res->cpu.mems != NULL && cg_write(dir, "cpuset.mems", res->cpu.mems, err) < 0)
        return -1;
    return 0;
}

static int apply_pids(const char *dir, const struct cgroup_resources *res, v12n_error *err)
{
    if (res->pids_limit.v < 0)
        return cg_write(dir, "pids.max", "max", err);
    return write_i64(dir, "pids.max", res->pids_limit.v, err);
}

/* CFQ had blkio.weight; BFQ names it blkio.bfq.weight. */
static const char *blkio_file(const char *dir, const char *cfq, const char *bfq)
{
    return cg_has_file(dir, cfq) || !cg_has_file(dir, bfq) ? cfq : bfq;
}

static int apply_blkio(const char *dir, const struct cgroup_resources *res, v12n_error *err)
{
    static const char *const throttle_files[CG_THROTTLE_COUNT] = {
        [CG_THROTTLE_READ_BPS] = "blkio.throttle.read_bps_device",
        [CG_THROTTLE_WRITE_BPS] = "blkio.throttle.write_bps_device",
        [CG_THROTTLE_READ_IOPS] = "blkio.throttle.read_iops_device",
        [CG_THROTTLE_WRITE_IOPS] = "blkio.throttle.write_iops_device",
    };
    const char *weight = blkio_file(dir, "blkio.weight", "blkio.bfq.weight");
    const char *weight_device = blkio_file(dir, "blkio.weight_device", "blkio.bfq.weight_device");
    if (res->blkio.weight.set && write_u64(dir, weight, res->blkio.weight.v, err) < 0)
        return -1;
    if (res->blkio.leaf_weight.set &&
        write_u64(dir, "blkio.leaf_weight", res->blkio.leaf_weight.v, err) < 0)
        return -1;
    for (size_t i = 0; i < res->blkio.n_weight_devices; i++) {
        const struct cg_weight_device *wd = &res->blkio.weight_devices[i];
        if (wd->weight.set && cg_writef(dir, weight_device, err, "%" PRId64 ":%" PRId64 " %" PRIu64,
                                        wd->major, wd->minor, wd->weight.v) < 0)
            return -1;
        if (wd->leaf_weight.set &&
            cg_writef(dir, "blkio.leaf_weight_device", err, "%" PRId64 ":%" PRId64 " %" PRIu64,
                      wd->major, wd->minor, wd->leaf_weight.v) < 0)
            return -1;
    }
    for (int k = 0; k < CG_THROTTLE_COUNT; k++) {
        for (size_t i = 0; i < res->blkio.n_throttle[k]; i++) {
            const struct cg_throttle *t = &res->blkio.throttle[k][i];
            if (cg_writef(dir, throttle_files[k], err, "%" PRId64 ":%" PRId64 " %" PRIu64, t->major,
                          t->minor, t->rate) < 0)
                return -1;
        }
    }
    return 0;
}

static int apply_hugetlb(const char *dir, const struct cgroup_resources *res, v12n_error *err)
{
    for (size_t i = 0; i < res->n_hugepages; i++) {
        const struct cg_hugepage *h = &res->hugepages[i];
        char file[128];
        snprintf(file, sizeof file, "hugetlb.%s.limit_in_bytes", h->page_size);
        if (write_u64(dir, file, h->limit, err) < 0)
            return -1;
        /* Reservations are accounted separately since 5.7; limit them alike. */
        snprintf(file, sizeof file, "hugetlb.%s.rsvd.limit_in_bytes", h->page_size);
        if (cg_has_file(dir, file) && write_u64(dir, file, h->limit, err) < 0)
            return -1;
    }
    return 0;
}

static int apply_net_cls(const char *dir, const struct cgroup_resources *res, v12n_error *err)
{
    return write_u64(dir, "net_cls.classid", res->net_class_id.v, err);
}

static int apply_net_prio(const char *dir, const struct cgroup_resources *res, v12n_error *err)
{
    for (size_t i = 0; i < res->n_net_prios; i++) {
        if (cg_writef(dir, "net_prio.ifpriomap", err, "%s %" PRIu32, res->net_prios[i].name,
                      res->net_prios[i].priority) < 0)
            return -1;
    }
    return 0;
}

struct v1_controller {
    const char *name;    /* v1 controller */
    const char *v2_name; /* the cgroup2 equivalent, NULL if none */
    bool (*wanted)(const struct cgroup_resources *res);
    int (*apply)(const char *dir, const struct cgroup_resources *res, v12n_error *err);
    int (*apply_v2)(const struct cgroup_dir *d, const struct cgroup_resources *res,
                    v12n_error *err);
};

static bool wants_hugetlb(const struct cgroup_resources *res)
{
    return res->n_hugepages > 0;
}

static bool wants_net_cls(const struct cgroup_resources *res)
{
    return res->net_class_id.set;
}

static bool wants_net_prio(const struct cgroup_resources *res)
{
    return res->n_net_prios > 0;
}

static const struct v1_controller v1_controllers[] = {
    {"memory", "memory", cg_wants_memory, apply_memory, cgv2_apply_memory},
    {"cpu", "cpu", cg_wants_cpu, apply_cpu, cgv2_apply_cpu},
    {"cpuset", "cpuset", cg_wants_cpuset, apply_cpuset, cgv2_apply_cpuset},
    {"pids", "pids", cg_wants_pids, apply_pids, cgv2_apply_pids},
    {"blkio", "io", cg_wants_blkio, apply_blkio, cgv2_apply_io},
    {"hugetlb", "hugetlb", wants_hugetlb, apply_hugetlb, cgv2_apply_hugetlb},
    {"net_cls", NULL, wants_net_cls, apply_net_cls, NULL},
    {"net_prio", NULL, wants_net_prio, apply_net_prio, NULL},
};

/* On hybrid, a controller that is not bound to v1 may be offered by the
 * unified hierarchy (hugetlb often is): use it there rather than fail. */
static bool unified_offers(const struct cgroup_dir *u, const char *v2_name)
{
    if (u == NULL || v2_name == NULL)
        return false;
    v12n_error ignored = {0};
    auto_free char *avail = cg_read(u->mount, "cgroup.controllers", &ignored);
    return avail != NULL && cg_word_in_list(avail, v2_name);
}

int cgv1_apply(const struct cgroup *cg, const struct cgroup_resources *res, v12n_error *err)
{
    const struct cgroup_dir *unified = cg_unified_dir(cg);
    for (size_t i = 0; i < sizeof v1_controllers / sizeof v1_controllers[0]; i++) {
        const struct v1_controller *c = &v1_controllers[i];
        if (!c->wanted(res))
            continue;
        const struct cgroup_dir *d = cg_v1_dir(cg, c->name);
        int rc;
        if (d != NULL)
            rc = c->apply(d->path, res, err);
        else if (unified_offers(unified, c->v2_name))
            rc = c->apply_v2(unified, res, err);
        else
            rc = v12n_fail(err, ENOTSUP, "cgroup %s: %s controller not mounted under %s", cg->path,
                           c->name, cg->root);
        if (rc < 0)
            return -1;
    }
    if (res->n_unified > 0) {
        if (unified == NULL)
            return v12n_fail(err, ENOTSUP,
                             "cgroup %s: linux.resources.unified needs cgroup v2 (%s is v1)",
                             cg->path, cg->root);
        return cgv2_apply_unified(unified, res, err);
    }
    return 0;
}

static void access_string(unsigned access, char out[4])
{
    size_t k = 0;
    if (access & CG_DEV_READ)
        out[k++] = 'r';
    if (access & CG_DEV_WRITE)
        out[k++] = 'w';
    if (access & CG_DEV_MKNOD)
        out[k++] = 'm';
    out[k] = '\0';
}

static void number_string(int64_t v, char *out, size_t len)
{
    if (v == CG_DEV_WILDCARD)
        snprintf(out, len, "*");
    else
        snprintf(out, len, "%" PRId64, v);
}

/* devices.allow and devices.deny, each opened once for all its rules (the
 * kernel takes one rule per write). */
struct device_files {
    const char *dir;
    int fd[2]; /* [0] deny, [1] allow */
};

static int device_rule_write(struct device_files *f, bool allow, const char *rule, v12n_error *err)
{
    const char *file = allow ? "devices.allow" : "devices.deny";
    int *fd = &f->fd[allow];
    if (*fd < 0) {
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", f->dir, file) >= sizeof path)
            return v12n_fail(err, ENAMETOOLONG, "cgroup %s: %s", f->dir, file);
        if ((*fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
            return v12n_fail_errno(err, "cgroup %s: open %s", f->dir, file);
    }
    size_t len = strlen(rule);
    ssize_t n;
    do {
        n = write(*fd, rule, len);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return v12n_fail_errno(err, "cgroup %s: write %s (%s)", f->dir, file, rule);
    if ((size_t)n != len)
        return v12n_fail(err, EIO, "cgroup %s: short write to %s (%s)", f->dir, file, rule);
    return 0;
}

/* The kernel keeps the rules' effect itself; rules before the last "a" are
 * wiped by it, so writing starts there. */
int cgv1_apply_devices(const char *dir, const struct cg_device_rule *rules, size_t n,
                       v12n_error *err)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (rules[i].type == 'a')
            start = i;
    }
    struct device_files f = {dir, {-1, -1}};
    int r = 0;
    for (size_t i = start; r == 0 && i < n; i++) {
        const struct cg_device_rule *d = &rules[i];
        char access[4], major[24], minor[24], rule[80];
        access_string(d->access, access);
        if (d->type != 'a' && access[0] == '\0')
            continue;
        number_string(d->major, major, sizeof major);
        number_string(d->minor, minor, sizeof minor);
        if (d->type == 'a')
            snprintf(rule, sizeof rule, "a");
        else
            snprintf(rule, sizeof rule, "%c %s:%s %s", d->type, major, minor, access);
        r = device_rule_write(&f, d->allow, rule, err);
    }
    for (int k = 0; k < 2; k++)
        if (f.fd[k] >= 0)
            close(f.fd[k]);
    return r;
}

/* FREEZING can stall while tasks fork; writing FROZEN again retries the
 * stragglers, so the request is repeated while waiting. */
int cgv1_freeze(const char *dir, bool frozen, v12n_error *err)
{
    const char *want = frozen ? "FROZEN" : "THAWED";
    long long deadline = cg_now_ms() + FREEZE_TIMEOUT_MS;
    for (int i = 0;; i++) {
        if (i % 20 == 0 && cg_write(dir, "freezer.state", want, err) < 0)
            return -1;
        auto_free char *state = cg_read(dir, "freezer.state", err);
        if (state == NULL)
            return -1;
        cg_trim(state);
        if (strcmp(state, want) == 0)
            return 0;
        if (cg_now_ms() >= deadline)
            break;
        cg_freeze_backoff(i);
    }
    if (frozen) {
        v12n_error ignored = {0};
        cg_write(dir, "freezer.state", "THAWED", &ignored);
    }
    return v12n_fail(err, ETIMEDOUT, "cgroup %s: freezer.state did not reach %s in %d s", dir, want,
                     FREEZE_TIMEOUT_MS / 1000);
}
