/* The built-in busybox image: see builtin.h. */
#include "image/builtin.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/manifest.h"
#include "image/platform.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "shim/shim.h"

#define BUSYBOX_MAX      (64u << 20) /* a static busybox is about 2 MiB */
#define APPLET_LIST_MAX  (64u << 10)
#define APPLET_NAME_MAX  64
#define BUILTIN_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
static const char group[] = "root:x:0:\n"
                            "nogroup:x:65534:\n";

/* ---- the applet list ---------------------------------------------------------- */

/* `busybox --list`: one applet name a line. */
static char *list_applets(const char *path, v12n_error *err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        v12n_fail_errno(err, "builtin busybox: pipe");
        return NULL;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    char *argv[] = {(char *)path, "--list", NULL};
    char *envp[] = {NULL};
    pid_t pid;
    int r = posix_spawn(&pid, path, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    auto_close int rfd = fds[0];
    if (r != 0) {
        v12n_fail(err, r, "builtin busybox: run %s --list", path);
        return NULL;
    }
    char *out = malloc(APPLET_LIST_MAX + 1);
    size_t len = 0;
    ssize_t n = 1;
    while (out != NULL && len < APPLET_LIST_MAX &&
           ((n = read(rfd, out + len, APPLET_LIST_MAX - len)) > 0 || (n < 0 && errno == EINTR)))
        len += n > 0 ? (size_t)n : 0;
    /* closed first: a child with more to say gets EPIPE rather than block */
    close(v12n_take_fd(&rfd));
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (out == NULL || n < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        free(out);
        v12n_fail(err, EIO, "builtin busybox: %s --list failed", path);
        return NULL;
    }
    out[len] = '\0';
    return out;
}

/* An applet becomes bin/<name>: a plain file name, nothing else. */
static bool applet_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > APPLET_NAME_MAX || strcmp(s, "busybox") == 0 || s[0] == '.')
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-[]") == n;
}

/* ---- the layer ------------------------------------------------------------------ */

struct layer_writer {
    struct archive *a;
    struct store_blob_writer *w;
    time_t mtime;
    v12n_error err;
};

static la_ssize_t to_blob(struct archive *a, void *ctx, const void *buf, size_t len)
{
    struct layer_writer *lw = ctx;
    if (store_blob_write(lw->w, buf, len, &lw->err) < 0) {
        archive_set_error(a, EIO, "%s", lw->err.msg);
        return -1;
    }
    return (la_ssize_t)len;
}

static int add_entry(struct layer_writer *lw, const char *name, mode_t type, mode_t perm,
                     const void *data, size_t size, const char *hardlink)
{
    struct archive_entry *e = archive_entry_new();
    if (e == NULL)
        return v12n_fail(&lw->err, ENOMEM, "builtin busybox: out of memory");
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_mtime(e, lw->mtime, 0);
    archive_entry_set_size(e, hardlink != NULL ? 0 : (la_int64_t)size);
    if (hardlink != NULL)
        archive_entry_set_hardlink(e, hardlink);
    int r = archive_write_header(lw->a, e);
    archive_entry_free(e);
    if (r == ARCHIVE_OK && size > 0 && hardlink == NULL &&
        archive_write_data(lw->a, data, size) != (la_ssize_t)size)
        r = ARCHIVE_FATAL;
    if (r != ARCHIVE_OK && lw->err.msg[0] == '\0')
        v12n_fail(&lw->err, EIO, "builtin busybox: layer %s: %s", name,
                  archive_error_string(lw->a));
    return r == ARCHIVE_OK ? 0 : -1;
}

static int add_dirs(struct layer_writer *lw)
{
    static const struct {
        const char *name;
        mode_t perm;
    } dirs[] = {{"bin", 0755}, {"dev", 0755},  {"etc", 0755}, {"proc", 0555}, {"root", 0700},
                {"sys", 0555}, {"tmp", 01777}, {"usr", 0755}, {"var", 0755}};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (add_entry(lw, dirs[i].name, AE_IFDIR, dirs[i].perm, NULL, 0, NULL) < 0)
            return -1;
    }
    return 0;
}

static int add_tree(struct layer_writer *lw, const char *bin, size_t bin_len, char *applets)
{
    if (add_dirs(lw) < 0 ||
        add_entry(lw, "etc/passwd", AE_IFREG, 0644, passwd, sizeof passwd - 1, NULL) < 0 ||
        add_entry(lw, "etc/group", AE_IFREG, 0644, group, sizeof group - 1, NULL) < 0 ||
        add_entry(lw, "bin/busybox", AE_IFREG, 0755, bin, bin_len, NULL) < 0)
        return -1;
    char *save = NULL;
    for (char *name = strtok_r(applets, "\n", &save); name != NULL;
         name = strtok_r(NULL, "\n", &save)) {
        if (!applet_name_ok(name))
            continue;
        char path[APPLET_NAME_MAX + 8];
        snprintf(path, sizeof path, "bin/%s", name);
        if (add_entry(lw, path, AE_IFREG, 0755, NULL, 0, "bin/busybox") < 0)
            return -1;
    }
    return 0;
}

/* The layer tar into a new blob; its digest is also its diff_id. */
static int write_layer(struct store *s, const char *bin, size_t bin_len, char *applets,
                       time_t mtime, char digest[IMAGE_DIGEST_SIZE], uint64_t *size,
                       v12n_error *err)
{
    struct layer_writer lw = {.mtime = mtime};
    if (store_blob_begin(s, &lw.w, err) < 0)
        return -1;
    lw.a = archive_write_new();
    int r = -1;
    if (lw.a == NULL)
        v12n_fail(&lw.err, ENOMEM, "builtin busybox: out of memory");
    else if (archive_write_set_format_pax_restricted(lw.a) != ARCHIVE_OK ||
             archive_write_set_bytes_in_last_block(lw.a, 1) != ARCHIVE_OK ||
             archive_write_open(lw.a, &lw, NULL, to_blob, NULL) != ARCHIVE_OK)
        v12n_fail(&lw.err, EIO, "builtin busybox: layer: %s", archive_error_string(lw.a));
    else if (add_tree(&lw, bin, bin_len, applets) == 0 && archive_write_close(lw.a) == ARCHIVE_OK)
        r = 0;
    if (r < 0 && lw.err.msg[0] == '\0')
        v12n_fail(&lw.err, EIO, "builtin busybox: layer: %s", archive_error_string(lw.a));
    if (lw.a != NULL)
        archive_write_free(lw.a);
    if (r < 0) {
        store_blob_abort(lw.w);
        *err = lw.err;
        return -1;
    }
    *size = store_blob_written(lw.w);
    return store_blob_commit(lw.w, NULL, digest, err);
}

/* ---- config and manifest ------------------------------------------------------- */

static int put_json(struct store *s, json_t *j, char digest[IMAGE_DIGEST_SIZE], size_t *size,
                    v12n_error *err)
{
    if (j == NULL)
        return v12n_fail(err, ENOMEM, "builtin busybox: out of memory");
    auto_free char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    if (text == NULL)
        return v12n_fail(err, ENOMEM, "builtin busybox: out of memory");
    *size = strlen(text);
    return store_blob_put(s, text, *size, NULL, digest, err);
}

static int put_config(struct store *s, const char *diff_id, const char *created,
                      char digest[IMAGE_DIGEST_SIZE], size_t *size, v12n_error *err)
{
    struct image_platform host;
    image_platform_host(&host);
    const char *arch = host.arch;
    json_t *j = json_pack("{s:s, s:s, s:s, s:{s:[s], s:[s]}, s:{s:s, s:[s]}, s:[{s:s, s:s}]}",
                          "architecture", arch, "os", "linux", "created", created, "config", "Env",
                          BUILTIN_PATH_ENV, "Cmd", "sh", "rootfs", "type", "layers", "diff_ids",
                          diff_id, "history", "created", created, "created_by",
                          "v12n builtin: Debian's busybox-static");
    return put_json(s, j, digest, size, err);
}

/* ---- the image ---------------------------------------------------------------- */

static char *read_busybox(const char *path, struct stat *st, size_t *len, v12n_error *err)
{
    auto_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, st) < 0) {
        v12n_fail_errno(err, "builtin busybox: %s (install Debian's busybox-static)", path);
        return NULL;
    }
    if (!S_ISREG(st->st_mode) || st->st_size <= 0 || (uint64_t)st->st_size > BUSYBOX_MAX) {
        v12n_fail(err, EINVAL, "builtin busybox: %s: not a plausible busybox binary", path);
        return NULL;
    }
    char *data = v12n_read_fd(fd, len, err);
    if (data == NULL)
        v12n_error_wrap(err, "builtin busybox: %s", path);
    return data;
}

static int build(struct store *s, const char *name, const char *path, char id[IMAGE_DIGEST_SIZE],
                 v12n_error *err)
{
    struct stat st;
    size_t bin_len;
    auto_free char *bin = read_busybox(path, &st, &bin_len, err);
    if (bin == NULL)
        return -1;
    auto_free char *applets = list_applets(path, err);
    if (applets == NULL)
        return -1;
    char created[32];
    struct tm tm;
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&st.st_mtime, &tm));
    char layer[IMAGE_DIGEST_SIZE], config[IMAGE_DIGEST_SIZE];
    uint64_t layer_size;
    size_t config_size = 0;
    struct unpack_result res;
    if (write_layer(s, bin, bin_len, applets, st.st_mtime, layer, &layer_size, err) < 0 ||
        store_layer_unpack_blob(s, layer, IMAGE_MT_OCI_LAYER, layer, NULL, &res, err) < 0 ||
        put_config(s, layer, created, config, &config_size, err) < 0)
        return -1;
    struct store_layer l = {
        .digest = layer, .diff_id = layer, .media_type = IMAGE_MT_OCI_LAYER, .size = layer_size};
    return image_add_one_layer(s, name, config, config_size, &l, created, id, err);
}

int image_builtin_busybox(struct store *s, const char *name, const char *path,
                          char id[IMAGE_DIGEST_SIZE], v12n_error *err)
{
    /* libarchive is loaded on first use (src/lib/shim). */
    if (v12n_archive_load(err) < 0)
        return -1;
    if (store_lease(s, err) < 0)
        return -1;
    int r = build(s, name != NULL ? name : IMAGE_BUILTIN_BUSYBOX_NAME,
                  path != NULL ? path : IMAGE_BUILTIN_BUSYBOX_BIN, id, err);
    store_lease_release(s);
    return r;
}
