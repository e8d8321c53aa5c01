#include "container/selfclone.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"

extern char **environ;

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

bool selfclone_is_sealed(void)
{
    auto_close int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals >= 0 && (seals & SEALS) == SEALS)
        return true;
    /* A binary on a read-only mount (ours, or the host's) cannot be reopened
     * for writing either. */
    struct statvfs vfs;
    return fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY) != 0;
}

/* The cheap way: a private, detached, read-only bind mount of our own binary
 * (no copy), executed through its fd; reopening /proc/<pid>/exe for writing
 * then fails with EROFS.  Needs open_tree/mount_setattr (Linux 5.12). */
static void exec_from_ro_bind(char **argv)
{
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe",
                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0)
        return;
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV};
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) == 0)
        syscall(SYS_execveat, tree, "", argv, environ, AT_EMPTY_PATH);
    close(tree);
}

/* Any argument naming such a command counts: a false positive only costs a
 * re-exec, a false negative would cost the host binary. */
static bool enters_container(int argc, char **argv)
{
    /* The engine's start and restart fork a monitor that creates the
     * container; the runtime's own `start` (after `oci`, or as runc) does not. */
    const char *slash = strrchr(argv[0], '/');
    const char *name = slash != NULL ? slash + 1 : argv[0];
    bool runtime = strcmp(name, "v12n-runc") == 0 || strcmp(name, "runc") == 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "oci") == 0)
            runtime = true;
        if (strcmp(argv[i], "create") == 0 || strcmp(argv[i], "run") == 0 ||
            strcmp(argv[i], "exec") == 0)
            return true;
        if (!runtime && (strcmp(argv[i], "start") == 0 || strcmp(argv[i], "restart") == 0))
            return true;
    }
    return false;
}

static int copy_self(int dst, v12n_error *err)
{
    auto_close int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (src < 0)
        return v12n_fail_errno(err, "open /proc/self/exe");
    struct stat st;
    if (fstat(src, &st) < 0)
        return v12n_fail_errno(err, "stat /proc/self/exe");
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t n = sendfile(dst, src, NULL, (size_t)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return v12n_fail_errno(err, "copy /proc/self/exe");
        left -= n;
    }
    return 0;
}

int selfclone_ensure(int argc, char **argv, v12n_error *err)
{
    if (!enters_container(argc, argv) || selfclone_is_sealed())
        return 0;
    exec_from_ro_bind(argv);
    /* Fallback: a sealed memfd copy. */
    auto_close int fd = memfd_create("v12n", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return v12n_fail_errno(err, "memfd_create");
    if (copy_self(fd, err) < 0)
        return -1;
    if (fcntl(fd, F_ADD_SEALS, SEALS) < 0)
        return v12n_fail_errno(err, "seal the runtime copy");
    fexecve(fd, argv, environ);
    return v12n_fail_errno(err, "re-exec from the sealed runtime copy");
}
