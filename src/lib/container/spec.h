/* The runtime spec (config.json, OCI runtime-spec 1.0-1.2, Linux), parsed and
 * validated up front so that a bad config fails before anything is created. */
#ifndef V12N_CONTAINER_SPEC_H
#define V12N_CONTAINER_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

struct cgroup_resources; /* cgroup.h */
struct seccomp_profile;  /* seccomp.h */
struct oci_capabilities; /* caps.h */

enum oci_ns_type {
    OCI_NS_PID,
    OCI_NS_NETWORK,
    OCI_NS_MOUNT,
    OCI_NS_IPC,
    OCI_NS_UTS,
    OCI_NS_USER,
    OCI_NS_CGROUP,
    OCI_NS_TIME,
    OCI_NS_COUNT
};

struct oci_namespace {
    bool wanted; /* listed in linux.namespaces */
    char *path;  /* join this one instead of creating (NULL: new) */
};

struct oci_id_mapping {
    uint32_t container_id, host_id, size;
};

struct oci_mount {
    char *destination;
    char *type;     /* may be NULL (bind) */
    char *source;   /* may be NULL */
    char **options; /* raw option strings, NULL-terminated */
    /* Derived from options: */
    unsigned long flags;       /* MS_* set by options */
    unsigned long clear_flags; /* MS_* cleared by "rw", "suid", ... */
    unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (|MS_REC) */
    bool bind;                 /* bind or rbind */
    char *data;                /* remaining options for the filesystem, comma-joined */
};

struct oci_device {
    char type; /* 'c', 'b', 'u', 'p' */
    char *path;
    int64_t major, minor;
    uint32_t file_mode; /* 0 means 0666 */
    bool has_file_mode;
    uint32_t uid, gid;
    bool has_uid, has_gid;
};

struct oci_rlimit {
    int resource; /* RLIMIT_* */
    char *name;   /* "RLIMIT_NOFILE" */
    uint64_t soft, hard;
};

struct oci_hook {
    char *path;
    char **args; /* may be NULL */
    char **env;  /* may be NULL */
    int timeout; /* seconds, 0 = none */
};

struct oci_hook_list {
    struct oci_hook *hooks;
    size_t n;
};

enum oci_hook_kind {
    OCI_HOOK_PRESTART,
    OCI_HOOK_CREATE_RUNTIME,
    OCI_HOOK_CREATE_CONTAINER,
    OCI_HOOK_START_CONTAINER,
    OCI_HOOK_POSTSTART,
    OCI_HOOK_POSTSTOP,
    OCI_HOOK_KIND_COUNT
};

struct oci_sysctl {
    char *key, *value;
};

struct oci_process {
    bool terminal;
    unsigned short console_height, console_width;
    char **args;
    char **env;
    char *cwd;
    uint32_t uid, gid;
    uint32_t *additional_gids;
    size_t n_additional_gids;
    bool has_umask;
    uint32_t umask;
    struct oci_capabilities *caps; /* NULL: leave as is */
    struct oci_rlimit *rlimits;
    size_t n_rlimits;
    bool no_new_privileges;
    bool has_oom_score_adj;
    int oom_score_adj;
    char *apparmor_profile; /* accepted, reported unsupported if set */
    char *selinux_label;
};

struct oci_spec {
    json_t *json; /* the whole document (owned) */
    char *oci_version;
    char *root_path; /* absolute: bundle-relative paths resolved */
    bool root_readonly;
    char *hostname, *domainname;
    struct oci_process process;
    bool has_process;
    struct oci_mount *mounts;
    size_t n_mounts;
    struct oci_hook_list hooks[OCI_HOOK_KIND_COUNT];
    json_t *annotations; /* borrowed from json; may be NULL */

    /* linux */
    struct oci_namespace namespaces[OCI_NS_COUNT];
    struct oci_id_mapping *uid_mappings, *gid_mappings;
    size_t n_uid_mappings, n_gid_mappings;
    struct oci_device *devices;
    size_t n_devices;
    char *cgroups_path;
    struct cgroup_resources *resources; /* NULL: none given */
    json_t *resources_json;             /* borrowed: for `update` and state */
    struct seccomp_profile *seccomp;    /* NULL: none */
    struct oci_sysctl *sysctls;
    size_t n_sysctls;
    char **masked_paths, **readonly_paths;
    unsigned long rootfs_propagation; /* MS_* or 0 */
    char *mount_label;
    struct timens_offsets {
        bool set;
        int64_t mono_secs, mono_nanosecs, boot_secs, boot_nanosecs;
    } time_offsets;
};

/* Parse bundle/config.json. Relative root.path is resolved against bundle.
 * seccomp_cache: a root-only directory where compiled seccomp filters are
 * kept for reuse (see seccomp.h), or NULL. */
int oci_spec_load(const char *bundle, const char *seccomp_cache, struct oci_spec **out,
                  v12n_error *err);

/* Parse from an in-memory JSON object.  The spec takes a reference of its own
 * (json_incref): the caller still owns, and must drop, the one it holds. */
int oci_spec_parse(json_t *json, const char *bundle, const char *seccomp_cache,
                   struct oci_spec **out, v12n_error *err);

/* Parse a standalone "process" object (for `exec --process`). */
int oci_process_parse(json_t *obj, struct oci_process *out, v12n_error *err);
void oci_process_clear(struct oci_process *p);

void oci_spec_free(struct oci_spec *spec);

/* Names as in config.json ("pid", "network", ...), and back. */
const char *oci_ns_name(enum oci_ns_type t);
int oci_ns_from_name(const char *name, enum oci_ns_type *out);
/* CLONE_NEW* flag and /proc/<pid>/ns/<file> name. */
int oci_ns_clone_flag(enum oci_ns_type t);
const char *oci_ns_proc_name(enum oci_ns_type t);

/* The default config.json `spec` writes (runc's, rootless when asked). */
json_t *oci_spec_default(bool rootless);

const char *oci_hook_kind_name(enum oci_hook_kind k);

#endif
