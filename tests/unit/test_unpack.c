/* The layer unpacker against real files (as root, in /tmp): every file type,
 * metadata, whiteouts, and hostile layers that try to write outside, blow
 * up, or lie about their digest.  Each test unpacks into fx->layer and
 * keeps a fx->outside directory that escapes would land in. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/digest.h"
#include "image/store.h"
#include "image/unpack.h"
#include "image/unpack_internal.h"
#include "image_layers.h"
#include "util/cleanup.h"
#include "util/fs.h"

struct fixture {
    char dir[64];           /* /tmp/v12n-unpack-XXXXXX */
    char layer[PATH_MAX];   /* dir/layer: the unpack target */
    char outside[PATH_MAX]; /* dir/outside: must stay empty */
    int layerfd;
};

static int fixture_setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/v12n-unpack-XXXXXX");
    if (mkdtemp(fx->dir) == NULL)
        return -1;
    snprintf(fx->layer, sizeof fx->layer, "%s/layer", fx->dir);
    snprintf(fx->outside, sizeof fx->outside, "%s/outside", fx->dir);
    if (mkdir(fx->layer, 0755) < 0 || mkdir(fx->outside, 0755) < 0)
        return -1;
    fx->layerfd = open(fx->layer, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    *state = fx;
    return fx->layerfd < 0 ? -1 : 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *fx = *state;
    close(fx->layerfd);
    remove_tmp_dir(fx->dir);
    free(fx);
    return 0;
}

static char *path_in(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *path_in(const char *dir, const char *fmt, ...)
{
    static char buf[4][PATH_MAX];
    static int next;
    char rel[PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    char *out = buf[next++ % 4];
    snprintf(out, PATH_MAX, "%s/%s", dir, rel);
    return out;
}

/* Nothing was written next to the layer, nor in outside/. */
static void assert_nothing_outside(struct fixture *fx)
{
    assert_int_equal(count_entries(fx->outside), 0);
    assert_int_equal(count_entries(fx->dir), 2);
}

static int unpack_buf(struct fixture *fx, const void *buf, size_t len,
                      const struct unpack_opts *opts, struct unpack_result *res, v12n_error *err)
{
    struct memsrc m = {.buf = buf, .len = len, .step = 3000};
    struct unpack_source src = memsrc_source(&m);
    return unpack_layer(fx->layerfd, &src, opts, res, err);
}

/* Unpack a tar expected to be refused; the message must contain want. */
static void expect_refused(struct fixture *fx, struct tarb *t, const char *want)
{
    v12n_error err = {0};
    int r = unpack_buf(fx, t->buf, t->len, NULL, NULL, &err);
    if (r == 0 || strstr(err.msg, want) == NULL)
        fail_msg("expected a refusal containing \"%s\", got %d: %s", want, r, err.msg);
    assert_nothing_outside(fx);
}

static void read_text(const char *path, char *buf, size_t len)
{
    v12n_error err = {0};
    size_t n;
    auto_free char *data = v12n_read_file(path, &n, &err);
    if (data == NULL)
        fail_msg("%s", err.msg);
    snprintf(buf, len, "%s", data);
}

/* ---- a well-formed layer ---- */

static const unsigned char cap_net_bind[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x04};

static void build_full_layer(struct tarb *t)
{
    tarb_begin(t);
    tarb_add(t, &(struct tent){.path = "./", .type = AE_IFDIR, .perm = 0755});
    tarb_add(t, &(struct tent){.path = "./etc/",
                               .type = AE_IFDIR,
                               .perm = 0750,
                               .uid = 0,
                               .gid = 42,
                               .mtime = 1600000000});
    tarb_add(t, &(struct tent){.path = "./etc/hostname",
                               .data = "box\n",
                               .len = 4,
                               .perm = 0640,
                               .uid = 1234,
                               .gid = 5678,
                               .mtime = 1500000000});
    tarb_add(t, &(struct tent){.path = "./usr/bin/su", .data = "ELF", .len = 3, .perm = 04755});
    tarb_add(t, &(struct tent){.path = "./usr/bin/ping",
                               .data = "PING",
                               .len = 4,
                               .perm = 0755,
                               .xname = {"security.capability", "user.mime", "trusted.note"},
                               .xvalue = {(const char *)cap_net_bind, "text/x", "t"},
                               .xlen = {sizeof cap_net_bind, 0, 0}});
    tarb_add(t, &(struct tent){.path = "./usr/bin/link", .hardlink = "./usr/bin/su"});
    tarb_add(t, &(struct tent){
                    .path = "./bin", .type = AE_IFLNK, .symlink = "usr/bin", .uid = 7, .gid = 8});
    tarb_add(t, &(struct tent){.path = "./etc/abs", .type = AE_IFLNK, .symlink = "/etc/passwd"});
    tarb_add(t,
             &(struct tent){
                 .path = "./dev/null", .type = AE_IFCHR, .rmajor = 1, .rminor = 3, .perm = 0666});
    tarb_add(t, &(struct tent){.path = "./dev/sda",
                               .type = AE_IFBLK,
                               .rmajor = 8,
                               .rminor = 0,
                               .perm = 0660,
                               .gid = 6});
    tarb_add(t, &(struct tent){.path = "./run/fifo", .type = AE_IFIFO, .perm = 0600});
    tarb_add(t, &(struct tent){.path = "./tmp/", .type = AE_IFDIR, .perm = 01777});
    tarb_add(t, &(struct tent){.path = "./utf8-\xc3\xa9t\xc3\xa9", .data = "u", .len = 1});
    tarb_end(t);
}

static void unpacks_every_file_type(void **state)
{
    struct fixture *fx = *state;
    struct tarb t;
    build_full_layer(&t);
    struct unpack_result res;
    v12n_error err = {0};
    if (unpack_buf(fx, t.buf, t.len, NULL, &res, &err) < 0)
        fail_msg("%s", err.msg);

    struct stat st;
    char text[64];
    read_text(path_in(fx->layer, "etc/hostname"), text, sizeof text);
    assert_string_equal(text, "box\n");
    assert_int_equal(lstat(path_in(fx->layer, "etc/hostname"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(st.st_uid, 1234);
    assert_int_equal(st.st_gid, 5678);
    assert_int_equal(st.st_mtim.tv_sec, 1500000000);

    /* the directory's mtime survives the files written into it */
    assert_int_equal(lstat(path_in(fx->layer, "etc"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0750);
    assert_int_equal(st.st_gid, 42);
    assert_int_equal(st.st_mtim.tv_sec, 1600000000);

    assert_int_equal(lstat(path_in(fx->layer, "usr/bin/su"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 04755);
    struct stat link;
    assert_int_equal(lstat(path_in(fx->layer, "usr/bin/link"), &link), 0);
    assert_int_equal(link.st_ino, st.st_ino);
    assert_int_equal(st.st_nlink, 2);

    /* implicit parents */
    assert_int_equal(lstat(path_in(fx->layer, "usr"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0755);

    char target[64] = {0};
    assert_int_equal(lstat(path_in(fx->layer, "bin"), &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(st.st_uid, 7);
    assert_int_equal(readlink(path_in(fx->layer, "bin"), target, sizeof target - 1), 7);
    assert_string_equal(target, "usr/bin");
    memset(target, 0, sizeof target);
    assert_int_equal(readlink(path_in(fx->layer, "etc/abs"), target, sizeof target - 1), 11);
    assert_string_equal(target, "/etc/passwd");

    assert_int_equal(lstat(path_in(fx->layer, "dev/null"), &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(1, 3));
    assert_int_equal(st.st_mode & 07777, 0666);
    assert_int_equal(lstat(path_in(fx->layer, "dev/sda"), &st), 0);
    assert_true(S_ISBLK(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(8, 0));
    assert_int_equal(st.st_gid, 6);
    assert_int_equal(lstat(path_in(fx->layer, "run/fifo"), &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(lstat(path_in(fx->layer, "tmp"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 01777);
    assert_int_equal(lstat(path_in(fx->layer, "utf8-\xc3\xa9t\xc3\xa9"), &st), 0);

    char value[64];
    const char *ping = path_in(fx->layer, "usr/bin/ping");
    assert_int_equal(lgetxattr(ping, "security.capability", value, sizeof value),
                     sizeof cap_net_bind);
    assert_memory_equal(value, cap_net_bind, sizeof cap_net_bind);
    assert_int_equal(lgetxattr(ping, "user.mime", value, sizeof value), 6);
    assert_memory_equal(value, "text/x", 6);
    assert_int_equal(lgetxattr(ping, "trusted.note", value, sizeof value), 1);

    assert_int_equal(res.entries, 13);
    assert_int_equal(res.file_bytes, 4 + 3 + 4 + 1);
    assert_int_equal(res.tar_bytes, t.len);
    char want[IMAGE_DIGEST_SIZE];
    assert_int_equal(image_digest_of(t.buf, t.len, want, &err), 0);
    assert_string_equal(res.diff_id, want);
    assert_string_equal(res.digest, want); /* not compressed: the same bytes */
    assert_nothing_outside(fx);
    free(t.buf);
}

static void verifies_diff_id_and_digest(void **state)
{
    struct fixture *fx = *state;
    struct tarb t;
    build_full_layer(&t);
    size_t gzlen;
    char *gz = compress_buf(t.buf, t.len, ARCHIVE_FILTER_GZIP, &gzlen);
    char diff_id[IMAGE_DIGEST_SIZE], digest[IMAGE_DIGEST_SIZE];
    v12n_error err = {0};
    image_digest_of(t.buf, t.len, diff_id, &err);
    image_digest_of(gz, gzlen, digest, &err);

    struct unpack_opts good = {.diff_id = diff_id, .digest = digest};
    struct unpack_result res;
    if (unpack_buf(fx, gz, gzlen, &good, &res, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(res.compressed_bytes, gzlen);
    assert_string_equal(res.digest, digest);

    /* a diff_id that does not match is refused (after the whole stream) */
    struct unpack_opts bad = {.diff_id = digest};
    assert_int_equal(unpack_buf(fx, gz, gzlen, &bad, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "diff_id mismatch"));
    assert_int_equal(err.errnum, EILSEQ);
    struct unpack_opts bad_digest = {.digest = diff_id};
    assert_int_equal(unpack_buf(fx, gz, gzlen, &bad_digest, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "digest mismatch"));
    struct unpack_opts malformed = {.diff_id = "sha256:xyz"};
    assert_int_equal(unpack_buf(fx, gz, gzlen, &malformed, NULL, &err), -1);
    free(gz);
    free(t.buf);
}

static void gzip_zstd_and_plain_give_one_diff_id(void **state)
{
    struct fixture *fx = *state;
    struct tarb t;
    build_full_layer(&t);
    char diff_id[IMAGE_DIGEST_SIZE];
    v12n_error err = {0};
    image_digest_of(t.buf, t.len, diff_id, &err);
    int filters[] = {ARCHIVE_FILTER_NONE, ARCHIVE_FILTER_GZIP, ARCHIVE_FILTER_ZSTD};
    for (size_t i = 0; i < 3; i++) {
        size_t len = t.len;
        char *buf = filters[i] == ARCHIVE_FILTER_NONE
                        ? t.buf
                        : compress_buf(t.buf, t.len, filters[i], &len);
        int dfd = open(fx->dir, O_RDONLY | O_DIRECTORY);
        assert_int_equal(unpack_remove_tree(dfd, "layer", &err), 0);
        assert_int_equal(mkdir(fx->layer, 0755), 0);
        close(fx->layerfd);
        fx->layerfd = open(fx->layer, O_RDONLY | O_DIRECTORY);
        close(dfd);
        struct unpack_opts o = {.diff_id = diff_id};
        if (unpack_buf(fx, buf, len, &o, NULL, &err) < 0)
            fail_msg("filter %d: %s", filters[i], err.msg);
        char text[16];
        read_text(path_in(fx->layer, "etc/hostname"), text, sizeof text);
        assert_string_equal(text, "box\n");
        if (buf != t.buf)
            free(buf);
    }
    free(t.buf);
}

static void empty_stream_is_an_empty_layer(void **state)
{
    struct fixture *fx = *state;
    v12n_error err = {0};
    struct unpack_result res;
    if (unpack_buf(fx, "", 0, NULL, &res, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(res.entries, 0);
    char zeros[1024] = {0};
    assert_int_equal(unpack_buf(fx, zeros, sizeof zeros, NULL, &res, &err), 0);
    assert_int_equal(count_entries(fx->layer), 0);
}

/* ---- whiteouts ---- */

static void converts_whiteouts_to_overlay_form(void **state)
{
    struct fixture *fx = *state;
    struct tarb t;
    tarb_begin(&t);
    tarb_add(&t, &(struct tent){.path = "etc/", .type = AE_IFDIR});
    tarb_add(&t, &(struct tent){.path = "etc/.wh.motd"});
    tarb_add(&t, &(struct tent){.path = ".wh.gone-dir"});
    tarb_add(&t, &(struct tent){.path = "var/cache/.wh..wh..opq"});
    tarb_add(&t, &(struct tent){.path = "var/cache/new", .data = "n", .len = 1});
    tarb_add(&t, &(struct tent){.path = ".wh..wh.plnk", .type = AE_IFDIR});
    tarb_add(&t, &(struct tent){.path = ".wh..wh.plnk/123.456", .data = "x", .len = 1});
    tarb_add(&t, &(struct tent){.path = "sub/.wh..wh.orph/x", .data = "x", .len = 1});
    tarb_add(&t, &(struct tent){.path = ".wh..wh.aufs"});
    /* written by this layer, then whited out by it: the file stays */
    tarb_add(&t, &(struct tent){.path = "kept", .data = "k", .len = 1});
    tarb_add(&t, &(struct tent){.path = ".wh.kept"});
    tarb_add(&t, &(struct tent){.path = ".wh..wh..opq"});
    tarb_end(&t);
    v12n_error err = {0};
    if (unpack_buf(fx, t.buf, t.len, NULL, NULL, &err) < 0)
        fail_msg("%s", err.msg);

    struct stat st;
    assert_int_equal(lstat(path_in(fx->layer, "etc/motd"), &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(0, 0));
    assert_int_equal(st.st_uid, 0);
    assert_int_equal(lstat(path_in(fx->layer, "gone-dir"), &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(lstat(path_in(fx->layer, "etc/.wh.motd"), &st), -1);
    assert_int_equal(lstat(path_in(fx->layer, ".wh.gone-dir"), &st), -1);
    assert_int_equal(lstat(path_in(fx->layer, ".wh..wh.plnk"), &st), -1);
    assert_int_equal(lstat(path_in(fx->layer, ".wh..wh.aufs"), &st), -1);
    assert_int_equal(lstat(path_in(fx->layer, "sub"), &st), -1);
    assert_int_equal(lstat(path_in(fx->layer, "var/cache/.wh..wh..opq"), &st), -1);

    char v[8];
    assert_int_equal(
        lgetxattr(path_in(fx->layer, "var/cache"), "trusted.overlay.opaque", v, sizeof v), 1);
    assert_int_equal(v[0], 'y');
    assert_int_equal(lgetxattr(fx->layer, "trusted.overlay.opaque", v, sizeof v), 1);
    assert_int_equal(lgetxattr(path_in(fx->layer, "etc"), "trusted.overlay.opaque", v, sizeof v),
                     -1);
    assert_int_equal(lstat(path_in(fx->layer, "var/cache/new"), &st), 0);
    assert_int_equal(lstat(path_in(fx->layer, "kept"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    free(t.buf);
}

static void refuses_forged_overlay_xattrs_and_bad_whiteouts(void **state)
{
    struct fixture *fx = *state;
    struct tarb t;
    tarb_begin(&t);
    tarb_add(&t, &(struct tent){.path = "d/",
                                .type = AE_IFDIR,
                                .xname = {"trusted.overlay.redirect", "user.overlay.origin",
                                          "security.selinux"},
                                .xvalue = {"/etc", "x", "system_u:object_r:etc_t:s0"}});
    tarb_end(&t);
    v12n_error err = {0};
    if (unpack_buf(fx, t.buf, t.len, NULL, NULL, &err) < 0)
        fail_msg("%s", err.msg);
    char v[64];
    const char *d = path_in(fx->layer, "d");
    assert_int_equal(lgetxattr(d, "trusted.overlay.redirect", v, sizeof v), -1);
    assert_int_equal(lgetxattr(d, "user.overlay.origin", v, sizeof v), -1);
    free(t.buf);

    tarb_begin(&t);
    tarb_add(&t, &(struct tent){.path = ".wh.dir/x", .data = "x", .len = 1});
    tarb_end(&t);
    expect_refused(fx, &t, "a whiteout used as a directory");
    free(t.buf);

    tarb_begin(&t);
    tarb_add(&t, &(struct tent){.path = "a/.wh."});
    tarb_end(&t);
    expect_refused(fx, &t, "whiteout of an invalid name");
    free(t.buf);
}

/* ---- escapes ---- */

static void refuses_dotdot(void **state)
{
    struct fixture *fx = *state;
    const char *paths[] = {"../x", "a/../../x", "./../outside/x", "a/b/../../../outside/x", ".."};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct tarb t;
        tarb_begin(&t);
        tarb_add(&t, &(struct tent){.path = "a/b/", .type = AE_IFDIR});
        tarb_add(&t, &(struct tent){.path = paths[i], .data = "pwned", .len = 5});
        tarb_end(&t);
        expect_refused(fx, &t, "'..'");
        char want[128];
        snprintf(want, sizeof want, "layer entry %s", paths[i]);
        v12n_error err = {0};
        unpack_buf(fx, t.buf, t.len, NULL, NULL, &err);
        assert_non_null(strstr(err.msg, want));
        free(t.buf);
    }
}

static void refuses_absolute_paths(void **state)
{
    struct fixture *fx = *state;
    struct tarb t;
    tarb_begin(&t);
    tarb_add(&t, &(struct tent){.path = path_in(fx->outside, "x"), .data = "pwned", .len = 5});
    tarb_end(&t);
    expect_refused(fx, &t, "absolute path");
    free(t.buf);

    tarb_begin(&t);
    tarb_add(&t,
             &(struct tent){.path = "/etc/v12n-unpack-test-must-not-exist", .data = "x", .len = 1});
    tarb_end(&t);
    expect_refused(fx, &t, "absolute path");
    assert_int_equal(access("/etc/v12n-unpack-test-must-not-exist", F_OK), -1);
    free(t.buf);
}

/* a -> (somewhere outside), then a/x: refused at a/x, nothing outside. */
static void refuses_writes_through_symlinks(void **state)
{
    struct fixture *fx = *state;
    const char *targets[] = {fx->outside, "../outside", "../..", "/", "."};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        struct tarb t;
        tarb_begin(&t);
        tarb_add(&t, &(struct tent){.path = "a", .type = AE_IFLNK, .symlink = targets[i]});
        tarb_add(&t, &(struct tent){.path = "a/x", .data = "pwned", .len = 5});
        tarb_end(&t);
        expect_refused(fx, &t, "symlink");
        free(t.buf);

        /* the same deeper, and with a directory entry through the link */
        tarb_begin(&t);
        tarb_add(&t, &(struct tent){.path = "d/a", .type = AE_IFLNK, .symlink = targets[i]});
        tarb_add(&t, &(struct tent){.path = "d/a/sub/", .type = AE_IFDIR});
        tarb_end(&t);
        expect_refused(fx, &t, "symlink");
        free(t.buf);
    }
}

/* A directory replaced by a symlink later in the same layer. */
static void refuses_symlink_swapped_for_a_directory(void **state)
{
    struct fixture *fx = *state;
    struct tarb t;
    tarb_begin(&t);
    tarb_add(&t, &(struct tent){.path = "d/", .type = AE_IFDIR});
    tarb_add(&t, &(struct tent){.path = "d/one", .data = "1", .len = 1});
    tarb_add(&t, &(struct tent){.path = "d", .type = AE_IFLNK, .symlink = fx->outside});
    tarb_add(&t, &(struct tent){.path = "d/two", .data = "2", .len = 1});
    tarb_end(&t);
    expect_refused(fx, &t, "symlink");
    free(t.buf);

    /* and a symlink at the final name is replaced, never followed */
    tarb_begin(&t);
    tarb_add(&t,
             &(struct tent){.path = "f", .type = AE_IFLNK, .symlink = path_in(fx->outside, "f")});
    tarb_add(&t, &(struct tent){.path = "f", .data = "safe", .len = 4});
    tarb_add(&t, &(struct tent){.path = "g", .type = AE_IFLNK, .symlink = fx->outside});
    tarb_add(&t, &(struct tent){.path = "g", .type = AE_IFDIR});
    tarb_end(&t);
    v12n_error err = {0};
    if (unpack_buf(fx, t.buf, t.len, NULL, NULL, &err) < 0)
        fail_msg("%s", err.msg);
    struct stat st;
    assert_int_equal(lstat(path_in(fx->layer, "f"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(lstat(path_in(fx->layer, "g"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_nothing_outside(fx);
    free(t.buf);
}

static void refuses_hardlinks_outside(void **state)
{
    struct fixture *fx = *state;
    char victim[PATH_MAX];
    snprintf(victim, sizeof victim, "%s/victim", fx->dir);
    v12n_error err = {0};
    assert_int_equal(v12n_write_file(victim, "secret", 6, &err), 0);

    struct {
        const char *target, *want;
    } cases[] = {
        {"/etc/passwd", "absolute path"}, {victim, "absolute path"},      {"../victim", "'..'"},
        {"a/../../victim", "'..'"},       {"missing", "hardlink target"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tarb t;
        tarb_begin(&t);
        tarb_add(&t, &(struct tent){.path = "x", .hardlink = cases[i].target});
        tarb_end(&t);
        if (unpack_buf(fx, t.buf, t.len, NULL, NULL, &err) == 0 ||
            strstr(err.msg, cases[i].want) == NULL)
            fail_msg("hardlink to %s: %s", cases[i].target, err.msg);
        free(t.buf);
    }
    struct stat st;
    assert_int_equal(stat("/etc/passwd", &st), 0);
    assert_int_equal(stat(victim, &st), 0);
    assert_int_equal(st.st_nlink, 1);
    unlink(victim);
    assert_nothing_outside(fx);
}

static void refuses_hardlinks_through_symlinks(void **state)
{
    struct fixture *fx = *state;
    v12n_error err = {0};
    assert_int_equal(v12n_write_file(path_in(fx->outside, "secret"), "s", 1, &err), 0);
    struct tarb t;
    tarb_begin(&t);
    tarb_add(&t, &(struct tent){.path = "a", .type = AE_IFLNK, .symlink = fx->outside});
    tarb_add(&t, &(struct tent){.path = "x", .hardlink = "a/secret"});
    tarb_end(&t);
    assert_int_equal(unpack_buf(fx, t.buf, t.len, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "symlink"));
    assert_non_null(strstr(err.msg, "layer entry x"));
    struct stat st;
    assert_int_equal(stat(path_in(fx->outside, "secret"), &st), 0);
    assert_int_equal(st.st_nlink, 1);
    assert_int_equal(lstat(path_in(fx->layer, "x"), &st), -1);
    free(t.buf);

    /* the link itself placed through a symlink */
    tarb_begin(&t);
    tarb_add(&t, &(struct tent){.path = "f", .data = "f", .len = 1});
    tarb_add(&t, &(struct tent){.path = "a", .type = AE_IFLNK, .symlink = fx->outside});
    tarb_add(&t, &(struct tent){.path = "a/f", .hardlink = "f"});
    tarb_end(&t);
    assert_int_equal(unpack_buf(fx, t.buf, t.len, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "symlink"));
    unlink(path_in(fx->outside, "secret"));
    assert_nothing_outside(fx);
    free(t.buf);

    /* a hardlink to a symlink inside the layer links the symlink itself */
    tarb_begin(&t);
    tarb_add(&t, &(struct tent){.path = "s", .type = AE_IFLNK, .symlink = "/etc/passwd"});
    tarb_add(&t, &(struct tent){.path = "h", .hardlink = "s"});
    tarb_end(&t);
    if (unpack_buf(fx, t.buf, t.len, NULL, NULL, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(lstat(path_in(fx->layer, "h"), &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    free(t.buf);
}

/* ---- caps and broken streams ---- */

static void refuses_a_gzip_bomb(void **state)
{
    struct fixture *fx = *state;
    size_t big = 64u << 20;
    char *zeros = calloc(1, big);
    struct tarb t;
    tarb_begin_filtered(&t, 0, ARCHIVE_FILTER_GZIP);
    tarb_add(&t, &(struct tent){.path = "bomb", .data = zeros, .len = big});
    tarb_end(&t);
    free(zeros);
    assert_true(t.len < (1u << 20)); /* it is a bomb: tiny compressed */

    struct unpack_opts o = {.max_bytes = 4u << 20};
    v12n_error err = {0};
    assert_int_equal(unpack_buf(fx, t.buf, t.len, &o, NULL, &err), -1);
    assert_int_equal(err.errnum, EFBIG);
    assert_non_null(strstr(err.msg, "limit of 4194304 bytes"));
    free(t.buf);

    /* a cap below the stream itself (headers and padding count) */
    tarb_begin(&t);
    tarb_add(&t, &(struct tent){.path = "small", .data = "s", .len = 1});
    tarb_end(&t);
    struct unpack_opts tiny = {.max_bytes = 4096};
    assert_int_equal(unpack_buf(fx, t.buf, t.len, &tiny, NULL, &err), -1);
    assert_int_equal(err.errnum, EFBIG);
    free(t.buf);
}

static void refuses_too_many_entries(void **state)
{
    struct fixture *fx = *state;
    struct tarb t;
    tarb_begin(&t);
    for (int i = 0; i < 50; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%02d", i);
        tarb_add(&t, &(struct tent){.path = name});
    }
    tarb_end(&t);
    struct unpack_opts o = {.max_entries = 10};
    v12n_error err = {0};
    assert_int_equal(unpack_buf(fx, t.buf, t.len, &o, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "more than the limit of 10 entries"));
    o.max_entries = 50;
    assert_int_equal(unpack_buf(fx, t.buf, t.len, &o, NULL, &err), 0);
    free(t.buf);
}

static void refuses_truncated_and_corrupted_gzip(void **state)
{
    struct fixture *fx = *state;
    struct tarb t;
    build_full_layer(&t);
    size_t gzlen;
    char *gz = compress_buf(t.buf, t.len, ARCHIVE_FILTER_GZIP, &gzlen);
    v12n_error err = {0};

    assert_int_equal(unpack_buf(fx, gz, gzlen / 2, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "layer"));
    /* only the 8-byte trailer (CRC, size) missing */
    assert_int_equal(unpack_buf(fx, gz, gzlen - 8, NULL, NULL, &err), -1);

    char *bad = malloc(gzlen);
    memcpy(bad, gz, gzlen);
    for (size_t i = gzlen / 3; i < gzlen / 3 + 16; i++)
        bad[i] ^= 0x5a;
    assert_int_equal(unpack_buf(fx, bad, gzlen, NULL, NULL, &err), -1);
    free(bad);
    free(gz);
    free(t.buf);
}

static void refuses_unknown_compression_and_garbage(void **state)
{
    struct fixture *fx = *state;
    v12n_error err = {0};
    const char bz[] = "BZh91AY&SY garbage after the magic";
    assert_int_equal(unpack_buf(fx, bz, sizeof bz, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "unsupported compression bzip2"));
    const char xz[] = "\xfd"
                      "7zXZ\0 more";
    assert_int_equal(unpack_buf(fx, xz, sizeof xz, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "unsupported compression xz"));

    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 7 + 3);
    assert_int_equal(unpack_buf(fx, junk, sizeof junk, NULL, NULL, &err), -1);
    assert_int_equal(count_entries(fx->layer), 0);

    assert_int_equal(unpack_media_type_check("application/vnd.oci.image.layer.v1.tar+zstd", &err),
                     0);
    assert_int_equal(
        unpack_media_type_check("application/vnd.docker.image.rootfs.diff.tar.gzip", &err), 0);
    assert_int_equal(unpack_media_type_check("application/vnd.oci.image.layer.v1.tar", &err), 0);
    assert_int_equal(unpack_media_type_check("application/vnd.oci.image.layer.v1.tar+bzip2", &err),
                     -1);
    assert_non_null(strstr(err.msg, "unsupported media type"));
}

/* A hostile name cannot drive the terminal the error is printed on. */
static void messages_show_no_control_characters(void **state)
{
    struct fixture *fx = *state;
    struct tarb t;
    tarb_begin(&t);
    tarb_add(&t, &(struct tent){.path = "\x1b]0;owned\x07/\xc2\x9b"
                                        "31m/../x"});
    tarb_end(&t);
    v12n_error err = {0};
    assert_int_equal(unpack_buf(fx, t.buf, t.len, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "layer entry ?]0;owned?/?31m/../x"));
    for (const char *p = err.msg; *p != '\0'; p++)
        assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
    free(t.buf);

    /* the parent named in a refusal too */
    tarb_begin(&t);
    tarb_add(&t, &(struct tent){.path = "\x1b[2J", .type = AE_IFLNK, .symlink = "/"});
    tarb_add(&t, &(struct tent){.path = "\x1b[2J/x"});
    tarb_end(&t);
    assert_int_equal(unpack_buf(fx, t.buf, t.len, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "symlink in ?[2J"));
    assert_null(strchr(err.msg, '\x1b'));
    free(t.buf);
}

static void later_entries_replace_earlier_ones(void **state)
{
    struct fixture *fx = *state;
    struct tarb t;
    tarb_begin(&t);
    tarb_add(&t, &(struct tent){.path = "f", .data = "old", .len = 3});
    tarb_add(&t, &(struct tent){.path = "f", .data = "new", .len = 3});
    tarb_add(&t, &(struct tent){.path = "d/", .type = AE_IFDIR});
    tarb_add(&t, &(struct tent){.path = "d/inner", .data = "i", .len = 1});
    tarb_add(&t, &(struct tent){.path = "d", .data = "now a file", .len = 10});
    tarb_add(&t, &(struct tent){.path = "e", .data = "file", .len = 4});
    tarb_add(&t, &(struct tent){.path = "e/", .type = AE_IFDIR, .perm = 0700});
    tarb_add(&t, &(struct tent){.path = "keep/", .type = AE_IFDIR});
    tarb_add(&t, &(struct tent){.path = "keep/x", .data = "x", .len = 1});
    tarb_add(&t, &(struct tent){.path = "keep/", .type = AE_IFDIR, .perm = 0711});
    tarb_end(&t);
    v12n_error err = {0};
    if (unpack_buf(fx, t.buf, t.len, NULL, NULL, &err) < 0)
        fail_msg("%s", err.msg);
    char text[32];
    read_text(path_in(fx->layer, "f"), text, sizeof text);
    assert_string_equal(text, "new");
    read_text(path_in(fx->layer, "d"), text, sizeof text);
    assert_string_equal(text, "now a file");
    struct stat st;
    assert_int_equal(lstat(path_in(fx->layer, "e"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(lstat(path_in(fx->layer, "keep/x"), &st), 0);
    assert_int_equal(lstat(path_in(fx->layer, "keep"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0711);
    free(t.buf);
}

/* Trees deeper than PATH_MAX go away too (a hostile layer can build one
 * across entries, each path short). */
static void removes_trees_deeper_than_path_max(void **state)
{
    struct fixture *fx = *state;
    int fd = dup(fx->layerfd);
    for (int depth = 0; depth < 600; depth++) {
        char name[32];
        snprintf(name, sizeof name, "level-%03d-xxxxxxxx", depth);
        assert_int_equal(mkdirat(fd, name, 0755), 0);
        int f = openat(fd, "file", O_CREAT | O_WRONLY, 0644);
        assert_true(f >= 0);
        close(f);
        assert_int_equal(symlinkat("/etc", fd, "link"), 0);
        int next = openat(fd, name, O_RDONLY | O_DIRECTORY);
        assert_true(next >= 0);
        close(fd);
        fd = next;
    }
    close(fd);
    int dfd = open(fx->dir, O_RDONLY | O_DIRECTORY);
    v12n_error err = {0};
    if (unpack_remove_tree(dfd, "layer", &err) < 0)
        fail_msg("%s", err.msg);
    close(dfd);
    assert_int_equal(access(fx->layer, F_OK), -1);
    assert_int_equal(access("/etc/passwd", F_OK), 0); /* links were not followed */
    mkdir(fx->layer, 0755);
}

/* Driver for bench/unpack.sh:
 *   test_unpack --bench STORE_ROOT LAYER_FILE DIFF_ID [nosync]
 * unpacks LAYER_FILE into the store at STORE_ROOT (as a pull would) and
 * prints the result; not a test. */
static int bench_main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s --bench STORE_ROOT LAYER_FILE DIFF_ID [nosync]\n", argv[0]);
        return 2;
    }
    v12n_error err = {0};
    struct store *s;
    unsigned flags = argc > 5 && strcmp(argv[5], "nosync") == 0 ? STORE_NO_SYNC : 0;
    int fd = open(argv[3], O_RDONLY | O_CLOEXEC);
    if (fd < 0 || store_open(argv[2], flags, &s, &err) < 0) {
        fprintf(stderr, "%s: %s\n", argv[3], fd < 0 ? strerror(errno) : err.msg);
        return 1;
    }
    struct unpack_source src;
    unpack_source_fd(&src, &fd);
    struct unpack_result res = {0};
    int r = store_layer_unpack(s, &src, NULL, argv[4], NULL, &res, &err);
    store_close(s);
    close(fd);
    if (r < 0) {
        fprintf(stderr, "unpack: %s\n", err.msg);
        return 1;
    }
    printf("{\"entries\": %llu, \"file_bytes\": %llu, \"tar_bytes\": %llu, "
           "\"compressed_bytes\": %llu, \"already\": %s}\n",
           (unsigned long long)res.entries, (unsigned long long)res.file_bytes,
           (unsigned long long)res.tar_bytes, (unsigned long long)res.compressed_bytes,
           r == 1 ? "true" : "false");
    return 0;
}

/* The same attacks on the path kernels without openat2 take. */
static void refuses_escapes_without_openat2(void **state)
{
    unpack_test_force_walk(true);
    refuses_writes_through_symlinks(state);
    refuses_symlink_swapped_for_a_directory(state);
    refuses_hardlinks_through_symlinks(state);
    refuses_hardlinks_outside(state);
    unpacks_every_file_type(state);
    unpack_test_force_walk(false);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--bench") == 0)
        return bench_main(argc, argv);
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(unpacks_every_file_type),
        T(verifies_diff_id_and_digest),
        T(gzip_zstd_and_plain_give_one_diff_id),
        T(empty_stream_is_an_empty_layer),
        T(converts_whiteouts_to_overlay_form),
        T(refuses_forged_overlay_xattrs_and_bad_whiteouts),
        T(refuses_dotdot),
        T(refuses_absolute_paths),
        T(refuses_writes_through_symlinks),
        T(refuses_symlink_swapped_for_a_directory),
        T(refuses_hardlinks_outside),
        T(refuses_hardlinks_through_symlinks),
        T(refuses_a_gzip_bomb),
        T(refuses_too_many_entries),
        T(refuses_truncated_and_corrupted_gzip),
        T(refuses_unknown_compression_and_garbage),
        T(messages_show_no_control_characters),
        T(later_entries_replace_earlier_ones),
        T(removes_trees_deeper_than_path_max),
        T(refuses_escapes_without_openat2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
