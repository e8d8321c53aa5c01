/* config.json "mounts": Docker's standard filesystems, the generated /etc
 * files, then the user's -v and --tmpfs and the image's Volumes, parents
 * before children. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/bundle.h"
#include "engine/engine_internal.h"
#include "engine/image_config.h"
#include "util/cleanup.h"
#include "util/json.h"

static json_t *options_array(const char *const *opts)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && opts[i] != NULL; i++)
        json_array_append_new(a, json_string(opts[i]));
    return a;
}

static json_t *mount_entry(const char *dst, const char *type, const char *src,
                           const char *const *opts)
{
    return json_pack("{s:s,s:s,s:s,s:o}", "destination", dst, "type", type, "source", src,
                     "options", options_array(opts));
}

static bool add(json_t *mounts, json_t *m)
{
    return m != NULL && json_array_append_new(mounts, m) == 0;
}

static bool add_standard(json_t *mounts, bool privileged)
{
    const char *sys_mode = privileged ? "rw" : "ro";
    const char *const proc[] = {"nosuid", "noexec", "nodev", NULL};
    const char *const dev[] = {"nosuid", "strictatime", "mode=755", "size=65536k", NULL};
    const char *const pts[] = {"nosuid",    "noexec", "newinstance", "ptmxmode=0666",
                               "mode=0620", "gid=5",  NULL};
    const char *const sys[] = {"nosuid", "noexec", "nodev", sys_mode, NULL};
    const char *const cgroup[] = {"nosuid", "noexec", "nodev", "relatime", sys_mode, NULL};
    const char *const mqueue[] = {"nosuid", "noexec", "nodev", NULL};
    /* Docker's --shm-size default: 64 MiB. */
    const char *const shm[] = {"nosuid", "noexec", "nodev", "mode=1777", "size=67108864", NULL};
    return add(mounts, mount_entry("/proc", "proc", "proc", proc)) &&
           add(mounts, mount_entry("/dev", "tmpfs", "tmpfs", dev)) &&
           add(mounts, mount_entry("/dev/pts", "devpts", "devpts", pts)) &&
           add(mounts, mount_entry("/sys", "sysfs", "sysfs", sys)) &&
           add(mounts, mount_entry("/sys/fs/cgroup", "cgroup", "cgroup", cgroup)) &&
           add(mounts, mount_entry("/dev/mqueue", "mqueue", "mqueue", mqueue)) &&
           add(mounts, mount_entry("/dev/shm", "tmpfs", "shm", shm));
}

static bool add_bind(json_t *mounts, const char *src, const char *dst, bool readonly)
{
    const char *const opts[] = {"rbind", "rprivate", readonly ? "ro" : "rw", NULL};
    return add(mounts, mount_entry(dst, "bind", src, opts));
}

static bool add_etc_files(json_t *mounts, const char *dir, bool readonly)
{
    static const char *const files[] = {"resolv.conf", "hostname", "hosts"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char src[4096], dst[64];
        if ((size_t)snprintf(src, sizeof src, "%s/%s", dir, files[i]) >= sizeof src)
            return false;
        snprintf(dst, sizeof dst, "/etc/%s", files[i]);
        if (!add_bind(mounts, src, dst, readonly))
            return false;
    }
    return true;
}

/* --tmpfs: Docker's safe defaults, then the user's options (later wins). */
static bool add_tmpfs(json_t *mounts, const char *dst, const char *user_opts)
{
    const char *const defaults[] = {"rw", "noexec", "nosuid", "nodev", NULL};
    json_t *m = mount_entry(dst, "tmpfs", "tmpfs", defaults);
    if (m == NULL)
        return false;
    json_t *opts = json_object_get(m, "options");
    auto_free char *copy = user_opts != NULL ? strdup(user_opts) : NULL;
    char *save = NULL;
    for (char *o = copy != NULL ? strtok_r(copy, ",", &save) : NULL; o != NULL;
         o = strtok_r(NULL, ",", &save))
        json_array_append_new(opts, json_string(o));
    return add(mounts, m);
}

/* Number of components: sorting by it puts /a before /a/b. */
static size_t depth(const char *path)
{
    size_t n = 0;
    for (const char *c = path; *c != '\0'; c++)
        if (*c == '/' && c[1] != '/' && c[1] != '\0')
            n++;
    return n;
}

static int by_depth(const void *a, const void *b)
{
    size_t da = depth(json_string_value(json_object_get(*(json_t *const *)a, "destination")));
    size_t db = depth(json_string_value(json_object_get(*(json_t *const *)b, "destination")));
    return da < db ? -1 : da > db;
}

static bool user_covers(const struct engine_run_opts *opts, const char *dst)
{
    for (size_t i = 0; i < opts->n_volumes; i++)
        if (strcmp(opts->volumes[i].destination, dst) == 0)
            return true;
    for (size_t i = 0; i < opts->n_tmpfs; i++)
        if (strcmp(opts->tmpfs[i].destination, dst) == 0)
            return true;
    return false;
}

static bool has_dotdot(const char *path)
{
    for (const char *p = strstr(path, ".."); p != NULL; p = strstr(p + 1, ".."))
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return true;
    return false;
}

/* The image's Volumes stay in the container's own upper layer (its data
 * included, as Docker copies it into a new volume), which is writable; with
 * a read-only rootfs they become tmpfs so that they stay writable. */
static int add_image_volumes(json_t *user, const struct image_config *img,
                             const struct engine_run_opts *opts, v12n_error *err)
{
    const char *dst;
    json_t *value;
    json_object_foreach(img->volumes, dst, value)
    {
        if (dst[0] != '/' || has_dotdot(dst) || strlen(dst) >= 4096)
            return v12n_fail(err, EINVAL,
                             "image config: Volumes: \"%.128s\" is not a clean "
                             "absolute path",
                             dst);
        if (!opts->read_only || user_covers(opts, dst) || strcmp(dst, "/") == 0)
            continue;
        const char *const tmpfs_opts[] = {"rw", "nosuid", "nodev", "mode=755", NULL};
        if (!add(user, mount_entry(dst, "tmpfs", "tmpfs", tmpfs_opts)))
            return v12n_fail(err, ENOMEM, "mounts: image volume %.128s", dst);
    }
    return 0;
}

static json_t *user_mounts(const struct image_config *img, const struct engine_run_opts *opts,
                           v12n_error *err)
{
    json_t *user auto_json = json_array();
    bool ok = user != NULL;
    for (size_t i = 0; ok && i < opts->n_volumes; i++)
        ok = add_bind(user, opts->volumes[i].source, opts->volumes[i].destination,
                      opts->volumes[i].readonly);
    for (size_t i = 0; ok && i < opts->n_tmpfs; i++)
        ok = add_tmpfs(user, opts->tmpfs[i].destination, opts->tmpfs[i].options);
    if (!ok)
        return v12n_fail(err, ENOMEM, "mounts: -v/--tmpfs"), NULL;
    if (add_image_volumes(user, img, opts, err) < 0)
        return NULL;
    /* Parents first; equal depths keep the order given (insertion sort is
     * stable, and there are few). */
    size_t n = json_array_size(user);
    json_t **items auto_free = calloc(n + 1, sizeof *items);
    if (items == NULL)
        return v12n_fail(err, ENOMEM, "mounts"), NULL;
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(user, i);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && by_depth(&items[j - 1], &items[j]) > 0; j--) {
            json_t *t = items[j];
            items[j] = items[j - 1];
            items[j - 1] = t;
        }
    json_t *sorted = json_array();
    for (size_t i = 0; sorted != NULL && i < n; i++)
        json_array_append(sorted, items[i]);
    return sorted;
}

json_t *engine_spec_mounts(const struct image_config *img, const struct engine_run_opts *opts,
                           const struct engine_bundle_paths *paths, v12n_error *err)
{
    json_t *mounts auto_json = json_array();
    if (mounts == NULL || !add_standard(mounts, opts->privileged))
        return v12n_fail(err, ENOMEM, "mounts"), NULL;
    if (paths->etc_dir != NULL && !add_etc_files(mounts, paths->etc_dir, opts->read_only))
        return v12n_fail(err, ENAMETOOLONG, "mounts: /etc files under %.128s", paths->etc_dir),
               NULL;
    json_t *user auto_json = user_mounts(img, opts, err);
    if (user == NULL || json_array_extend(mounts, user) < 0)
        return NULL;
    return v12n_take_ptr(&mounts);
}
