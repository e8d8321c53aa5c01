/* The runtime pieces containers need: namespaces, cgroups, overlayfs, TAP,
 * seccomp, user namespaces. */
#include "host/host.h"

#include <dirent.h>
#include <errno.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "util/cleanup.h"
#include "util/fs.h"

static int compare_names(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void probe_namespaces(struct host_features *f)
{
    auto_closedir DIR *d = opendir("/proc/self/ns");
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && f->n_namespaces < HOST_NS_MAX) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof f->namespaces[0])
            continue;
        /* *_for_children are views of the same kinds */
        if (strstr(e->d_name, "_for_children") != NULL)
            continue;
        strcpy(f->namespaces[f->n_namespaces++], e->d_name);
    }
    qsort(f->namespaces, (size_t)f->n_namespaces, sizeof f->namespaces[0], compare_names);
}

static bool filesystem_known(const char *name)
{
    v12n_error err = {0};
    auto_free char *fs = v12n_read_file("/proc/filesystems", NULL, &err);
    if (fs == NULL)
        return false;
    size_t n = strlen(name);
    for (char *line = fs; line != NULL && *line != '\0';) {
        char *tab = strchr(line, '\t');
        char *eol = strchr(line, '\n');
        if (tab != NULL && (eol == NULL || tab < eol) && strncmp(tab + 1, name, n) == 0 &&
            (tab[1 + n] == '\n' || tab[1 + n] == '\0'))
            return true;
        line = eol != NULL ? eol + 1 : NULL;
    }
    return false;
}

static bool userns_allowed(void)
{
    v12n_error err = {0};
    auto_free char *max = v12n_read_file("/proc/sys/user/max_user_namespaces", NULL, &err);
    if (max == NULL)
        return v12n_path_exists("/proc/self/ns/user");
    return strtol(max, NULL, 10) > 0;
}

static bool seccomp_filters(void)
{
    /* EFAULT means the kernel knows filter mode and rejected our NULL
     * program; EINVAL means no CONFIG_SECCOMP_FILTER. */
    if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0)
        return false;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, NULL, 0, 0) < 0 && errno == EFAULT;
}

void host_probe_features(struct host_features *f)
{
    memset(f, 0, sizeof *f);
    probe_namespaces(f);
    v12n_error err = {0};
    auto_free char *mi = v12n_read_file("/proc/self/mountinfo", NULL, &err);
    f->cgroup = mi != NULL ? host_cgroup_mode_from_mountinfo(mi) : HOST_CGROUP_NONE;
    f->overlayfs = filesystem_known("overlay");
    f->tun = v12n_path_exists("/dev/net/tun");
    f->seccomp = seccomp_filters();
    f->userns = userns_allowed();
}
