/* config.json "linux": namespaces, Docker's masked and read-only paths, its
 * seccomp profile, the device rules, resources and sysctls; --privileged
 * lifts the confinement and hands over the host's devices. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "engine/bundle.h"
#include "engine/engine_internal.h"
#include "util/cleanup.h"
#include "util/json.h"

#define CPU_PERIOD_US  100000
#define MIN_MEMORY     (6 << 20) /* Docker's floor: below, the container cannot start */
#define HOST_DEV_DEPTH 3
#define HOST_DEV_MAX   4096
#define CGROUP_ROOT    "/sys/fs/cgroup"
#define TIME_NS        "/proc/self/ns/time"

static json_t *strings(const char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && v[i] != NULL; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *namespaces(const struct engine_run_opts *opts)
{
    json_t *ns = json_pack("[{s:s},{s:s},{s:s},{s:s},{s:s}]", "type", "pid", "type", "ipc", "type",
                           "uts", "type", "mount", "type", "cgroup");
    if (ns != NULL && opts->network != ENGINE_NET_HOST)
        json_array_append_new(ns, json_pack("{s:s}", "type", "network"));
    /* Docker (since 29.5) gives each container its own time namespace where
     * the kernel has them (>= 5.6). */
    if (ns != NULL && access(TIME_NS, F_OK) == 0)
        json_array_append_new(ns, json_pack("{s:s}", "type", "time"));
    return ns;
}

static json_t *dev_rule(const char *type, int64_t major, int64_t minor, const char *access)
{
    json_t *r = json_pack("{s:b,s:s,s:s}", "allow", 1, "type", type, "access", access);
    if (r != NULL && major >= 0)
        json_object_set_new(r, "major", json_integer(major));
    if (r != NULL && minor >= 0)
        json_object_set_new(r, "minor", json_integer(minor));
    return r;
}

/* Docker's device cgroup: deny all, mknod of anything (the node is useless
 * without access), and the standard character devices. */
static json_t *device_rules(bool privileged)
{
    if (privileged)
        return json_pack("[{s:b,s:s}]", "allow", 1, "access", "rwm");
    static const struct {
        const char *type;
        int64_t major, minor;
        const char *access;
    } rules[] = {
        {"c", -1, -1, "m"},    {"b", -1, -1, "m"}, {"c", 1, 3, "rwm"},    {"c", 1, 8, "rwm"},
        {"c", 1, 7, "rwm"},    {"c", 5, 0, "rwm"}, {"c", 1, 5, "rwm"},    {"c", 1, 9, "rwm"},
        {"c", 136, -1, "rwm"}, {"c", 5, 2, "rwm"}, {"c", 10, 200, "rwm"},
    };
    json_t *a = json_pack("[{s:b,s:s}]", "allow", 0, "access", "rwm");
    for (size_t i = 0; a != NULL && i < sizeof rules / sizeof rules[0]; i++)
        json_array_append_new(
            a, dev_rule(rules[i].type, rules[i].major, rules[i].minor, rules[i].access));
    return a;
}

static int resources(const struct engine_run_opts *opts, json_t *res, v12n_error *err)
{
    if (opts->memory < 0 || (opts->memory > 0 && opts->memory < MIN_MEMORY))
        return v12n_fail(err, EINVAL, "--memory: the minimum is 6MiB");
    if (opts->memory > 0) {
        json_t *mem = json_pack("{s:I}", "limit", (json_int_t)opts->memory);
        /* Docker's default --memory-swap: memory+swap = 2x memory, where the
         * host can limit swap at all (else no swap limit is set). */
        if (mem != NULL && opts->memory <= INT64_MAX / 2 &&
            engine_swap_limit_supported(CGROUP_ROOT) &&
            json_object_set_new(mem, "swap", json_integer((json_int_t)opts->memory * 2)) < 0) {
            json_decref(mem);
            mem = NULL;
        }
        if (json_object_set_new(res, "memory", mem) < 0)
            return v12n_fail(err, ENOMEM, "linux.resources.memory");
    }
    if (opts->nano_cpus < 0)
        return v12n_fail(err, EINVAL, "--cpus: must be positive");
    if (opts->nano_cpus > 0) {
        /* quota/period = CPUs; the kernel needs at least 1 ms of quota. */
        int64_t quota = opts->nano_cpus / (1000000000 / CPU_PERIOD_US);
        if (quota < 1000)
            quota = 1000;
        if (json_object_set_new(res, "cpu",
                                json_pack("{s:I,s:I}", "quota", (json_int_t)quota, "period",
                                          (json_int_t)CPU_PERIOD_US)) < 0)
            return v12n_fail(err, ENOMEM, "linux.resources.cpu");
    }
    if (opts->pids_limit > 0 &&
        json_object_set_new(res, "pids",
                            json_pack("{s:I}", "limit", (json_int_t)opts->pids_limit)) < 0)
        return v12n_fail(err, ENOMEM, "linux.resources.pids");
    return 0;
}

static bool skip_host_dev(const char *rel)
{
    static const char *const skipped[] = {"pts",     "shm",  "mqueue", "fd",
                                          "console", "core", ".lxc",   ".udev"};
    for (size_t i = 0; i < sizeof skipped / sizeof skipped[0]; i++)
        if (strcmp(rel, skipped[i]) == 0)
            return true;
    return false;
}

/* --privileged: every device node of the host's /dev (not following links). */
static int host_devices_in(const char *dir, int depth, json_t *out, v12n_error *err)
{
    DIR *d auto_closedir = opendir(dir);
    if (d == NULL)
        return depth == 0 ? v12n_fail_errno(err, "host %s", dir) : 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || strcmp(e->d_name, "..") == 0))
            continue;
        if (depth == 0 && skip_host_dev(e->d_name))
            continue;
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue; /* gone meanwhile */
        if (S_ISDIR(st.st_mode) && depth + 1 < HOST_DEV_DEPTH) {
            if (host_devices_in(path, depth + 1, out, err) < 0)
                return -1;
            continue;
        }
        if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
            continue;
        if (json_array_size(out) >= HOST_DEV_MAX)
            return 0;
        json_t *dev =
            json_pack("{s:s,s:s,s:I,s:I,s:i,s:I,s:I}", "path", path, "type",
                      S_ISCHR(st.st_mode) ? "c" : "b", "major", (json_int_t)major(st.st_rdev),
                      "minor", (json_int_t)minor(st.st_rdev), "fileMode", (int)(st.st_mode & 07777),
                      "uid", (json_int_t)st.st_uid, "gid", (json_int_t)st.st_gid);
        if (dev == NULL || json_array_append_new(out, dev) < 0)
            return v12n_fail(err, ENOMEM, "host devices");
    }
    return 0;
}

json_t *engine_spec_linux(const struct engine_run_opts *opts, unsigned long long caps,
                          v12n_error *err)
{
    json_t *res auto_json = json_pack("{s:o}", "devices", device_rules(opts->privileged));
    if (res == NULL)
        return v12n_fail(err, ENOMEM, "linux.resources"), NULL;
    if (resources(opts, res, err) < 0)
        return NULL;
    json_t *linux_obj auto_json =
        json_pack("{s:o,s:O}", "namespaces", namespaces(opts), "resources", res);
    if (linux_obj == NULL)
        return v12n_fail(err, ENOMEM, "linux"), NULL;
    /* Docker's sysctls for a container with its own network: ping without
     * CAP_NET_RAW, and low ports without CAP_NET_BIND_SERVICE. */
    if (opts->network != ENGINE_NET_HOST &&
        json_object_set_new(linux_obj, "sysctl",
                            json_pack("{s:s,s:s}", "net.ipv4.ip_unprivileged_port_start", "0",
                                      "net.ipv4.ping_group_range", "0 2147483647")) < 0)
        return v12n_fail(err, ENOMEM, "linux.sysctl"), NULL;
    if (opts->privileged) {
        json_t *devices = json_array();
        if (devices == NULL || json_object_set_new(linux_obj, "devices", devices) < 0)
            return v12n_fail(err, ENOMEM, "linux.devices"), NULL;
        if (host_devices_in("/dev", 0, devices, err) < 0)
            return NULL;
        return v12n_take_ptr(&linux_obj);
    }
    json_t *seccomp = engine_docker_seccomp(caps);
    if (seccomp == NULL || json_object_set_new(linux_obj, "seccomp", seccomp) < 0 ||
        json_object_set_new(linux_obj, "maskedPaths", engine_docker_masked_paths_json()) < 0 ||
        json_object_set_new(linux_obj, "readonlyPaths", strings(engine_docker_readonly_paths)) < 0)
        return v12n_fail(err, ENOMEM, "linux"), NULL;
    return v12n_take_ptr(&linux_obj);
}
