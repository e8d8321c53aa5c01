/* The container's rootfs: an overlay of the image's layers (read-only,
 * shared with every container of the image) under the container's own upper
 * directory.  With the new mount API each layer is one "lowerdir+" value
 * (Linux 6.8+), so neither the 256-byte fsconfig string limit nor the
 * page-sized mount(2) data limit bounds the number of layers; older kernels
 * get one mount(2) with a joined lowerdir, as long as it fits. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "engine/bundle.h"
#include "engine/engine_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define MOUNT_DATA_MAX 4096 /* one page: mount(2) truncates beyond */

/* glibc 2.36 declares fsopen() and friends in <sys/mount.h>. */

/* 1: mounted; 0: this kernel lacks fsopen or lowerdir+ (try the old way);
 * -1: a real error. */
static int mount_new_api(const char *const *lowers, size_t n, const char *upper, const char *work,
                         const char *merged, bool ephemeral, v12n_error *err)
{
    int fs auto_close = fsopen("overlay", FSOPEN_CLOEXEC);
    if (fs < 0)
        return errno == ENOSYS ? 0 : v12n_fail_errno(err, "rootfs %s: fsopen overlay", merged);
    for (size_t i = 0; i < n; i++)
        if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lowers[i], 0) < 0) {
            if (i == 0 && errno == EINVAL)
                return 0; /* before 6.8: no lowerdir+ */
            return v12n_fail_errno(err, "rootfs %s: layer %s", merged, lowers[i]);
        }
    if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0)
        return v12n_fail_errno(err, "rootfs %s: upperdir %s", merged, upper);
    if (fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0)
        return v12n_fail_errno(err, "rootfs %s: workdir %s", merged, work);
    /* Before Linux 5.10 no "volatile": a synced upper is only slower. */
    if (ephemeral && fsconfig(fs, FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0 && errno != EINVAL)
        return v12n_fail_errno(err, "rootfs %s: volatile", merged);
    if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return v12n_fail_errno(err, "rootfs %s: create overlay", merged);
    int mnt auto_close = fsmount(fs, FSMOUNT_CLOEXEC, 0);
    if (mnt < 0)
        return v12n_fail_errno(err, "rootfs %s: fsmount", merged);
    if (move_mount(mnt, "", AT_FDCWD, merged, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return v12n_fail_errno(err, "rootfs %s: move_mount", merged);
    return 1;
}

/* The old option string cannot carry these in a path. */
static bool path_fits_options(const char *p)
{
    return strpbrk(p, ",:\\") == NULL;
}

int engine_overlay_mount_legacy(const char *const *lowers, size_t n, const char *upper,
                                const char *work, const char *merged, bool ephemeral,
                                v12n_error *err)
{
    char data[MOUNT_DATA_MAX];
    size_t used = (size_t)snprintf(data, sizeof data, "lowerdir=");
    for (size_t i = 0; i < n; i++) {
        if (!path_fits_options(lowers[i]))
            return v12n_fail(err, EINVAL, "rootfs %s: layer path %s has ',', ':' or '\\'", merged,
                             lowers[i]);
        used += (size_t)snprintf(data + used, sizeof data - used, "%s%s", i ? ":" : "", lowers[i]);
        if (used >= sizeof data)
            return v12n_fail(err, E2BIG,
                             "rootfs %s: %zu layers do not fit this kernel's mount "
                             "options (needs Linux 6.8 for more)",
                             merged, n);
    }
    if (!path_fits_options(upper) || !path_fits_options(work))
        return v12n_fail(err, EINVAL, "rootfs %s: upper or work path has ',', ':' or '\\'", merged);
    used += (size_t)snprintf(data + used, sizeof data - used, ",upperdir=%s,workdir=%s%s", upper,
                             work, ephemeral ? ",volatile" : "");
    if (used >= sizeof data)
        return v12n_fail(err, E2BIG, "rootfs %s: mount options too long", merged);
    if (mount("overlay", merged, "overlay", 0, data) == 0)
        return 0;
    if (ephemeral && errno == EINVAL) { /* before Linux 5.10: no "volatile" */
        data[used - strlen(",volatile")] = '\0';
        if (mount("overlay", merged, "overlay", 0, data) == 0)
            return 0;
    }
    return v12n_fail_errno(err, "rootfs %s: mount overlay", merged);
}

/* A volatile overlay leaves work/work/incompat/volatile behind, and the
 * kernel refuses to mount that work directory again (the upper may have lost
 * writes in a crash).  An ephemeral upper is thrown away anyway: clear it. */
static int clear_volatile_mark(const char *work, v12n_error *err)
{
    char incompat[4200];
    snprintf(incompat, sizeof incompat, "%s/work/incompat", work);
    if (access(incompat, F_OK) < 0)
        return errno == ENOENT ? 0 : v12n_fail_errno(err, "rootfs: %s", incompat);
    return v12n_rm_rf(incompat, err);
}

int engine_rootfs_mount(const char *const *lowers, size_t n, const char *upper, const char *work,
                        const char *merged, bool ephemeral, v12n_error *err)
{
    if (n == 0)
        return v12n_fail(err, EINVAL, "rootfs %s: no layers", merged);
    if (ephemeral && clear_volatile_mark(work, err) < 0)
        return -1;
    int rc = mount_new_api(lowers, n, upper, work, merged, ephemeral, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    return engine_overlay_mount_legacy(lowers, n, upper, work, merged, ephemeral, err);
}

int engine_rootfs_umount(const char *merged, v12n_error *err)
{
    if (umount2(merged, UMOUNT_NOFOLLOW) == 0)
        return 0;
    /* Busy (a process still holds a file): detach now, freed when let go. */
    if (errno == EBUSY && umount2(merged, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
        return 0;
    return v12n_fail_errno(err, "rootfs %s: umount", merged);
}
