/* Docker/OCI whiteouts into overlayfs form.  A layer tar marks a deletion
 * with an empty file ".wh.NAME" and an opaque directory with
 * ".wh..wh..opq"; overlayfs wants a 0:0 character device named NAME and the
 * xattr trusted.overlay.opaque=y on the directory. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/unpack_internal.h"

#define WHITEOUT_OPAQUE_NAME ".wh..wh..opq"

enum whiteout_kind whiteout_classify(const char *base)
{
    if (strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) != 0)
        return WHITEOUT_NONE;
    if (strcmp(base, WHITEOUT_OPAQUE_NAME) == 0)
        return WHITEOUT_OPAQUE;
    if (strncmp(base, WHITEOUT_META_PREFIX, strlen(WHITEOUT_META_PREFIX)) == 0)
        return WHITEOUT_META;
    return WHITEOUT_FILE;
}

static int whiteout_file(int parentfd, const char *entry, const char *name, v12n_error *err)
{
    if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return v12n_fail(err, EINVAL, "layer entry %s: whiteout of an invalid name", entry);

    /* Whiteouts hide lower layers only: a NAME this layer already wrote
     * stays (it shadows the lower one anyway). */
    struct stat st;
    if (fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    if (errno != ENOENT)
        return v12n_fail_errno(err, "layer entry %s: stat %s", entry, name);

    if (mknodat(parentfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
        return v12n_fail_errno(err, "layer entry %s: create whiteout device %s", entry, name);
    if (fchownat(parentfd, name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
        return v12n_fail_errno(err, "layer entry %s: chown whiteout %s", entry, name);
    return 0;
}

static int whiteout_opaque(int parentfd, const char *entry, v12n_error *err)
{
    if (fsetxattr(parentfd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
        return v12n_fail_errno(err, "layer entry %s: set %s", entry, OVERLAY_OPAQUE_XATTR);
    return 0;
}

int whiteout_apply(int parentfd, const char *entry, const char *base, enum whiteout_kind kind,
                   v12n_error *err)
{
    switch (kind) {
    case WHITEOUT_FILE:
        return whiteout_file(parentfd, entry, base + strlen(WHITEOUT_PREFIX), err);
    case WHITEOUT_OPAQUE:
        return whiteout_opaque(parentfd, entry, err);
    case WHITEOUT_META:
    case WHITEOUT_NONE:
        break;
    }
    return 0;
}
