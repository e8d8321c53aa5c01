/* cgroups for containers: v1, v2 and hybrid hierarchies (cgroupfs manager).
 * The runtime creates the cgroup before the container init runs anything of
 * the user's, applies linux.resources, and removes it on delete. */
#ifndef V12N_CONTAINER_CGROUP_H
#define V12N_CONTAINER_CGROUP_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

struct oci_device;

enum cgroup_mode {
    CGROUP_MODE_V1,     /* only v1 controllers */
    CGROUP_MODE_HYBRID, /* v1 controllers plus a cgroup2 at <root>/unified */
    CGROUP_MODE_V2,     /* pure unified hierarchy */
};

enum cgroup_manager {
    CGROUP_MANAGER_CGROUPFS,
    CGROUP_MANAGER_DISABLED,
};

/* linux.resources, parsed and validated (memory, cpu, cpuset, pids, blockIO,
 * hugepageLimits, devices, unified, network). */
struct cgroup_resources;

int cgroup_resources_parse(json_t *resources, struct cgroup_resources **out, v12n_error *err);
void cgroup_resources_free(struct cgroup_resources *res);

/* Detect the layout mounted at root (normally "/sys/fs/cgroup"). */
int cgroup_detect_mode(const char *root, enum cgroup_mode *mode, v12n_error *err);
const char *cgroup_mode_name(enum cgroup_mode mode);

/* A container's cgroup: its path under every hierarchy in use. */
struct cgroup;

struct cgroup_create_args {
    const char *root;                         /* mount root, "/sys/fs/cgroup" unless testing */
    const char *cgroups_path;                 /* linux.cgroupsPath, may be NULL */
    const char *id;                           /* container id: default path is /v12n/<id> */
    const struct cgroup_resources *resources; /* may be NULL */
    const struct oci_device *devices;         /* linux.devices: allowed too */
    size_t n_devices;
    pid_t pid; /* the container init, moved in */
};

int cgroup_create(const struct cgroup_create_args *args, struct cgroup **out, v12n_error *err);

/* On a pure cgroup v2 host, an fd of the container's directory for
 * clone3(CLONE_INTO_CGROUP): a child born there needs no migration.  -1 with
 * ENOTSUP elsewhere (v1, hybrid: every v1 hierarchy needs its write). */
int cgroup_open_v2_dir(const struct cgroup *cg, v12n_error *err);

/* Move another process (exec) into the container's cgroup. */
int cgroup_enter(const struct cgroup *cg, pid_t pid, v12n_error *err);

/* Apply new resources (`update`). */
int cgroup_update(struct cgroup *cg, const struct cgroup_resources *res, v12n_error *err);

/* Freeze or thaw every process (`pause`/`resume`); waits until done. */
int cgroup_freeze(const struct cgroup *cg, bool frozen, v12n_error *err);

/* Processes in the cgroup (host pids), malloc'd. */
int cgroup_pids(const struct cgroup *cg, pid_t **pids, size_t *n, v12n_error *err);

/* Signal every process in the cgroup (`kill --all`). */
int cgroup_signal_all(const struct cgroup *cg, int sig, v12n_error *err);

/* Kill what is left, then remove every directory the container owns. */
int cgroup_destroy(struct cgroup *cg, v12n_error *err);

/* Whether the memory controller recorded an OOM kill (for `state`/events). */
int cgroup_oom_killed(const struct cgroup *cg, bool *killed, v12n_error *err);

/* Persist in the container's state and load back in later commands. */
json_t *cgroup_to_json(const struct cgroup *cg);
int cgroup_from_json(json_t *j, struct cgroup **out, v12n_error *err);
void cgroup_free(struct cgroup *cg);

#endif
