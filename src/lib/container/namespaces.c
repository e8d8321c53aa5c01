#include "container/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

/* The order setns must follow. */
static const enum oci_ns_type join_order[OCI_NS_COUNT] = {
    OCI_NS_USER, OCI_NS_IPC,    OCI_NS_UTS,  OCI_NS_NETWORK,
    OCI_NS_PID,  OCI_NS_CGROUP, OCI_NS_TIME, OCI_NS_MOUNT,
};

static void fds_init(int fds[OCI_NS_COUNT])
{
    for (int t = 0; t < OCI_NS_COUNT; t++)
        fds[t] = -1;
}

void ns_close_all(int fds[OCI_NS_COUNT])
{
    for (int t = 0; t < OCI_NS_COUNT; t++) {
        if (fds[t] >= 0)
            close(fds[t]);
        fds[t] = -1;
    }
}

int ns_open_paths(const struct oci_spec *spec, int fds[OCI_NS_COUNT], v12n_error *err)
{
    fds_init(fds);
    for (int t = 0; t < OCI_NS_COUNT; t++) {
        const char *path = spec->namespaces[t].path;
        if (!spec->namespaces[t].wanted || path == NULL)
            continue;
        fds[t] = open(path, O_RDONLY | O_CLOEXEC);
        if (fds[t] < 0) {
            int saved = errno;
            ns_close_all(fds);
            return v12n_fail(err, saved, "namespace %s: open %s", oci_ns_name(t), path);
        }
    }
    return 0;
}

static int same_ns(pid_t pid, const char *name, int fd)
{
    char self[64];
    snprintf(self, sizeof self, "/proc/self/ns/%s", name);
    struct stat a, b;
    if (stat(self, &a) < 0 || fstat(fd, &b) < 0)
        return 0;
    (void)pid;
    return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

int ns_open_of_pid(pid_t pid, int fds[OCI_NS_COUNT], v12n_error *err)
{
    fds_init(fds);
    for (int t = 0; t < OCI_NS_COUNT; t++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, oci_ns_proc_name(t));
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT && t == OCI_NS_TIME)
                continue; /* kernels without time namespaces */
            int saved = errno;
            ns_close_all(fds);
            return v12n_fail(err, saved, "open %s", path);
        }
        if (same_ns(pid, oci_ns_proc_name(t), fd)) {
            close(fd);
            continue;
        }
        fds[t] = fd;
    }
    return 0;
}

int ns_join(int fds[OCI_NS_COUNT], v12n_error *err)
{
    for (int i = 0; i < OCI_NS_COUNT; i++) {
        enum oci_ns_type t = join_order[i];
        if (fds[t] < 0)
            continue;
        if (setns(fds[t], oci_ns_clone_flag(t)) < 0)
            return v12n_fail_errno(err, "join %s namespace", oci_ns_name(t));
        close(fds[t]);
        fds[t] = -1;
    }
    return 0;
}

int ns_new_flags(const struct oci_spec *spec, int except)
{
    int flags = 0;
    for (int t = 0; t < OCI_NS_COUNT; t++)
        if (spec->namespaces[t].wanted && spec->namespaces[t].path == NULL)
            flags |= oci_ns_clone_flag(t);
    return flags & ~except;
}

static int write_map(pid_t pid, const char *file, const struct oci_id_mapping *m, size_t n,
                     v12n_error *err)
{
    char buf[4096];
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(buf + used, sizeof buf - used, "%u %u %u\n", m[i].container_id,
                         m[i].host_id, m[i].size);
        if (w < 0 || (size_t)w >= sizeof buf - used)
            return v12n_fail(err, E2BIG, "user namespace: %s too long", file);
        used += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    if (v12n_write_file(path, buf, used, err) < 0)
        return v12n_error_wrap(err, "user namespace: write %s", file);
    return 0;
}

int ns_write_id_maps(pid_t pid, const struct oci_spec *spec, v12n_error *err)
{
    if (write_map(pid, "uid_map", spec->uid_mappings, spec->n_uid_mappings, err) < 0)
        return -1;
    return write_map(pid, "gid_map", spec->gid_mappings, spec->n_gid_mappings, err);
}

int ns_write_time_offsets(const struct oci_spec *spec, v12n_error *err)
{
    if (!spec->time_offsets.set)
        return 0;
    char buf[256];
    int n = snprintf(
        buf, sizeof buf, "monotonic %lld %lld\nboottime %lld %lld\n",
        (long long)spec->time_offsets.mono_secs, (long long)spec->time_offsets.mono_nanosecs,
        (long long)spec->time_offsets.boot_secs, (long long)spec->time_offsets.boot_nanosecs);
    /* The kernel takes one line per write. */
    char *second = strchr(buf, '\n') + 1;
    if (v12n_write_file("/proc/self/timens_offsets", buf, (size_t)(second - buf), err) < 0 ||
        v12n_write_file("/proc/self/timens_offsets", second, (size_t)(buf + n - second), err) < 0)
        return v12n_error_wrap(err, "time namespace offsets");
    return 0;
}
