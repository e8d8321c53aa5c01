/* Shared by cgroup.c (parsing, layout, entry points), cgroup_v1.c,
 * cgroup_v2.c and cgroup_bpf.c.  Not part of the library's interface. */
#ifndef V12N_CONTAINER_CGROUP_INTERNAL_H
#define V12N_CONTAINER_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "container/cgroup.h"
#include "util/error.h"

/* Optional values: the spec distinguishes "absent" from zero. */
struct cg_opt_i64 {
    bool set;
    int64_t v;
};

struct cg_opt_u64 {
    bool set;
    uint64_t v;
};

struct cg_opt_bool {
    bool set;
    bool v;
};

/* Access bits, the same values the kernel passes to device programs. */
enum {
    CG_DEV_MKNOD = 1,
    CG_DEV_READ = 2,
    CG_DEV_WRITE = 4,
    CG_DEV_ALL = 7,
};

#define CG_DEV_WILDCARD (-1)

struct cg_device_rule {
    bool allow;
    char type;     /* 'a', 'c' or 'b' */
    int64_t major; /* CG_DEV_WILDCARD for any */
    int64_t minor;
    unsigned access; /* CG_DEV_* bits */
};

struct cg_weight_device {
    int64_t major, minor;
    struct cg_opt_u64 weight, leaf_weight;
};

enum cg_throttle_kind {
    CG_THROTTLE_READ_BPS,
    CG_THROTTLE_WRITE_BPS,
    CG_THROTTLE_READ_IOPS,
    CG_THROTTLE_WRITE_IOPS,
    CG_THROTTLE_COUNT
};

struct cg_throttle {
    int64_t major, minor;
    uint64_t rate;
};

struct cg_hugepage {
    char *page_size; /* "2MB", as in the cgroup file names */
    uint64_t limit;
};

struct cg_net_prio {
    char *name;
    uint32_t priority;
};

struct cg_unified_entry {
    char *file;
    char *value;
};

struct cgroup_resources {
    struct {
        struct cg_opt_i64 limit, reservation, swap, kernel, kernel_tcp;
        struct cg_opt_u64 swappiness;
        struct cg_opt_bool disable_oom_killer, use_hierarchy;
        bool check_before_update;
    } memory;
    struct {
        struct cg_opt_u64 shares, burst, period, rt_period;
        struct cg_opt_i64 quota, rt_runtime, idle;
        char *cpus, *mems; /* NULL: unset */
    } cpu;
    struct cg_opt_i64 pids_limit;
    struct {
        struct cg_opt_u64 weight, leaf_weight;
        struct cg_weight_device *weight_devices;
        size_t n_weight_devices;
        struct cg_throttle *throttle[CG_THROTTLE_COUNT];
        size_t n_throttle[CG_THROTTLE_COUNT];
    } blkio;
    struct cg_hugepage *hugepages;
    size_t n_hugepages;
    struct cg_device_rule *devices;
    size_t n_devices;
    struct cg_opt_u64 net_class_id;
    struct cg_net_prio *net_prios;
    size_t n_net_prios;
    struct cg_unified_entry *unified;
    size_t n_unified;
};

/* What a resources object asks of each controller. */
bool cg_wants_memory(const struct cgroup_resources *res);
bool cg_wants_cpu(const struct cgroup_resources *res);
bool cg_wants_cpuset(const struct cgroup_resources *res);
bool cg_wants_pids(const struct cgroup_resources *res);
bool cg_wants_blkio(const struct cgroup_resources *res);

/* One hierarchy the container lives in. */
struct cgroup_dir {
    char *controllers; /* v1: "memory", "cpu,cpuacct", "name=systemd"; "" for cgroup2 */
    char *mount;       /* where the hierarchy is mounted */
    char *path;        /* the container's directory */
    char *created_top; /* the highest directory create made (NULL: none); destroy
                          removes path and, when empty, its parents up to this one */
};

struct cgroup {
    enum cgroup_mode mode;
    char *root;
    char *path; /* normalized cgroupsPath: "/v12n/web", or relative "a/b" */
    struct cgroup_dir *dirs;
    size_t n_dirs;
};

/* The v1 directory of a controller ("memory", "name=systemd"), or NULL. */
const struct cgroup_dir *cg_v1_dir(const struct cgroup *cg, const char *controller);
/* The cgroup2 directory (v2, or hybrid's unified), or NULL. */
const struct cgroup_dir *cg_unified_dir(const struct cgroup *cg);

/* Files under a cgroup directory.  cgroupfs takes one value per write(2), so
 * each call is exactly one write; errors read "cgroup <dir>: write <file> (<value>)". */
int cg_write(const char *dir, const char *file, const char *value, v12n_error *err);
int cg_writef(const char *dir, const char *file, v12n_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
char *cg_read(const char *dir, const char *file, v12n_error *err);
bool cg_has_file(const char *dir, const char *file);
/* "key value" lines (memory.events, memory.oom_control): *found false when absent. */
int cg_read_keyed(const char *dir, const char *file, const char *key, uint64_t *value, bool *found,
                  v12n_error *err);
int cg_read_procs(const char *dir, pid_t **pids, size_t *n, v12n_error *err);
void cg_trim(char *s);     /* trailing newlines and blanks */
long long cg_now_ms(void); /* CLOCK_MONOTONIC */
/* The pause before polling a freezer again: 1 ms more per attempt up to 10 ms, so a freeze that
 * completes at once costs little and a slow one does not spin. */
void cg_freeze_backoff(int attempt);
/* Whether a space-separated list ("cpu memory pids") holds word. */
bool cg_word_in_list(const char *list, const char *word);

/* The complete device rule list: the spec's, then the runtime's defaults
 * (but for a device the spec denies by its exact number), then one allow
 * per linux.devices entry (runc's order). */
int cg_device_rules(const struct cgroup_resources *res, const struct oci_device *devices,
                    size_t n_devices, struct cg_device_rule **out, size_t *n, v12n_error *err);

/* The effect of a rule list, as the v1 kernel would keep it: a default and
 * exceptions that all say the opposite of the default. */
struct cg_device_state {
    bool default_allow;
    struct cg_device_rule *exceptions;
    size_t n;
};

int cg_devices_emulate(const struct cg_device_rule *rules, size_t n, struct cg_device_state *state,
                       v12n_error *err);
void cg_device_state_clear(struct cg_device_state *state);
/* Whether the state lets `access` on a device through (what the program decides). */
bool cg_devices_allowed(const struct cg_device_state *state, char type, int64_t major,
                        int64_t minor, unsigned access);

/* cgroup v1 (cgroup_v1.c) */
int cgv1_apply(const struct cgroup *cg, const struct cgroup_resources *res, v12n_error *err);
int cgv1_apply_devices(const char *dir, const struct cg_device_rule *rules, size_t n,
                       v12n_error *err);
int cgv1_freeze(const char *dir, bool frozen, v12n_error *err);
int cgv1_copy_cpuset_from_parent(const char *dir, v12n_error *err);

/* cgroup v2 (cgroup_v2.c); d is the cgroup2 directory. */
int cgv2_enable_controller(const struct cgroup_dir *d, const char *controller, v12n_error *err);
int cgv2_apply_memory(const struct cgroup_dir *d, const struct cgroup_resources *res,
                      v12n_error *err);
int cgv2_apply_cpu(const struct cgroup_dir *d, const struct cgroup_resources *res, v12n_error *err);
int cgv2_apply_cpuset(const struct cgroup_dir *d, const struct cgroup_resources *res,
                      v12n_error *err);
int cgv2_apply_pids(const struct cgroup_dir *d, const struct cgroup_resources *res,
                    v12n_error *err);
int cgv2_apply_io(const struct cgroup_dir *d, const struct cgroup_resources *res, v12n_error *err);
int cgv2_apply_hugetlb(const struct cgroup_dir *d, const struct cgroup_resources *res,
                       v12n_error *err);
int cgv2_apply_unified(const struct cgroup_dir *d, const struct cgroup_resources *res,
                       v12n_error *err);
/* Everything in res on a pure v2 hierarchy (devices excepted). */
int cgv2_apply(const struct cgroup_dir *d, const struct cgroup_resources *res, v12n_error *err);
int cgv2_freeze(const char *dir, bool frozen, v12n_error *err);
/* 1 when cgroup.kill did it, 0 when the kernel lacks cgroup.kill. */
int cgv2_kill(const char *dir, v12n_error *err);

/* eBPF device program (cgroup_bpf.c). */
struct bpf_insn;
/* The program for a state; *insns is malloc'd. */
int cg_bpf_devices_program(const struct cg_device_state *state, struct bpf_insn **insns, size_t *n,
                           v12n_error *err);
/* Load it and attach it to the cgroup2 directory (BPF_F_ALLOW_MULTI). */
int cg_bpf_devices_attach(const char *dir, const struct cg_device_state *state, v12n_error *err);

#endif
