/* linux.resources, parsed and checked before anything is created, and the
 * device rule list with the v1 kernel's semantics (used by both versions). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/cgroup_internal.h"
#include "container/spec.h"
#include "util/json.h"

#define RES "linux.resources"

/* ------------------------------------------------------------------------ */
/* linux.resources                                                           */

static bool present(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return v != NULL && !json_is_null(v);
}

static int get_i64(json_t *obj, const char *key, struct cg_opt_i64 *out, const char *where,
                   v12n_error *err)
{
    if (!present(obj, key))
        return 0;
    if (v12n_json_get_int64(obj, key, &out->v, where, err) < 0)
        return -1;
    out->set = true;
    return 0;
}

static int get_u64(json_t *obj, const char *key, struct cg_opt_u64 *out, const char *where,
                   v12n_error *err)
{
    if (!present(obj, key))
        return 0;
    if (v12n_json_get_uint64(obj, key, &out->v, where, err) < 0)
        return -1;
    out->set = true;
    return 0;
}

static int get_bool(json_t *obj, const char *key, struct cg_opt_bool *out, const char *where,
                    v12n_error *err)
{
    if (!present(obj, key))
        return 0;
    if (v12n_json_get_bool(obj, key, &out->v, where, err) < 0)
        return -1;
    out->set = true;
    return 0;
}

static int get_weight(json_t *obj, const char *key, struct cg_opt_u64 *out, const char *where,
                      v12n_error *err)
{
    if (get_u64(obj, key, out, where, err) < 0)
        return -1;
    if (out->set && (out->v < 10 || out->v > 1000))
        return v12n_fail(err, 0, "%s.%s: expected a weight from 10 to 1000", where, key);
    return 0;
}

static int get_dup_string(json_t *obj, const char *key, char **out, const char *where,
                          v12n_error *err)
{
    const char *s = NULL;
    if (v12n_json_get_string(obj, key, &s, where, err) < 0)
        return -1;
    if (s == NULL)
        return 0;
    *out = strdup(s);
    if (*out == NULL)
        return v12n_fail(err, ENOMEM, "%s.%s: out of memory", where, key);
    return 0;
}

static int require(json_t *obj, const char *key, const char *where, v12n_error *err)
{
    if (!present(obj, key))
        return v12n_fail(err, 0, "%s.%s: required", where, key);
    return 0;
}

/* A device number in a rule: -1 is the wildcard. */
static int get_dev_number(json_t *obj, const char *key, int64_t *out, const char *where,
                          v12n_error *err)
{
    *out = CG_DEV_WILDCARD;
    if (v12n_json_get_int64(obj, key, out, where, err) < 0)
        return -1;
    if (*out < CG_DEV_WILDCARD || *out > (int64_t)UINT32_MAX)
        return v12n_fail(err, 0, "%s.%s: expected -1 or a device number", where, key);
    return 0;
}

/* Elements of an array that must be objects; calls fn on each. */
typedef int (*element_fn)(json_t *item, void *slot, const char *where, v12n_error *err);

static int parse_array(json_t *parent, const char *key, const char *where, size_t elem_size,
                       void **items, size_t *n, element_fn fn, v12n_error *err)
{
    json_t *arr = NULL;
    if (v12n_json_get_array(parent, key, &arr, where, err) < 0)
        return -1;
    if (arr == NULL || json_array_size(arr) == 0)
        return 0;
    *items = calloc(json_array_size(arr), elem_size);
    if (*items == NULL)
        return v12n_fail(err, ENOMEM, "%s.%s: out of memory", where, key);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char here[256];
        snprintf(here, sizeof here, "%s.%s[%zu]", where, key, i);
        json_t *item = json_array_get(arr, i);
        if (!json_is_object(item))
            return v12n_fail(err, 0, "%s: expected an object", here);
        (*n)++;
        if (fn(item, (char *)*items + i * elem_size, here, err) < 0)
            return -1;
    }
    return 0;
}

static int parse_memory(json_t *res, struct cgroup_resources *r, v12n_error *err)
{
    const char *where = RES ".memory";
    json_t *m = NULL;
    if (v12n_json_get_object(res, "memory", &m, RES, err) < 0)
        return -1;
    if (m == NULL)
        return 0;
    if (get_i64(m, "limit", &r->memory.limit, where, err) < 0 ||
        get_i64(m, "reservation", &r->memory.reservation, where, err) < 0 ||
        get_i64(m, "swap", &r->memory.swap, where, err) < 0 ||
        get_i64(m, "kernel", &r->memory.kernel, where, err) < 0 ||
        get_i64(m, "kernelTCP", &r->memory.kernel_tcp, where, err) < 0 ||
        get_u64(m, "swappiness", &r->memory.swappiness, where, err) < 0 ||
        get_bool(m, "disableOOMKiller", &r->memory.disable_oom_killer, where, err) < 0 ||
        get_bool(m, "useHierarchy", &r->memory.use_hierarchy, where, err) < 0 ||
        v12n_json_get_bool(m, "checkBeforeUpdate", &r->memory.check_before_update, where, err) < 0)
        return -1;
    if (r->memory.swappiness.set && r->memory.swappiness.v > 100)
        return v12n_fail(err, 0, "%s.swappiness: expected 0 to 100", where);
    return 0;
}

static int parse_cpu(json_t *res, struct cgroup_resources *r, v12n_error *err)
{
    const char *where = RES ".cpu";
    json_t *c = NULL;
    if (v12n_json_get_object(res, "cpu", &c, RES, err) < 0)
        return -1;
    if (c == NULL)
        return 0;
    if (get_u64(c, "shares", &r->cpu.shares, where, err) < 0 ||
        get_i64(c, "quota", &r->cpu.quota, where, err) < 0 ||
        get_u64(c, "burst", &r->cpu.burst, where, err) < 0 ||
        get_u64(c, "period", &r->cpu.period, where, err) < 0 ||
        get_i64(c, "realtimeRuntime", &r->cpu.rt_runtime, where, err) < 0 ||
        get_u64(c, "realtimePeriod", &r->cpu.rt_period, where, err) < 0 ||
        get_i64(c, "idle", &r->cpu.idle, where, err) < 0 ||
        get_dup_string(c, "cpus", &r->cpu.cpus, where, err) < 0 ||
        get_dup_string(c, "mems", &r->cpu.mems, where, err) < 0)
        return -1;
    return 0;
}

static int parse_pids(json_t *res, struct cgroup_resources *r, v12n_error *err)
{
    json_t *p = NULL;
    if (v12n_json_get_object(res, "pids", &p, RES, err) < 0)
        return -1;
    if (p == NULL)
        return 0;
    return get_i64(p, "limit", &r->pids_limit, RES ".pids", err);
}

static int parse_weight_device(json_t *item, void *slot, const char *where, v12n_error *err)
{
    struct cg_weight_device *wd = slot;
    if (require(item, "major", where, err) < 0 || require(item, "minor", where, err) < 0 ||
        get_dev_number(item, "major", &wd->major, where, err) < 0 ||
        get_dev_number(item, "minor", &wd->minor, where, err) < 0 ||
        get_weight(item, "weight", &wd->weight, where, err) < 0 ||
        get_weight(item, "leafWeight", &wd->leaf_weight, where, err) < 0)
        return -1;
    return 0;
}

static int parse_throttle(json_t *item, void *slot, const char *where, v12n_error *err)
{
    struct cg_throttle *t = slot;
    if (require(item, "major", where, err) < 0 || require(item, "minor", where, err) < 0 ||
        require(item, "rate", where, err) < 0 ||
        get_dev_number(item, "major", &t->major, where, err) < 0 ||
        get_dev_number(item, "minor", &t->minor, where, err) < 0 ||
        v12n_json_get_uint64(item, "rate", &t->rate, where, err) < 0)
        return -1;
    if (t->major < 0 || t->minor < 0)
        return v12n_fail(err, 0, "%s: throttling needs a specific device", where);
    return 0;
}

static int parse_blkio(json_t *res, struct cgroup_resources *r, v12n_error *err)
{
    static const char *const throttle_keys[CG_THROTTLE_COUNT] = {
        [CG_THROTTLE_READ_BPS] = "throttleReadBpsDevice",
        [CG_THROTTLE_WRITE_BPS] = "throttleWriteBpsDevice",
        [CG_THROTTLE_READ_IOPS] = "throttleReadIOPSDevice",
        [CG_THROTTLE_WRITE_IOPS] = "throttleWriteIOPSDevice",
    };
    const char *where = RES ".blockIO";
    json_t *b = NULL;
    if (v12n_json_get_object(res, "blockIO", &b, RES, err) < 0)
        return -1;
    if (b == NULL)
        return 0;
    if (get_weight(b, "weight", &r->blkio.weight, where, err) < 0 ||
        get_weight(b, "leafWeight", &r->blkio.leaf_weight, where, err) < 0 ||
        parse_array(b, "weightDevice", where, sizeof(struct cg_weight_device),
                    (void **)&r->blkio.weight_devices, &r->blkio.n_weight_devices,
                    parse_weight_device, err) < 0)
        return -1;
    for (int k = 0; k < CG_THROTTLE_COUNT; k++) {
        if (parse_array(b, throttle_keys[k], where, sizeof(struct cg_throttle),
                        (void **)&r->blkio.throttle[k], &r->blkio.n_throttle[k], parse_throttle,
                        err) < 0)
            return -1;
    }
    return 0;
}

/* "2MB", "1GB", "64KB": the spelling the kernel uses in hugetlb file names. */
static bool page_size_valid(const char *s)
{
    size_t digits = strspn(s, "0123456789");
    if (digits == 0 || s[0] == '0')
        return false;
    const char *unit = s + digits;
    return strcmp(unit, "KB") == 0 || strcmp(unit, "MB") == 0 || strcmp(unit, "GB") == 0 ||
           strcmp(unit, "TB") == 0 || strcmp(unit, "PB") == 0;
}

static int parse_hugepage(json_t *item, void *slot, const char *where, v12n_error *err)
{
    struct cg_hugepage *h = slot;
    if (require(item, "pageSize", where, err) < 0 || require(item, "limit", where, err) < 0 ||
        get_dup_string(item, "pageSize", &h->page_size, where, err) < 0 ||
        v12n_json_get_uint64(item, "limit", &h->limit, where, err) < 0)
        return -1;
    if (!page_size_valid(h->page_size))
        return v12n_fail(err, 0, "%s.pageSize: expected a size like \"2MB\", got \"%s\"", where,
                         h->page_size);
    return 0;
}

static int parse_access(const char *s, unsigned *out, const char *where, v12n_error *err)
{
    *out = 0;
    for (const char *p = s; *p != '\0'; p++) {
        switch (*p) {
        case 'r':
            *out |= CG_DEV_READ;
            break;
        case 'w':
            *out |= CG_DEV_WRITE;
            break;
        case 'm':
            *out |= CG_DEV_MKNOD;
            break;
        default:
            return v12n_fail(err, 0, "%s.access: expected letters from \"rwm\", got \"%s\"", where,
                             s);
        }
    }
    return 0;
}

static int parse_device_rule(json_t *item, void *slot, const char *where, v12n_error *err)
{
    struct cg_device_rule *rule = slot;
    const char *type = "a", *access = "rwm";
    if (require(item, "allow", where, err) < 0 ||
        v12n_json_get_bool(item, "allow", &rule->allow, where, err) < 0 ||
        v12n_json_get_string(item, "type", &type, where, err) < 0 ||
        v12n_json_get_string(item, "access", &access, where, err) < 0 ||
        get_dev_number(item, "major", &rule->major, where, err) < 0 ||
        get_dev_number(item, "minor", &rule->minor, where, err) < 0)
        return -1;
    if (strcmp(type, "a") != 0 && strcmp(type, "c") != 0 && strcmp(type, "b") != 0)
        return v12n_fail(err, 0, "%s.type: expected \"a\", \"c\" or \"b\", got \"%s\"", where,
                         type);
    rule->type = type[0];
    return parse_access(access, &rule->access, where, err);
}

static int parse_net_prio(json_t *item, void *slot, const char *where, v12n_error *err)
{
    struct cg_net_prio *p = slot;
    if (require(item, "name", where, err) < 0 || require(item, "priority", where, err) < 0 ||
        get_dup_string(item, "name", &p->name, where, err) < 0 ||
        v12n_json_get_uint32(item, "priority", &p->priority, where, err) < 0)
        return -1;
    if (p->name[0] == '\0' || strpbrk(p->name, " \n") != NULL)
        return v12n_fail(err, 0, "%s.name: invalid interface name \"%s\"", where, p->name);
    return 0;
}

static int parse_network(json_t *res, struct cgroup_resources *r, v12n_error *err)
{
    const char *where = RES ".network";
    json_t *n = NULL;
    if (v12n_json_get_object(res, "network", &n, RES, err) < 0)
        return -1;
    if (n == NULL)
        return 0;
    uint32_t class_id = 0;
    if (present(n, "classID")) {
        if (v12n_json_get_uint32(n, "classID", &class_id, where, err) < 0)
            return -1;
        r->net_class_id.set = true;
        r->net_class_id.v = class_id;
    }
    return parse_array(n, "priorities", where, sizeof(struct cg_net_prio), (void **)&r->net_prios,
                       &r->n_net_prios, parse_net_prio, err);
}

static int parse_unified(json_t *res, struct cgroup_resources *r, v12n_error *err)
{
    json_t *u = NULL;
    if (v12n_json_get_object(res, "unified", &u, RES, err) < 0)
        return -1;
    if (u == NULL || json_object_size(u) == 0)
        return 0;
    r->unified = calloc(json_object_size(u), sizeof *r->unified);
    if (r->unified == NULL)
        return v12n_fail(err, ENOMEM, RES ".unified: out of memory");
    const char *key;
    json_t *value;
    json_object_foreach(u, key, value)
    {
        if (!json_is_string(value))
            return v12n_fail(err, 0, RES ".unified.%s: expected a string", key);
        if (key[0] == '\0' || key[0] == '.' || strchr(key, '/') != NULL)
            return v12n_fail(err, 0, RES ".unified: invalid file name \"%s\"", key);
        struct cg_unified_entry *e = &r->unified[r->n_unified++];
        e->file = strdup(key);
        e->value = strdup(json_string_value(value));
        if (e->file == NULL || e->value == NULL)
            return v12n_fail(err, ENOMEM, RES ".unified: out of memory");
    }
    return 0;
}

static int parse_all(json_t *res, struct cgroup_resources *r, v12n_error *err)
{
    if (!json_is_object(res))
        return v12n_fail(err, 0, RES ": expected an object");
    json_t *rdma = json_object_get(res, "rdma");
    if (rdma != NULL && !json_is_null(rdma) && json_object_size(rdma) > 0)
        return v12n_fail(err, 0, RES ".rdma: not supported by v12n");
    if (parse_memory(res, r, err) < 0 || parse_cpu(res, r, err) < 0 ||
        parse_pids(res, r, err) < 0 || parse_blkio(res, r, err) < 0 ||
        parse_array(res, "hugepageLimits", RES, sizeof(struct cg_hugepage), (void **)&r->hugepages,
                    &r->n_hugepages, parse_hugepage, err) < 0 ||
        parse_array(res, "devices", RES, sizeof(struct cg_device_rule), (void **)&r->devices,
                    &r->n_devices, parse_device_rule, err) < 0 ||
        parse_network(res, r, err) < 0 || parse_unified(res, r, err) < 0)
        return -1;
    return 0;
}

int cgroup_resources_parse(json_t *resources, struct cgroup_resources **out, v12n_error *err)
{
    struct cgroup_resources *r = calloc(1, sizeof *r);
    if (r == NULL)
        return v12n_fail(err, ENOMEM, RES ": out of memory");
    if (resources != NULL && !json_is_null(resources) && parse_all(resources, r, err) < 0) {
        cgroup_resources_free(r);
        return -1;
    }
    *out = r;
    return 0;
}

void cgroup_resources_free(struct cgroup_resources *res)
{
    if (res == NULL)
        return;
    free(res->cpu.cpus);
    free(res->cpu.mems);
    free(res->blkio.weight_devices);
    for (int k = 0; k < CG_THROTTLE_COUNT; k++)
        free(res->blkio.throttle[k]);
    for (size_t i = 0; i < res->n_hugepages; i++)
        free(res->hugepages[i].page_size);
    free(res->hugepages);
    free(res->devices);
    for (size_t i = 0; i < res->n_net_prios; i++)
        free(res->net_prios[i].name);
    free(res->net_prios);
    for (size_t i = 0; i < res->n_unified; i++) {
        free(res->unified[i].file);
        free(res->unified[i].value);
    }
    free(res->unified);
    free(res);
}

bool cg_wants_memory(const struct cgroup_resources *res)
{
    return res->memory.limit.set || res->memory.reservation.set || res->memory.swap.set ||
           res->memory.kernel_tcp.set || res->memory.swappiness.set ||
           res->memory.disable_oom_killer.set;
}

bool cg_wants_cpu(const struct cgroup_resources *res)
{
    return res->cpu.shares.set || res->cpu.quota.set || res->cpu.burst.set || res->cpu.period.set ||
           res->cpu.rt_runtime.set || res->cpu.rt_period.set || res->cpu.idle.set;
}

bool cg_wants_cpuset(const struct cgroup_resources *res)
{
    return res->cpu.cpus != NULL || res->cpu.mems != NULL;
}

bool cg_wants_pids(const struct cgroup_resources *res)
{
    return res->pids_limit.set && res->pids_limit.v != 0;
}

bool cg_wants_blkio(const struct cgroup_resources *res)
{
    size_t throttles = 0;
    for (int k = 0; k < CG_THROTTLE_COUNT; k++)
        throttles += res->blkio.n_throttle[k];
    return res->blkio.weight.set || res->blkio.leaf_weight.set || res->blkio.n_weight_devices > 0 ||
           throttles > 0;
}

/* ------------------------------------------------------------------------ */
/* Device rules                                                              */

/* What every container may use (runc's list), appended after the spec's rules. */
static const struct cg_device_rule default_device_rules[] = {
    {true, 'c', CG_DEV_WILDCARD, CG_DEV_WILDCARD, CG_DEV_MKNOD},
    {true, 'b', CG_DEV_WILDCARD, CG_DEV_WILDCARD, CG_DEV_MKNOD},
    {true, 'c', 1, 3, CG_DEV_ALL},                 /* /dev/null */
    {true, 'c', 1, 5, CG_DEV_ALL},                 /* /dev/zero */
    {true, 'c', 1, 7, CG_DEV_ALL},                 /* /dev/full */
    {true, 'c', 5, 0, CG_DEV_ALL},                 /* /dev/tty */
    {true, 'c', 1, 8, CG_DEV_ALL},                 /* /dev/random */
    {true, 'c', 1, 9, CG_DEV_ALL},                 /* /dev/urandom */
    {true, 'c', 5, 2, CG_DEV_ALL},                 /* /dev/ptmx */
    {true, 'c', 136, CG_DEV_WILDCARD, CG_DEV_ALL}, /* /dev/pts/N */
    {true, 'c', 5, 1, CG_DEV_ALL},                 /* /dev/console */
};

/* Whether the spec denies this very device by number (no wildcards).  Such
 * a rule is the user's explicit word and the spec says rules apply in their
 * order, so the default allow for that device is left out rather than
 * appended after it (where runc would let it win). */
static bool spec_denies_exactly(const struct cgroup_resources *res,
                                const struct cg_device_rule *def)
{
    for (size_t i = 0; res != NULL && i < res->n_devices; i++) {
        const struct cg_device_rule *r = &res->devices[i];
        if (!r->allow && r->type == def->type && r->major == def->major && r->minor == def->minor &&
            r->major != CG_DEV_WILDCARD && r->minor != CG_DEV_WILDCARD)
            return true;
    }
    return false;
}

int cg_device_rules(const struct cgroup_resources *res, const struct oci_device *devices,
                    size_t n_devices, struct cg_device_rule **out, size_t *n, v12n_error *err)
{
    size_t n_spec = res != NULL ? res->n_devices : 0;
    size_t n_defaults = sizeof default_device_rules / sizeof default_device_rules[0];
    struct cg_device_rule *rules = calloc(n_spec + n_defaults + n_devices + 1, sizeof *rules);
    if (rules == NULL)
        return v12n_fail(err, ENOMEM, "device rules: out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n_spec; i++)
        rules[k++] = res->devices[i];
    for (size_t i = 0; i < n_defaults; i++) {
        if (!spec_denies_exactly(res, &default_device_rules[i]))
            rules[k++] = default_device_rules[i];
    }
    for (size_t i = 0; i < n_devices; i++) {
        const struct oci_device *d = &devices[i];
        /* FIFOs are not governed by the device cgroup. */
        if (d->type == 'p')
            continue;
        rules[k++] = (struct cg_device_rule){
            .allow = true,
            .type = d->type == 'b' ? 'b' : 'c',
            .major = d->major,
            .minor = d->minor,
            .access = CG_DEV_ALL,
        };
    }
    *out = rules;
    *n = k;
    return 0;
}

static bool number_covers(int64_t rule, int64_t value)
{
    return rule == CG_DEV_WILDCARD || rule == value;
}

/* Exceptions are merged per exact (type, major, minor), as the kernel does. */
static struct cg_device_rule *find_exception(struct cg_device_state *st,
                                             const struct cg_device_rule *rule)
{
    for (size_t i = 0; i < st->n; i++) {
        struct cg_device_rule *e = &st->exceptions[i];
        if (e->type == rule->type && e->major == rule->major && e->minor == rule->minor)
            return e;
    }
    return NULL;
}

static void remove_exception_access(struct cg_device_state *st, const struct cg_device_rule *rule)
{
    struct cg_device_rule *e = find_exception(st, rule);
    if (e == NULL)
        return;
    e->access &= ~rule->access;
    if (e->access == 0) {
        size_t i = (size_t)(e - st->exceptions);
        memmove(e, e + 1, (st->n - i - 1) * sizeof *e);
        st->n--;
    }
}

/* The v1 devices controller's semantics: "a" resets to a default; a rule
 * that says the opposite of the default adds (or widens) an exception; a rule
 * that agrees with the default narrows the matching exception. */
int cg_devices_emulate(const struct cg_device_rule *rules, size_t n, struct cg_device_state *state,
                       v12n_error *err)
{
    *state = (struct cg_device_state){.default_allow = true};
    state->exceptions = calloc(n + 1, sizeof *state->exceptions);
    if (state->exceptions == NULL)
        return v12n_fail(err, ENOMEM, "device rules: out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct cg_device_rule *r = &rules[i];
        if (r->type == 'a') {
            state->default_allow = r->allow;
            state->n = 0;
            continue;
        }
        if (r->access == 0)
            continue;
        if (r->allow == state->default_allow) {
            remove_exception_access(state, r);
            continue;
        }
        struct cg_device_rule *e = find_exception(state, r);
        if (e != NULL) {
            e->access |= r->access;
        } else {
            state->exceptions[state->n] = *r;
            state->exceptions[state->n].allow = !state->default_allow;
            state->n++;
        }
    }
    return 0;
}

void cg_device_state_clear(struct cg_device_state *state)
{
    free(state->exceptions);
    state->exceptions = NULL;
    state->n = 0;
}

bool cg_devices_allowed(const struct cg_device_state *state, char type, int64_t major,
                        int64_t minor, unsigned access)
{
    for (size_t i = 0; i < state->n; i++) {
        const struct cg_device_rule *e = &state->exceptions[i];
        if (e->type != type || !number_covers(e->major, major) || !number_covers(e->minor, minor))
            continue;
        /* An allowed exception must cover every bit asked for; a denied one
         * refuses as soon as it overlaps (the v1 kernel's matching). */
        if (state->default_allow && (access & e->access) != 0)
            return false;
        if (!state->default_allow && (access & ~e->access) == 0)
            return true;
    }
    return state->default_allow;
}
