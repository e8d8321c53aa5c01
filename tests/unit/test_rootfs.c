/* The container filesystem, for real: each scenario builds a rootfs in
 * /tmp and runs rootfs_prepare/pivot/finish in a forked child that has its
 * own mount namespace (it dies with the child, so nothing stays mounted on
 * the host).  The child reports failure through its exit status. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "container/rootfs.h"
#include "container/rootfs_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define MQUEUE_MAGIC 0x19800202

/* ---- host-side fixture ---- */

struct fixture {
    char dir[64];           /* /tmp/v12n-rootfs-XXXXXX */
    char root[PATH_MAX];    /* dir/rootfs: the image */
    char host[PATH_MAX];    /* dir/host: a host directory to bind */
    char outside[PATH_MAX]; /* dir/outside: where escapes would land */
    char victim[PATH_MAX];  /* dir/victim: a host file attacks aim at */
};

static void put_file(const char *path, const char *data, mode_t mode)
{
    v12n_error err = {0};
    assert_int_equal(v12n_write_file_atomic(path, data, strlen(data), mode, &err), 0);
}

static void put_dir(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void put_dir(const char *fmt, ...)
{
    char path[PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    v12n_error err = {0};
    assert_int_equal(v12n_mkdir_p(path, 0755, &err), 0);
}

static void put_link(const char *target, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put_link(const char *target, const char *fmt, ...)
{
    char path[PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    assert_int_equal(symlink(target, path), 0);
}

static bool have_busybox(void)
{
    return access("/bin/busybox", X_OK) == 0;
}

static void copy_busybox(const char *root)
{
    char dst[PATH_MAX];
    snprintf(dst, sizeof dst, "%s/bin/busybox", root);
    v12n_error err = {0};
    size_t len;
    auto_free char *data = v12n_read_file("/bin/busybox", &len, &err);
    assert_non_null(data);
    auto_close int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    assert_true(fd >= 0);
    assert_int_equal(v12n_write_all(fd, data, len), 0);
}

static int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/v12n-rootfs-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->root, sizeof f->root, "%s/rootfs", f->dir);
    snprintf(f->host, sizeof f->host, "%s/host", f->dir);
    snprintf(f->outside, sizeof f->outside, "%s/outside", f->dir);
    snprintf(f->victim, sizeof f->victim, "%s/victim", f->dir);
    put_dir("%s/bin", f->root);
    put_dir("%s/etc", f->root);
    put_dir("%s/masked_dir", f->root);
    put_dir("%s/rw_dir", f->root);
    put_dir("%s", f->host);
    put_dir("%s/p", f->outside);
    put_dir("%s/e", f->outside);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/marker", f->root);
    put_file(path, "image", 0644);
    snprintf(path, sizeof path, "%s/etc/secret", f->root);
    put_file(path, "top secret", 0644);
    snprintf(path, sizeof path, "%s/etc/passwd", f->root);
    put_file(path, "inside", 0644);
    snprintf(path, sizeof path, "%s/masked_dir/file", f->root);
    put_file(path, "hidden", 0644);
    snprintf(path, sizeof path, "%s/data", f->host);
    put_file(path, "hostdata", 0644);
    snprintf(path, sizeof path, "%s/host-marker", f->outside);
    put_file(path, "host", 0644);
    put_file(f->victim, "precious", 0644);
    if (have_busybox())
        copy_busybox(f->root);
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *f = *state;
    v12n_error err = {0};
    assert_int_equal(v12n_rm_rf(f->dir, &err), 0);
    free(f);
    return 0;
}

/* ---- the child ---- */

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s (errno: %s)\n", __FILE__, __LINE__, #cond,    \
                    strerror(errno));                                                              \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

/* A call that must succeed; errp is the v12n_error it fills. */
#define CHECK_OK(call, errp)                                                                       \
    do {                                                                                           \
        if ((call) < 0) {                                                                          \
            char buf_[V12N_ERROR_MSG_MAX + 64];                                                    \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call,                   \
                    v12n_error_text((errp), buf_, sizeof buf_));                                   \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

/* A call that must fail: its error text into buf. */
#define CHECK_FAILS(call, errp, buf)                                                               \
    do {                                                                                           \
        v12n_error_clear(errp);                                                                    \
        CHECK((call) < 0);                                                                         \
        v12n_error_text((errp), (buf), sizeof(buf));                                               \
    } while (0)

#define CHECK_STR(got, want)                                                                       \
    do {                                                                                           \
        if (strcmp((got), (want)) != 0) {                                                          \
            fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, (got),         \
                    (want));                                                                       \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

typedef int (*child_fn)(const struct fixture *f, void *arg);

/* Run fn in a child with a private mount namespace; its exit status. */
static int run_child(const struct fixture *f, child_fn fn, void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
            perror("unshare/mount");
            _exit(2);
        }
        int r = fn(f, arg);
        fflush(NULL);
        _exit(r);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "child killed by signal %d\n", WTERMSIG(status));
        return 128 + WTERMSIG(status);
    }
    return WEXITSTATUS(status);
}

static int read_text(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

static bool is_chr(const char *path, unsigned int maj, unsigned int min)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(maj, min);
}

static bool link_is(const char *path, const char *want)
{
    char buf[PATH_MAX];
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    if (n < 0)
        return false;
    buf[n] = '\0';
    return strcmp(buf, want) == 0;
}

static bool fs_is(const char *path, long magic)
{
    struct statfs sfs;
    return statfs(path, &sfs) == 0 && sfs.f_type == magic;
}

static bool creat_fails_with(const char *path, int want_errno)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        close(fd);
        unlink(path);
        return false;
    }
    return errno == want_errno;
}

/* A mount point: on another device than its parent, or its own mount. */
static bool is_mount_point(const char *path)
{
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash == NULL)
        return false;
    slash[slash == parent ? 1 : 0] = '\0';
    struct stat a, b;
    if (stat(path, &a) < 0 || stat(parent, &b) < 0)
        return false;
    if (a.st_dev != b.st_dev)
        return true;
    /* Same fs (a bind of a dir of it): look for it in mountinfo. */
    char want[PATH_MAX + 2], *line = NULL;
    snprintf(want, sizeof want, " %s ", path);
    FILE *mi = fopen("/proc/self/mountinfo", "re");
    size_t cap = 0;
    bool found = false;
    while (mi != NULL && getline(&line, &cap, mi) > 0)
        if (strstr(line, want) != NULL)
            found = true;
    free(line);
    if (mi != NULL)
        fclose(mi);
    return found;
}

static int count_root_mounts(void)
{
    FILE *mi = fopen("/proc/self/mountinfo", "re");
    if (mi == NULL)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    while (getline(&line, &cap, mi) > 0) {
        char mp[PATH_MAX];
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strcmp(mp, "/") == 0)
            n++;
    }
    free(line);
    fclose(mi);
    return n;
}

static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return false;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n == 0;
}

static int open_pty_slave(void)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
        return -1;
    char *name = ptsname(master);
    return name == NULL ? -1 : open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

/* ---- the full container view ---- */

struct full_args {
    bool fake_userns; /* as in a user namespace: devices bound from the host */
    bool no_pivot;
};

static char *masked[] = {"/etc/secret", "/masked_dir", "/does/not/exist", "/proc/kcore", NULL};
static char *readonly[] = {"/proc/sys", "/rw_dir/", "/missing/dir", NULL};

static bool host_is_cgroup_v1(void)
{
    return !fs_is("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC);
}

/* The init's own cgroup is what the container sees: on v1 its memory (or
 * pids) cgroup lists us; on v2 without a cgroup namespace, the hierarchy. */
static bool cgroup_view_ok(bool v1)
{
    if (!v1)
        return access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
    const char *path = access("/sys/fs/cgroup/memory", F_OK) == 0
                           ? "/sys/fs/cgroup/memory/cgroup.procs"
                           : "/sys/fs/cgroup/pids/cgroup.procs";
    char text[8192], me[32];
    if (read_text(path, text + 1, sizeof text - 1) < 0)
        return false;
    text[0] = '\n'; /* so that every pid, the first too, follows a newline */
    snprintf(me, sizeof me, "\n%d\n", getpid());
    return strstr(text, me) != NULL;
}

static int check_busybox_runs(void)
{
    if (access("/bin/busybox", X_OK) < 0)
        return 0;
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/busybox", "busybox", "sh", "-c",
              "test -c /dev/null && test -L /dev/fd && test -d /proc/self && "
              "cat /mnt/ro/data > /tmp/ok",
              (char *)NULL);
        _exit(127);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char text[64];
    CHECK(read_text("/tmp/ok", text, sizeof text) == 0);
    CHECK_STR(text, "hostdata");
    return 0;
}

static int check_full_view(const struct fixture *f, const struct full_args *a, int slave, bool v1)
{
    char text[256];
    struct stat st;
    /* We are in the image, and the host is gone. */
    CHECK(read_text("/marker", text, sizeof text) == 0);
    CHECK_STR(text, "image");
    CHECK(stat(f->dir, &st) < 0 && errno == ENOENT);
    if (!a->no_pivot)
        CHECK(count_root_mounts() == 1);
    CHECK(access("/proc/self/stat", F_OK) == 0);
    CHECK(fs_is("/proc", PROC_SUPER_MAGIC));

    /* /dev */
    CHECK(is_chr("/dev/null", 1, 3));
    CHECK(is_chr("/dev/zero", 1, 5));
    CHECK(is_chr("/dev/full", 1, 7));
    CHECK(is_chr("/dev/random", 1, 8));
    CHECK(is_chr("/dev/urandom", 1, 9));
    CHECK(is_chr("/dev/tty", 5, 0));
    if (!a->fake_userns) {
        CHECK(lstat("/dev/null", &st) == 0 && (st.st_mode & 07777) == 0666);
        CHECK(is_chr("/dev/sub/custom", 1, 3));
        CHECK(lstat("/dev/sub/custom", &st) == 0 && (st.st_mode & 07777) == 0600);
        CHECK(st.st_uid == 1000 && st.st_gid == 1001);
    } else {
        CHECK(is_mount_point("/dev/null"));
    }
    CHECK(lstat("/dev/myfifo", &st) == 0 && S_ISFIFO(st.st_mode));
    CHECK(link_is("/dev/fd", "/proc/self/fd"));
    CHECK(link_is("/dev/stdin", "/proc/self/fd/0"));
    CHECK(link_is("/dev/stdout", "/proc/self/fd/1"));
    CHECK(link_is("/dev/stderr", "/proc/self/fd/2"));
    CHECK(access("/proc/kcore", F_OK) < 0 || link_is("/dev/core", "/proc/kcore"));
    CHECK(link_is("/dev/ptmx", "pts/ptmx"));
    CHECK(fs_is("/dev/pts", DEVPTS_SUPER_MAGIC));
    CHECK(access("/dev/pts/ptmx", F_OK) == 0);
    CHECK(stat("/dev/shm", &st) == 0 && (st.st_mode & 07777) == 01777);
    CHECK(fs_is("/dev/mqueue", MQUEUE_MAGIC));
    struct stat pty;
    CHECK(fstat(slave, &pty) == 0);
    CHECK(lstat("/dev/console", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == pty.st_rdev);

    /* Binds, tmpfs, sysfs, cgroup. */
    CHECK(read_text("/mnt/ro/data", text, sizeof text) == 0);
    CHECK_STR(text, "hostdata");
    CHECK(creat_fails_with("/mnt/ro/new", EROFS));
    CHECK(read_text("/mnt/file", text, sizeof text) == 0);
    CHECK_STR(text, "precious");
    CHECK(stat("/tmp", &st) == 0 && (st.st_mode & 07777) == 01777);
    CHECK(fs_is("/tmp", TMPFS_MAGIC));
    CHECK(fs_is("/sys", SYSFS_MAGIC));
    struct statvfs sv;
    CHECK(statvfs("/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY));
    if (v1) {
        CHECK(fs_is("/sys/fs/cgroup", TMPFS_MAGIC));
        CHECK(fs_is("/sys/fs/cgroup/pids", CGROUP_SUPER_MAGIC) ||
              fs_is("/sys/fs/cgroup/memory", CGROUP_SUPER_MAGIC));
        CHECK(creat_fails_with("/sys/fs/cgroup/newdir", EROFS));
    } else {
        CHECK(fs_is("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC));
    }
    CHECK(cgroup_view_ok(v1));
    CHECK(statvfs("/sys/fs/cgroup", &sv) == 0 && (sv.f_flag & ST_RDONLY));

    /* Masked and read-only paths, root.readonly, cwd. */
    CHECK(read_text("/etc/secret", text, sizeof text) == 0);
    CHECK_STR(text, "");
    CHECK(dir_is_empty("/masked_dir"));
    CHECK(creat_fails_with("/masked_dir/x", EROFS));
    CHECK(creat_fails_with("/rw_dir/x", EROFS));
    CHECK(open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC) < 0 && errno == EROFS);
    CHECK(creat_fails_with("/newfile", EROFS));
    CHECK(stat("/work/dir", &st) == 0 && S_ISDIR(st.st_mode));
    return check_busybox_runs();
}

static int full_child(const struct fixture *f, void *arg)
{
    v12n_error err = {0};
    const struct full_args *a = arg;
    struct oci_mount mounts[] = {
        {.destination = "/proc", .type = "proc", .source = "proc"},
        {.destination = "/dev",
         .type = "tmpfs",
         .source = "tmpfs",
         .flags = MS_NOSUID | MS_STRICTATIME,
         .data = "mode=755,size=65536k"},
        {.destination = "/dev/pts",
         .type = "devpts",
         .source = "devpts",
         .flags = MS_NOSUID | MS_NOEXEC,
         .data = "newinstance,ptmxmode=0666,mode=0620"},
        {.destination = "/dev/shm",
         .type = "tmpfs",
         .source = "shm",
         .flags = MS_NOSUID | MS_NOEXEC | MS_NODEV,
         .data = "mode=1777,size=65536k"},
        {.destination = "/dev/mqueue",
         .type = "mqueue",
         .source = "mqueue",
         .flags = MS_NOSUID | MS_NOEXEC | MS_NODEV},
        {.destination = "/sys",
         .type = "sysfs",
         .source = "sysfs",
         .flags = MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY},
        {.destination = "/sys/fs/cgroup",
         .type = "cgroup",
         .source = "cgroup",
         .flags = MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY},
        {.destination = "/mnt/ro",
         .source = (char *)f->host,
         .bind = true,
         .flags = MS_BIND | MS_REC | MS_RDONLY,
         .propagation = MS_PRIVATE},
        {.destination = "/mnt/file", .source = (char *)f->victim, .bind = true, .flags = MS_BIND},
        {.destination = "/tmp", .type = "tmpfs", .source = "tmpfs", .data = "mode=1777"},
    };
    struct oci_device devices[] = {
        {.type = 'c',
         .path = "/dev/sub/custom",
         .major = 1,
         .minor = 3,
         .file_mode = 0600,
         .has_file_mode = true,
         .uid = 1000,
         .gid = 1001,
         .has_uid = true,
         .has_gid = true},
        {.type = 'p', .path = "/dev/myfifo"},
    };
    struct oci_spec spec = {
        .root_path = (char *)f->root,
        .root_readonly = true,
        .has_process = true,
        .process = {.cwd = "/work/dir"},
        .mounts = mounts,
        .n_mounts = sizeof mounts / sizeof mounts[0],
        /* A host node must exist to be bound: skip the custom one then. */
        .devices = a->fake_userns ? devices + 1 : devices,
        .n_devices = a->fake_userns ? 1 : 2,
        .masked_paths = masked,
        .readonly_paths = readonly,
    };
    bool v1 = host_is_cgroup_v1();
    bool unified = v1 && fs_is("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC);
    int slave = open_pty_slave();
    CHECK(slave >= 0);
    struct rootfs_options opts = {
        .in_user_ns = a->fake_userns, .no_pivot = a->no_pivot, .console_slave_fd = slave};
    CHECK_OK(rootfs_prepare(&spec, &opts, &err), &err);
    CHECK_OK(rootfs_pivot(&spec, &opts, &err), &err);
    CHECK_OK(rootfs_finish(&spec, &err), &err);
    if (check_full_view(f, a, slave, v1) != 0)
        return 1;
    /* Hybrid: the unified hierarchy comes along. */
    CHECK(!unified || fs_is("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC));
    return 0;
}

static void full_container_view(void **state)
{
    struct full_args a = {0};
    assert_int_equal(run_child(*state, full_child, &a), 0);
}

static void full_container_view_userns_style(void **state)
{
    struct full_args a = {.fake_userns = true};
    assert_int_equal(run_child(*state, full_child, &a), 0);
}

static void full_container_view_no_pivot(void **state)
{
    struct full_args a = {.no_pivot = true};
    assert_int_equal(run_child(*state, full_child, &a), 0);
}

/* ---- attacks ---- */

/* Host file and directories the attacks aim at, unchanged. */
static int check_host_untouched(const struct fixture *f)
{
    char text[64], path[PATH_MAX];
    struct stat st;
    CHECK(lstat(f->victim, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644);
    CHECK(read_text(f->victim, text, sizeof text) == 0);
    CHECK_STR(text, "precious");
    snprintf(path, sizeof path, "%s/p", f->outside);
    CHECK(!is_mount_point(path));
    snprintf(path, sizeof path, "%s/p/self", f->outside);
    CHECK(lstat(path, &st) < 0 && errno == ENOENT);
    snprintf(path, sizeof path, "%s/e/evil", f->outside);
    CHECK(lstat(path, &st) < 0 && errno == ENOENT);
    snprintf(path, sizeof path, "%s/host-marker", f->outside);
    CHECK(read_text(path, text, sizeof text) == 0);
    CHECK_STR(text, "host");
    return 0;
}

/* /proc -> /../../../<outside>/p and /etc -> ../../../../<outside>/e: both
 * land inside the rootfs, where the image has the same paths. */
static int escape_child(const struct fixture *f, void *arg)
{
    v12n_error err = {0};
    (void)arg;
    struct oci_mount mounts[] = {
        {.destination = "/proc", .type = "proc", .source = "proc"},
        {.destination = "/etc/evil",
         .source = (char *)f->host,
         .bind = true,
         .flags = MS_BIND | MS_RDONLY},
    };
    struct oci_spec spec = {.root_path = (char *)f->root, .mounts = mounts, .n_mounts = 2};
    struct rootfs_options opts = {.console_slave_fd = -1};
    CHECK_OK(rootfs_prepare(&spec, &opts, &err), &err);
    if (check_host_untouched(f) != 0)
        return 1;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s/p/self/stat", f->root, f->outside);
    CHECK(access(path, F_OK) == 0);
    snprintf(path, sizeof path, "%s%s/e/evil/data", f->root, f->outside);
    CHECK(access(path, F_OK) == 0);
    snprintf(path, sizeof path, "%s%s/e/evil/new", f->root, f->outside);
    CHECK(creat_fails_with(path, EROFS));
    return 0;
}

static void symlinks_cannot_send_mounts_to_the_host(void **state)
{
    struct fixture *f = *state;
    char target[PATH_MAX];
    snprintf(target, sizeof target, "/../../../..%s/p", f->outside);
    put_link(target, "%s/proc", f->root);
    snprintf(target, sizeof target, "../../../../../..%s/e", f->outside);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/etc", f->root);
    assert_int_equal(v12n_rm_rf(path, &(v12n_error){0}), 0);
    put_link(target, "%s/etc", f->root);
    put_dir("%s%s/p", f->root, f->outside);
    put_dir("%s%s/e", f->root, f->outside);
    assert_int_equal(run_child(f, escape_child, NULL), 0);
    assert_int_equal(check_host_untouched(f), 0);
}

/* The escape target missing in the image: the mount fails, naming itself. */
static int dangling_child(const struct fixture *f, void *arg)
{
    v12n_error err = {0};
    (void)arg;
    struct oci_mount mounts[] = {{.destination = "/proc", .type = "proc", .source = "proc"}};
    struct oci_spec spec = {.root_path = (char *)f->root, .mounts = mounts, .n_mounts = 1};
    struct rootfs_options opts = {.console_slave_fd = -1};
    char text[V12N_ERROR_MSG_MAX + 64];
    CHECK_FAILS(rootfs_prepare(&spec, &opts, &err), &err, text);
    CHECK_STR(text, "mount proc on /proc: resolve /proc inside rootfs: No such file or directory");
    return check_host_untouched(f);
}

static void dangling_escape_fails_cleanly(void **state)
{
    struct fixture *f = *state;
    char target[PATH_MAX];
    snprintf(target, sizeof target, "/../../../..%s/p", f->outside);
    put_link(target, "%s/proc", f->root);
    assert_int_equal(run_child(f, dangling_child, NULL), 0);
    assert_int_equal(check_host_untouched(f), 0);
}

/* /dev/null, /dev/zero and /dev/console of the image link to a host file:
 * they are replaced, the host file stays as it was. */
static int dev_symlink_child(const struct fixture *f, void *arg)
{
    v12n_error err = {0};
    bool userns = *(bool *)arg;
    int slave = open_pty_slave();
    CHECK(slave >= 0);
    struct oci_spec spec = {.root_path = (char *)f->root};
    struct rootfs_options opts = {.in_user_ns = userns, .console_slave_fd = slave};
    CHECK_OK(rootfs_prepare(&spec, &opts, &err), &err);
    if (check_host_untouched(f) != 0)
        return 1;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/dev/null", f->root);
    CHECK(is_chr(path, 1, 3));
    snprintf(path, sizeof path, "%s/dev/zero", f->root);
    CHECK(is_chr(path, 1, 5));
    struct stat st, pty;
    snprintf(path, sizeof path, "%s/dev/console", f->root);
    CHECK(fstat(slave, &pty) == 0);
    CHECK(stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == pty.st_rdev);
    return 0;
}

static void dev_symlinks_do_not_clobber_the_host(bool userns, struct fixture *f)
{
    put_dir("%s/dev", f->root);
    put_link(f->victim, "%s/dev/null", f->root);
    char target[PATH_MAX];
    snprintf(target, sizeof target, "../../../../../..%s", f->victim);
    put_link(target, "%s/dev/zero", f->root);
    put_link(f->victim, "%s/dev/console", f->root);
    assert_int_equal(run_child(f, dev_symlink_child, &userns), 0);
    assert_int_equal(check_host_untouched(f), 0);
}

static void dev_symlinks_replaced_by_mknod(void **state)
{
    dev_symlinks_do_not_clobber_the_host(false, *state);
}

static void dev_symlinks_replaced_by_binds(void **state)
{
    dev_symlinks_do_not_clobber_the_host(true, *state);
}

/* maskedPaths with a /dev/null that is not the null device (here /dev is a
 * bind of a host directory holding a file "null"): refused, so the file is
 * not shown in place of the masked one. */
static int fake_null_child(const struct fixture *f, void *arg)
{
    v12n_error err = {0};
    (void)arg;
    struct oci_mount mounts[] = {
        {.destination = "/proc", .type = "proc", .source = "proc"},
        {.destination = "/dev", .source = (char *)f->host, .bind = true, .flags = MS_BIND},
    };
    struct oci_spec spec = {
        .root_path = (char *)f->root, .mounts = mounts, .n_mounts = 2, .masked_paths = masked};
    struct rootfs_options opts = {.console_slave_fd = -1};
    CHECK_OK(rootfs_prepare(&spec, &opts, &err), &err);
    CHECK_OK(rootfs_pivot(&spec, &opts, &err), &err);
    char text[V12N_ERROR_MSG_MAX + 64];
    CHECK_FAILS(rootfs_finish(&spec, &err), &err, text);
    CHECK_STR(text, "maskedPaths: /dev/null is not the null device (1:3): Operation not permitted");
    CHECK(read_text("/etc/secret", text, sizeof text) == 0);
    CHECK_STR(text, "top secret");
    return 0;
}

static void masking_refuses_a_fake_dev_null(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/null", f->host);
    put_file(path, "not null", 0644);
    assert_int_equal(run_child(f, fake_null_child, NULL), 0);
}

/* Without a procfs in the container, finish mounts by plain path (the root
 * is the container's by then). */
static int no_proc_child(const struct fixture *f, void *arg)
{
    v12n_error err = {0};
    (void)arg;
    struct oci_mount mounts[] = {{.destination = "/dev", .type = "tmpfs", .source = "tmpfs"}};
    struct oci_spec spec = {.root_path = (char *)f->root,
                            .mounts = mounts,
                            .n_mounts = 1,
                            .masked_paths = masked,
                            .readonly_paths = readonly};
    struct rootfs_options opts = {.console_slave_fd = -1};
    CHECK_OK(rootfs_prepare(&spec, &opts, &err), &err);
    CHECK_OK(rootfs_pivot(&spec, &opts, &err), &err);
    CHECK(access("/proc/self", F_OK) < 0);
    CHECK_OK(rootfs_finish(&spec, &err), &err);
    char text[64];
    CHECK(read_text("/etc/secret", text, sizeof text) == 0);
    CHECK_STR(text, "");
    CHECK(dir_is_empty("/masked_dir"));
    CHECK(creat_fails_with("/rw_dir/x", EROFS));
    CHECK(creat_fails_with("/writable", EROFS) == false);
    return 0;
}

static void finish_without_proc(void **state)
{
    assert_int_equal(run_child(*state, no_proc_child, NULL), 0);
}

/* rootfsPropagation rshared: "/" ends shared, and pivot_root still works
 * because the rootfs's parent mount was made private first. */
static int rshared_child(const struct fixture *f, void *arg)
{
    v12n_error err = {0};
    (void)arg;
    struct oci_mount mounts[] = {{.destination = "/proc", .type = "proc", .source = "proc"}};
    struct oci_spec spec = {.root_path = (char *)f->root,
                            .mounts = mounts,
                            .n_mounts = 1,
                            .rootfs_propagation = MS_SHARED | MS_REC};
    struct rootfs_options opts = {.console_slave_fd = -1};
    CHECK_OK(rootfs_prepare(&spec, &opts, &err), &err);
    CHECK_OK(rootfs_pivot(&spec, &opts, &err), &err);
    CHECK_OK(rootfs_finish(&spec, &err), &err);
    FILE *mi = fopen("/proc/self/mountinfo", "re");
    CHECK(mi != NULL);
    char *line = NULL;
    size_t cap = 0;
    bool shared = false;
    while (getline(&line, &cap, mi) > 0) {
        char mp[PATH_MAX];
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strcmp(mp, "/") == 0)
            shared = strstr(line, " shared:") != NULL;
    }
    free(line);
    fclose(mi);
    CHECK(shared);
    return 0;
}

static void rshared_root_still_pivots(void **state)
{
    assert_int_equal(run_child(*state, rshared_child, NULL), 0);
}

/* ---- a real user namespace ---- */

static int write_proc_self(const char *name, const char *data)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/%s", name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = v12n_write_all(fd, data, strlen(data));
    close(fd);
    return r;
}

/* Runs as pid 1 of new user, mount, pid and ipc namespaces (root mapped
 * to root only): mknod is refused, host mounts' flags are locked, sysfs
 * needs a net namespace we do not have. */
static int userns_container(const struct fixture *f, int slave)
{
    v12n_error err = {0};
    char text[V12N_ERROR_MSG_MAX + 64];
    struct rootfs_options opts = {.in_user_ns = true, .console_slave_fd = slave};

    /* The host dir is nosuid,nodev (locked here): "suid" cannot be honoured. */
    struct oci_mount suid[] = {{.destination = "/mnt/suid",
                                .source = (char *)f->host,
                                .bind = true,
                                .flags = MS_BIND,
                                .clear_flags = MS_NOSUID}};
    struct oci_spec bad = {.root_path = (char *)f->root, .mounts = suid, .n_mounts = 1};
    CHECK_FAILS(rootfs_prepare(&bad, &opts, &err), &err, text);
    char want[V12N_ERROR_MSG_MAX];
    snprintf(want, sizeof want,
             "mount %s on /mnt/suid: the source's ro/nosuid/nodev/noexec flags are locked in a "
             "user namespace and cannot be cleared: Operation not permitted",
             f->host);
    CHECK_STR(text, want);

    struct oci_mount mounts[] = {
        {.destination = "/proc", .type = "proc", .source = "proc"},
        {.destination = "/dev",
         .type = "tmpfs",
         .source = "tmpfs",
         .flags = MS_NOSUID | MS_STRICTATIME,
         .data = "mode=755,size=65536k"},
        {.destination = "/dev/pts",
         .type = "devpts",
         .source = "devpts",
         .flags = MS_NOSUID | MS_NOEXEC,
         .data = "newinstance,ptmxmode=0666,mode=0620"},
        {.destination = "/dev/mqueue",
         .type = "mqueue",
         .source = "mqueue",
         .flags = MS_NOSUID | MS_NOEXEC | MS_NODEV},
        {.destination = "/sys",
         .type = "sysfs",
         .source = "sysfs",
         .flags = MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY},
        {.destination = "/sys/fs/cgroup",
         .type = "cgroup",
         .source = "cgroup",
         .flags = MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY},
        /* Only "ro" asked: the locked nosuid,nodev must be kept by the remount. */
        {.destination = "/mnt/ro",
         .source = (char *)f->host,
         .bind = true,
         .flags = MS_BIND | MS_REC | MS_RDONLY},
    };
    struct oci_spec spec = {
        .root_path = (char *)f->root,
        .root_readonly = true,
        .mounts = mounts,
        .n_mounts = sizeof mounts / sizeof mounts[0],
        .masked_paths = masked,
        .readonly_paths = readonly,
    };
    CHECK_OK(rootfs_prepare(&spec, &opts, &err), &err);
    CHECK_OK(rootfs_pivot(&spec, &opts, &err), &err);
    CHECK_OK(rootfs_finish(&spec, &err), &err);

    struct stat st, pty;
    struct statvfs sv;
    CHECK(getpid() == 1 && access("/proc/1/stat", F_OK) == 0);
    CHECK(is_chr("/dev/null", 1, 3) && is_mount_point("/dev/null"));
    CHECK(is_chr("/dev/urandom", 1, 9));
    CHECK(link_is("/dev/ptmx", "pts/ptmx"));
    CHECK(fs_is("/dev/mqueue", MQUEUE_MAGIC));
    CHECK(fstat(slave, &pty) == 0);
    CHECK(stat("/dev/console", &st) == 0 && st.st_rdev == pty.st_rdev);
    CHECK(fs_is("/sys", SYSFS_MAGIC));
    CHECK(statvfs("/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY));
    CHECK(statvfs("/sys/fs/cgroup", &sv) == 0 && (sv.f_flag & ST_RDONLY));
    CHECK(read_text("/mnt/ro/data", text, sizeof text) == 0);
    CHECK_STR(text, "hostdata");
    CHECK(statvfs("/mnt/ro", &sv) == 0);
    CHECK((sv.f_flag & (ST_RDONLY | ST_NOSUID | ST_NODEV)) == (ST_RDONLY | ST_NOSUID | ST_NODEV));
    CHECK(read_text("/etc/secret", text, sizeof text) == 0);
    CHECK_STR(text, "");
    CHECK(creat_fails_with("/rw_dir/x", EROFS));
    CHECK(creat_fails_with("/newfile", EROFS));
    return 0;
}

static int userns_child(const struct fixture *f, void *arg)
{
    (void)arg;
    /* Make the host dir a nosuid,nodev mount: locked once in the user ns. */
    CHECK(mount(f->host, f->host, NULL, MS_BIND, NULL) == 0);
    CHECK(mount(NULL, f->host, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV, NULL) == 0);
    int slave = open_pty_slave();
    CHECK(slave >= 0);
    CHECK(unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC) == 0);
    CHECK(write_proc_self("setgroups", "deny") == 0);
    CHECK(write_proc_self("uid_map", "0 0 1") == 0);
    CHECK(write_proc_self("gid_map", "0 0 1") == 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int r = userns_container(f, slave);
        fflush(NULL);
        _exit(r);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void real_user_namespace(void **state)
{
    assert_int_equal(run_child(*state, userns_child, NULL), 0);
}

/* ---- a pure cgroup v2 host ---- */

static int cgroup2_child(const struct fixture *f, void *arg)
{
    v12n_error err = {0};
    (void)arg;
    /* Make this mount namespace look like a v2 host. */
    CHECK(mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, NULL) == 0);
    struct oci_mount mounts[] = {
        {.destination = "/sys/fs/cgroup",
         .type = "cgroup",
         .source = "cgroup",
         .flags = MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY},
    };
    struct oci_spec spec = {.root_path = (char *)f->root, .mounts = mounts, .n_mounts = 1};
    struct rootfs_options opts = {.console_slave_fd = -1};
    CHECK_OK(rootfs_prepare(&spec, &opts, &err), &err);
    CHECK_OK(rootfs_pivot(&spec, &opts, &err), &err);
    CHECK_OK(rootfs_finish(&spec, &err), &err);
    CHECK(fs_is("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC));
    CHECK(access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0);
    CHECK(creat_fails_with("/sys/fs/cgroup/x", EROFS));
    return 0;
}

static void cgroup2_on_a_v2_host(void **state)
{
    assert_int_equal(run_child(*state, cgroup2_child, NULL), 0);
}

/* ---- errors name the mount and the cause ---- */

static int errors_child(const struct fixture *f, void *arg)
{
    v12n_error err = {0};
    (void)arg;
    char text[V12N_ERROR_MSG_MAX + 64];
    struct rootfs_options opts = {.console_slave_fd = -1};

    struct oci_mount bad_type[] = {{.destination = "/x", .type = "nosuchfs"}};
    struct oci_spec spec = {.root_path = (char *)f->root, .mounts = bad_type, .n_mounts = 1};
    CHECK_FAILS(rootfs_prepare(&spec, &opts, &err), &err, text);
    CHECK_STR(text, "mount nosuchfs on /x: No such device");

    struct oci_mount bad_source[] = {
        {.destination = "/y", .source = "/nonexistent/v12n", .bind = true, .flags = MS_BIND}};
    spec.mounts = bad_source;
    CHECK_FAILS(rootfs_prepare(&spec, &opts, &err), &err, text);
    CHECK_STR(text, "mount /nonexistent/v12n on /y: open the source: No such file or directory");

    struct oci_mount in_proc[] = {
        {.destination = "/proc", .type = "proc", .source = "proc"},
        {.destination = "/proc/sys/", .type = "tmpfs", .source = "tmpfs"},
    };
    spec.mounts = in_proc;
    spec.n_mounts = 2;
    CHECK_FAILS(rootfs_prepare(&spec, &opts, &err), &err, text);
    CHECK_STR(text, "mount tmpfs on /proc/sys: refusing to mount over /proc/sys inside /proc "
                    "(only the files lxcfs emulates may be covered): Operation not permitted");

    struct oci_mount over_proc[] = {{.destination = "/proc", .type = "tmpfs", .source = "tmpfs"}};
    spec.mounts = over_proc;
    spec.n_mounts = 1;
    CHECK_FAILS(rootfs_prepare(&spec, &opts, &err), &err, text);
    CHECK_STR(text, "mount tmpfs on /proc: only a procfs may be mounted on /proc: "
                    "Operation not permitted");
    return 0;
}

static void errors_name_mount_and_cause(void **state)
{
    put_dir("%s/proc", ((struct fixture *)*state)->root);
    assert_int_equal(run_child(*state, errors_child, NULL), 0);
}

/* ---- the resolver itself (no mounts needed) ---- */

typedef int (*open_fn)(int root_fd, const char *path, int flags, mode_t mode);

static void read_in_root(open_fn fn, int root, const char *path, const char *want)
{
    int fd = fn(root, path, O_RDONLY, 0);
    if (want == NULL) {
        assert_true(fd < 0);
        return;
    }
    assert_true(fd >= 0);
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    assert_true(n >= 0);
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

static void check_resolver(open_fn fn, struct fixture *f, int root)
{
    read_in_root(fn, root, "/etc/passwd", "inside");
    read_in_root(fn, root, "../../../etc/passwd", "inside");
    read_in_root(fn, root, "/abs/passwd", "inside");
    read_in_root(fn, root, "/rel/passwd", "inside");
    read_in_root(fn, root, "/chain", "inside");
    read_in_root(fn, root, "/etc/../etc/./passwd", "inside");
    /* The host's victim is not inside: the link dangles. */
    read_in_root(fn, root, "/to_host", NULL);
    assert_int_equal(errno, ENOENT);
    read_in_root(fn, root, "/loop", NULL);
    assert_int_equal(errno, ELOOP);
    assert_true(fn(root, "/abs", O_RDONLY | O_NOFOLLOW, 0) < 0);
    int fd = fn(root, "/marker/x", O_PATH, 0);
    assert_true(fd < 0);
    assert_int_equal(errno, ENOTDIR);
    /* A dangling link is created where it points inside root. */
    fd = fn(root, "/new_link", O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/created", f->root);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(access("/created", F_OK), -1);
    fd = fn(root, "/", O_PATH | O_DIRECTORY, 0);
    assert_true(fd >= 0);
    struct stat a, b;
    assert_int_equal(fstat(fd, &a), 0);
    assert_int_equal(fstat(root, &b), 0);
    assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    close(fd);
}

static void resolver_stays_in_root(void **state)
{
    struct fixture *f = *state;
    put_link("/etc", "%s/abs", f->root);
    put_link("../../../../../etc", "%s/rel", f->root);
    put_link("abs/../rel/passwd", "%s/chain", f->root);
    put_link(f->victim, "%s/to_host", f->root);
    put_link("loop", "%s/loop", f->root);
    put_link("/created", "%s/new_link", f->root);
    auto_close int root = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(root >= 0);
    check_resolver(rootfs_open_in_root, f, root);
    check_resolver(rootfs_open_in_root_walk, f, root);
}

static void mkdir_p_creates_inside_root(void **state)
{
    struct fixture *f = *state;
    put_link("/etc", "%s/abs", f->root);
    put_link(f->outside, "%s/to_host", f->root);
    auto_close int root = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(root >= 0);
    v12n_error err = {0};
    char path[PATH_MAX];
    struct stat st;

    int fd = rootfs_mkdir_p_in_root(root, "/a/b/../c/d", false, &err);
    assert_true(fd >= 0);
    close(fd);
    snprintf(path, sizeof path, "%s/a/c/d", f->root);
    assert_true(stat(path, &st) == 0 && S_ISDIR(st.st_mode));

    fd = rootfs_mkdir_p_in_root(root, "/abs/new/file", true, &err);
    assert_true(fd >= 0);
    close(fd);
    snprintf(path, sizeof path, "%s/etc/new/file", f->root);
    assert_true(stat(path, &st) == 0 && S_ISREG(st.st_mode));

    /* Existing: the same object back. */
    fd = rootfs_mkdir_p_in_root(root, "/etc/passwd", true, &err);
    assert_true(fd >= 0);
    close(fd);

    /* Through a link to a host path: refused, and nothing made on the host. */
    assert_int_equal(rootfs_mkdir_p_in_root(root, "/to_host/x", false, &err), -1);
    assert_int_equal(err.errnum, ENOENT);
    assert_string_equal(err.msg, "resolve /to_host inside rootfs");
    snprintf(path, sizeof path, "%s/x", f->outside);
    assert_int_equal(access(path, F_OK), -1);
}

/* A procfs inside root: magic links must not lead out (openat2 refuses
 * them; the walk reads them as plain text, inside root). */
static int magic_child(const struct fixture *f, void *arg)
{
    (void)arg;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/proc", f->root);
    CHECK(mkdir(path, 0755) == 0);
    CHECK(mount("proc", path, "proc", 0, NULL) == 0);
    int root = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    CHECK(root >= 0);
    open_fn fns[] = {rootfs_open_in_root, rootfs_open_in_root_walk};
    for (size_t i = 0; i < 2; i++) {
        char text[64] = "";
        int fd = fns[i](root, "/proc/self/root/etc/passwd", O_RDONLY, 0);
        if (fd >= 0) {
            ssize_t n = read(fd, text, sizeof text - 1);
            close(fd);
            CHECK(n >= 0);
            text[n] = '\0';
            CHECK_STR(text, "inside");
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d/etc/passwd", root);
        fd = fns[i](root, path, O_RDONLY, 0);
        if (fd >= 0) {
            ssize_t n = read(fd, text, sizeof text - 1);
            close(fd);
            CHECK(n >= 0);
            text[n] = '\0';
            CHECK_STR(text, "inside");
        }
    }
    return 0;
}

static void magic_links_do_not_escape(void **state)
{
    assert_int_equal(run_child(*state, magic_child, NULL), 0);
}

static void clean_path_is_lexical(void **state)
{
    (void)state;
    char out[64];
    static const char *const cases[][2] = {
        {"/", "/"},         {"", "/"},           {"a/b", "/a/b"},
        {"/a//b/", "/a/b"}, {"/a/./b", "/a/b"},  {"/a/../b", "/b"},
        {"/../../a", "/a"}, {"/a/b/../..", "/"}, {"/dev/pts/", "/dev/pts"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(rootfs_clean_path(cases[i][0], out, sizeof out), 0);
        assert_string_equal(out, cases[i][1]);
    }
    char tiny[4];
    assert_int_equal(rootfs_clean_path("/abcdef", tiny, sizeof tiny), -1);
    assert_int_equal(errno, ENAMETOOLONG);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_rootfs needs root (mount namespaces, mknod)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_path_is_lexical),
        T(resolver_stays_in_root),
        T(mkdir_p_creates_inside_root),
        T(magic_links_do_not_escape),
        T(full_container_view),
        T(full_container_view_userns_style),
        T(full_container_view_no_pivot),
        T(symlinks_cannot_send_mounts_to_the_host),
        T(dangling_escape_fails_cleanly),
        T(dev_symlinks_replaced_by_mknod),
        T(dev_symlinks_replaced_by_binds),
        T(masking_refuses_a_fake_dev_null),
        T(errors_name_mount_and_cause),
        T(finish_without_proc),
        T(rshared_root_still_pivots),
        T(real_user_namespace),
        T(cgroup2_on_a_v2_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
