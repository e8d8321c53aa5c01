/* The image store on real files (as root, in /tmp): blobs verified before
 * they get their name, layers unpacked atomically, a pull killed with
 * SIGKILL, two processes racing for one layer, the image index under
 * concurrent writers, and garbage collection. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/digest.h"
#include "image/store.h"
#include "image/unpack.h"
#include "image_layers.h"
#include "util/cleanup.h"
#include "util/fs.h"

struct fixture {
    char dir[64];        /* /tmp/v12n-store-XXXXXX */
    char root[PATH_MAX]; /* dir/root: the store */
    struct store *s;
};

static int fixture_setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/v12n-store-XXXXXX");
    if (mkdtemp(fx->dir) == NULL)
        return -1;
    snprintf(fx->root, sizeof fx->root, "%s/root", fx->dir);
    v12n_error err = {0};
    if (store_open(fx->root, STORE_NO_SYNC, &fx->s, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    *state = fx;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *fx = *state;
    store_close(fx->s);
    remove_tmp_dir(fx->dir);
    free(fx);
    return 0;
}

static char *in_root(struct fixture *fx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *in_root(struct fixture *fx, const char *fmt, ...)
{
    static char buf[4][PATH_MAX];
    static int next;
    char rel[PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    char *out = buf[next++ % 4];
    snprintf(out, PATH_MAX, "%s/%s", fx->root, rel);
    return out;
}

/* A gzip layer whose content depends on seed; files*size bytes of data. */
struct layer {
    char *gz;
    size_t gzlen;
    char diff_id[IMAGE_DIGEST_SIZE];
    char digest[IMAGE_DIGEST_SIZE];
    uint64_t file_bytes;
};

static void make_layer(struct layer *l, unsigned seed, int files, size_t size)
{
    struct tarb t;
    tarb_begin(&t);
    char *data = malloc(size);
    unsigned x = seed * 2654435761u + 1;
    l->file_bytes = 0;
    tarb_add(&t, &(struct tent){.path = "etc/", .type = AE_IFDIR});
    char name[64];
    snprintf(name, sizeof name, "etc/layer-%u", seed);
    tarb_add(&t, &(struct tent){.path = name, .data = name, .len = strlen(name)});
    l->file_bytes += strlen(name);
    for (int i = 0; i < files; i++) {
        for (size_t k = 0; k < size; k++) {
            x = x * 1103515245u + 12345u;
            data[k] = (char)(x >> 16);
        }
        snprintf(name, sizeof name, "data/d%02d/f%05d", i % 16, i);
        tarb_add(&t, &(struct tent){.path = name, .data = data, .len = size});
        l->file_bytes += size;
    }
    tarb_end(&t);
    free(data);
    v12n_error err = {0};
    assert_int_equal(image_digest_of(t.buf, t.len, l->diff_id, &err), 0);
    l->gz = compress_buf(t.buf, t.len, ARCHIVE_FILTER_GZIP, &l->gzlen);
    assert_int_equal(image_digest_of(l->gz, l->gzlen, l->digest, &err), 0);
    free(t.buf);
}

static int unpack_layer_into(struct store *s, const struct layer *l, const char *diff_id,
                             const struct unpack_opts *o, v12n_error *err)
{
    struct memsrc m = {.buf = l->gz, .len = l->gzlen, .step = 100000};
    struct unpack_source src = memsrc_source(&m);
    return store_layer_unpack(s, &src, "application/vnd.oci.image.layer.v1.tar+gzip", diff_id, o,
                              NULL, err);
}

static void put_blob(struct store *s, const char *text, char digest[IMAGE_DIGEST_SIZE])
{
    v12n_error err = {0};
    if (store_blob_put(s, text, strlen(text), NULL, digest, &err) < 0)
        fail_msg("%s", err.msg);
}

/* ---- blobs ---- */

static void blob_commit_verifies_the_digest(void **state)
{
    struct fixture *fx = *state;
    const char *text = "{\"architecture\":\"amd64\"}";
    char want[IMAGE_DIGEST_SIZE], other[IMAGE_DIGEST_SIZE];
    v12n_error err = {0};
    image_digest_of(text, strlen(text), want, &err);
    image_digest_of("x", 1, other, &err);

    /* wrong digest: refused, nothing under either name, no temporary left */
    struct store_blob_writer *w;
    assert_int_equal(store_blob_begin(fx->s, &w, &err), 0);
    assert_int_equal(store_blob_write(w, text, 10, &err), 0);
    assert_int_equal(store_blob_write(w, text + 10, strlen(text) - 10, &err), 0);
    assert_int_equal(store_blob_written(w), strlen(text));
    assert_int_equal(store_blob_commit(w, other, NULL, &err), -1);
    assert_int_equal(err.errnum, EILSEQ);
    assert_non_null(strstr(err.msg, "digest mismatch"));
    assert_false(store_blob_has(fx->s, other));
    assert_false(store_blob_has(fx->s, want));
    assert_int_equal(count_entries(in_root(fx, "tmp")), 0);
    assert_int_equal(count_entries(in_root(fx, "blobs/sha256")), 0);

    /* right digest: stored, readable, twice is fine */
    char got[IMAGE_DIGEST_SIZE];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(store_blob_put(fx->s, text, strlen(text), want, got, &err), 0);
        assert_string_equal(got, want);
    }
    assert_true(store_blob_has(fx->s, want));
    size_t len;
    auto_free char *back = store_blob_read(fx->s, want, &len, &err);
    assert_non_null(back);
    assert_int_equal(len, strlen(text));
    assert_memory_equal(back, text, len);
    assert_int_equal(count_entries(in_root(fx, "blobs/sha256")), 1);
    assert_int_equal(count_entries(in_root(fx, "tmp")), 0);

    /* malformed and unsupported digests */
    assert_int_equal(store_blob_put(fx->s, "x", 1, "sha512:abcd", NULL, &err), -1);
    assert_false(store_blob_has(fx->s, "sha256:../../etc/passwd"));
    assert_int_equal(store_blob_open(fx->s, "sha256:../x", &err), -1);
    assert_int_equal(count_entries(in_root(fx, "tmp")), 0);
}

static void blob_abort_and_corruption(void **state)
{
    struct fixture *fx = *state;
    v12n_error err = {0};
    struct store_blob_writer *w;
    assert_int_equal(store_blob_begin(fx->s, &w, &err), 0);
    assert_int_equal(store_blob_write(w, "half", 4, &err), 0);
    assert_int_equal(count_entries(in_root(fx, "tmp")), 1);
    store_blob_abort(w);
    assert_int_equal(count_entries(in_root(fx, "tmp")), 0);
    assert_int_equal(count_entries(in_root(fx, "blobs/sha256")), 0);

    /* a blob that rots on disk is not handed out as if it were fine */
    char d[IMAGE_DIGEST_SIZE];
    put_blob(fx->s, "{\"config\":{}}", d);
    assert_int_equal(
        v12n_write_file(in_root(fx, "blobs/sha256/%s", d + 7), "{\"config\":{1}}", 14, &err), 0);
    assert_null(store_blob_read(fx->s, d, NULL, &err));
    assert_non_null(strstr(err.msg, "corrupted"));
}

static void blobs_and_layers_with_sync(void **state)
{
    struct fixture *fx = *state;
    struct store *s;
    v12n_error err = {0};
    assert_int_equal(store_open(fx->root, 0, &s, &err), 0);
    char d[IMAGE_DIGEST_SIZE];
    put_blob(s, "durable", d);
    struct layer l;
    make_layer(&l, 77, 4, 1000);
    if (unpack_layer_into(s, &l, l.diff_id, NULL, &err) != 0)
        fail_msg("%s", err.msg);
    assert_true(store_layer_has(s, l.diff_id));
    store_close(s);
    free(l.gz);
}

/* ---- layers ---- */

static void layer_unpack_is_verified_and_atomic(void **state)
{
    struct fixture *fx = *state;
    struct layer l;
    make_layer(&l, 1, 40, 3000);
    v12n_error err = {0};

    /* a diff_id that does not match: no layer, no temporary */
    struct layer other;
    make_layer(&other, 2, 1, 10);
    assert_int_equal(unpack_layer_into(fx->s, &l, other.diff_id, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "diff_id mismatch"));
    assert_false(store_layer_has(fx->s, other.diff_id));
    assert_int_equal(count_entries(in_root(fx, "layers")), 0);
    assert_int_equal(count_entries(in_root(fx, "tmp")), 0);

    /* over the cap: refused and cleaned */
    struct unpack_opts small = {.max_bytes = 20000};
    assert_int_equal(unpack_layer_into(fx->s, &l, l.diff_id, &small, &err), -1);
    assert_int_equal(err.errnum, EFBIG);
    assert_int_equal(count_entries(in_root(fx, "layers")), 0);
    assert_int_equal(count_entries(in_root(fx, "tmp")), 0);

    /* an unknown media type */
    struct memsrc m = {.buf = l.gz, .len = l.gzlen};
    struct unpack_source src = memsrc_source(&m);
    assert_int_equal(
        store_layer_unpack(fx->s, &src, "application/x-rar", l.diff_id, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "unsupported media type"));

    /* the real thing */
    if (unpack_layer_into(fx->s, &l, l.diff_id, NULL, &err) != 0)
        fail_msg("%s", err.msg);
    assert_true(store_layer_has(fx->s, l.diff_id));
    char path[PATH_MAX];
    assert_int_equal(store_layer_path(fx->s, l.diff_id, path, sizeof path, &err), 0);
    assert_string_equal(path, in_root(fx, "layers/%s/diff", l.diff_id + 7));
    char file[PATH_MAX + 32];
    snprintf(file, sizeof file, "%s/etc/layer-1", path);
    assert_true(v12n_path_exists(file));
    uint64_t size;
    assert_int_equal(store_layer_size(fx->s, l.diff_id, &size, &err), 0);
    assert_int_equal(size, l.file_bytes);
    assert_int_equal(count_entries(in_root(fx, "tmp")), 0);

    /* again: already there, nothing read */
    struct memsrc none = {.buf = NULL, .len = 0};
    struct unpack_source empty = memsrc_source(&none);
    assert_int_equal(store_layer_unpack(fx->s, &empty, NULL, l.diff_id, NULL, NULL, &err), 1);
    free(l.gz);
    free(other.gz);
}

static void layer_unpack_from_a_blob(void **state)
{
    struct fixture *fx = *state;
    struct layer l;
    make_layer(&l, 3, 8, 2000);
    v12n_error err = {0};
    assert_int_equal(store_blob_put(fx->s, l.gz, l.gzlen, l.digest, NULL, &err), 0);
    if (store_layer_unpack_blob(fx->s, l.digest, NULL, l.diff_id, NULL, NULL, &err) != 0)
        fail_msg("%s", err.msg);
    assert_true(store_layer_has(fx->s, l.diff_id));

    /* a rotten blob is refused on the way (its digest is checked again) */
    struct layer l2;
    make_layer(&l2, 4, 8, 2000);
    assert_int_equal(store_blob_put(fx->s, l2.gz, l2.gzlen, l2.digest, NULL, &err), 0);
    int fd = open(in_root(fx, "blobs/sha256/%s", l2.digest + 7), O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "junk", 4), 4);
    close(fd);
    assert_int_equal(store_layer_unpack_blob(fx->s, l2.digest, NULL, l2.diff_id, NULL, NULL, &err),
                     -1);
    assert_non_null(strstr(err.msg, "digest mismatch"));
    assert_false(store_layer_has(fx->s, l2.diff_id));
    assert_int_equal(count_entries(in_root(fx, "tmp")), 0);
    free(l.gz);
    free(l2.gz);
}

static int wait_exit(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Some regular file exists under tmp/layer-*... : the child is mid-unpack. */
static bool unpack_in_progress(struct fixture *fx)
{
    auto_closedir DIR *d = opendir(in_root(fx, "tmp"));
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "layer-", 6) != 0)
            continue;
        if (v12n_path_exists(in_root(fx, "tmp/%s/diff/data/d00/f00000", de->d_name)))
            return true;
    }
    return false;
}

static void killed_unpack_leaves_no_layer(void **state)
{
    struct fixture *fx = *state;
    struct layer l;
    make_layer(&l, 5, 400, 8000);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[1]);
        struct store *s;
        v12n_error err = {0};
        if (store_open(fx->root, STORE_NO_SYNC, &s, &err) < 0)
            _exit(1);
        struct unpack_source src;
        unpack_source_fd(&src, &p[0]);
        store_layer_unpack(s, &src, NULL, l.diff_id, NULL, NULL, &err);
        _exit(2); /* not reached: killed first */
    }
    close(p[0]);
    /* half the stream, then nothing: the child blocks mid-layer */
    assert_int_equal(v12n_write_all(p[1], l.gz, l.gzlen / 2), 0);
    for (int i = 0; i < 1000 && !unpack_in_progress(fx); i++)
        usleep(10000);
    assert_true(unpack_in_progress(fx));
    kill(pid, SIGKILL);
    assert_int_equal(wait_exit(pid), 128 + SIGKILL);
    close(p[1]);

    assert_false(store_layer_has(fx->s, l.diff_id));
    assert_int_equal(count_entries(in_root(fx, "layers")), 0);
    assert_int_equal(count_entries(in_root(fx, "tmp")), 1); /* harmless leftover */

    /* the next open removes it; the pull then works */
    struct store *s2;
    v12n_error err = {0};
    assert_int_equal(store_open(fx->root, STORE_NO_SYNC, &s2, &err), 0);
    assert_int_equal(count_entries(in_root(fx, "tmp")), 0);
    assert_int_equal(unpack_layer_into(s2, &l, l.diff_id, NULL, &err), 0);
    assert_true(store_layer_has(s2, l.diff_id));
    store_close(s2);
    free(l.gz);
}

/* A temporary still held by a live writer is not cleaned by another open. */
static void open_keeps_temporaries_in_use(void **state)
{
    struct fixture *fx = *state;
    v12n_error err = {0};
    struct store_blob_writer *w;
    assert_int_equal(store_blob_begin(fx->s, &w, &err), 0);
    assert_int_equal(store_blob_write(w, "in use", 6, &err), 0);
    /* and one abandoned by hand */
    assert_int_equal(mkdir(in_root(fx, "tmp/layer-0000000000000000"), 0700), 0);
    assert_int_equal(mkdir(in_root(fx, "tmp/layer-0000000000000000/diff"), 0700), 0);

    struct store *s2;
    assert_int_equal(store_open(fx->root, STORE_NO_SYNC, &s2, &err), 0);
    store_close(s2);
    assert_int_equal(count_entries(in_root(fx, "tmp")), 1);
    char d[IMAGE_DIGEST_SIZE];
    assert_int_equal(store_blob_commit(w, NULL, d, &err), 0);
    assert_true(store_blob_has(fx->s, d));
    assert_int_equal(count_entries(in_root(fx, "tmp")), 0);
}

static void concurrent_unpacks_end_with_one_copy(void **state)
{
    struct fixture *fx = *state;
    for (unsigned round = 0; round < 3; round++) {
        struct layer l;
        make_layer(&l, 100 + round, 300, 4000);
        int go[2];
        assert_int_equal(pipe(go), 0);
        pid_t pids[2];
        for (int c = 0; c < 2; c++) {
            pids[c] = fork();
            assert_true(pids[c] >= 0);
            if (pids[c] == 0) {
                close(go[1]);
                char b;
                (void)!read(go[0], &b, 1); /* both start together */
                struct store *s;
                v12n_error err = {0};
                if (store_open(fx->root, STORE_NO_SYNC, &s, &err) < 0)
                    _exit(1);
                int r = unpack_layer_into(s, &l, l.diff_id, NULL, &err);
                if (r < 0)
                    fprintf(stderr, "child %d: %s\n", c, err.msg);
                store_close(s);
                _exit(r < 0 ? 1 : 0);
            }
        }
        close(go[0]);
        close(go[1]);
        assert_int_equal(wait_exit(pids[0]), 0);
        assert_int_equal(wait_exit(pids[1]), 0);
        assert_true(store_layer_has(fx->s, l.diff_id));
        assert_int_equal(count_entries(in_root(fx, "layers")), (int)round + 1);
        assert_int_equal(count_entries(in_root(fx, "tmp")), 0);
        assert_int_equal(count_entries(in_root(fx, "layers/%s/diff/data/d00", l.diff_id + 7)),
                         300 / 16 + 1);
        free(l.gz);
    }
}

/* ---- images ---- */

struct img_fixture {
    struct layer l[3];
    char config[2][IMAGE_DIGEST_SIZE];
    char manifest[2][IMAGE_DIGEST_SIZE];
};

static void put_image_parts(struct fixture *fx, struct img_fixture *f)
{
    v12n_error err = {0};
    for (int i = 0; i < 3; i++) {
        make_layer(&f->l[i], 200 + (unsigned)i, 3, 100);
        assert_int_equal(
            store_blob_put(fx->s, f->l[i].gz, f->l[i].gzlen, f->l[i].digest, NULL, &err), 0);
        assert_int_equal(unpack_layer_into(fx->s, &f->l[i], f->l[i].diff_id, NULL, &err), 0);
    }
    put_blob(fx->s, "{\"os\":\"linux\",\"n\":0}", f->config[0]);
    put_blob(fx->s, "{\"os\":\"linux\",\"n\":1}", f->config[1]);
    put_blob(fx->s, "{\"manifest\":0}", f->manifest[0]);
    put_blob(fx->s, "{\"manifest\":1}", f->manifest[1]);
}

static struct store_layer layer_ref(struct layer *l)
{
    return (struct store_layer){.digest = l->digest,
                                .diff_id = l->diff_id,
                                .media_type = "application/vnd.oci.image.layer.v1.tar+gzip",
                                .size = l->gzlen};
}

static void free_image_parts(struct img_fixture *f)
{
    for (int i = 0; i < 3; i++)
        free(f->l[i].gz);
}

static void images_add_list_resolve(void **state)
{
    struct fixture *fx = *state;
    struct img_fixture f;
    put_image_parts(fx, &f);
    v12n_error err = {0};

    struct store_layer layers[2] = {layer_ref(&f.l[0]), layer_ref(&f.l[1])};
    char *names[] = {"docker.io/library/alpine:latest", NULL};
    struct store_image a = {.id = f.config[0],
                            .names = names,
                            .manifest = f.manifest[0],
                            .layers = layers,
                            .n_layers = 2,
                            .created = "2024-01-01T00:00:00Z"};

    /* refused while a part is missing: no half image listed */
    char missing[IMAGE_DIGEST_SIZE];
    image_digest_of("absent", 6, missing, &err);
    struct store_layer bad_layers[2] = {layer_ref(&f.l[0]), {.diff_id = missing}};
    struct store_image bad = a;
    bad.layers = bad_layers;
    assert_int_equal(store_image_add(fx->s, &bad, &err), -1);
    assert_non_null(strstr(err.msg, "not in the store"));
    bad = a;
    bad.id = missing;
    assert_int_equal(store_image_add(fx->s, &bad, &err), -1);
    assert_non_null(strstr(err.msg, "config blob"));
    struct store_image *list;
    size_t n;
    assert_int_equal(store_image_list(fx->s, &list, &n, &err), 0);
    assert_int_equal(n, 0);
    store_images_free(list, n);

    if (store_image_add(fx->s, &a, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(store_image_list(fx->s, &list, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].id, f.config[0]);
    assert_string_equal(list[0].names[0], "docker.io/library/alpine:latest");
    assert_null(list[0].names[1]);
    assert_int_equal(list[0].n_layers, 2);
    assert_string_equal(list[0].layers[1].diff_id, f.l[1].diff_id);
    assert_int_equal(list[0].layers[1].size, f.l[1].gzlen);
    assert_string_equal(list[0].created, "2024-01-01T00:00:00Z");
    assert_int_equal(list[0].size, f.l[0].file_bytes + f.l[1].file_bytes);
    store_images_free(list, n);

    /* by name, id, manifest digest, id prefixes */
    char prefix[20];
    const char *refs[] = {"docker.io/library/alpine:latest", f.config[0], f.manifest[0], prefix,
                          prefix + 7};
    snprintf(prefix, sizeof prefix, "%.19s", f.config[0]);
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        struct store_image got;
        if (store_image_resolve(fx->s, refs[i], &got, &err) < 0)
            fail_msg("%s: %s", refs[i], err.msg);
        assert_string_equal(got.id, f.config[0]);
        store_image_clear(&got);
    }
    struct store_image got;
    assert_int_equal(store_image_resolve(fx->s, "docker.io/library/nope:latest", &got, &err), -1);
    assert_int_equal(err.errnum, ENOENT);
    assert_int_equal(store_image_resolve(fx->s, "alpine", &got, &err), -1);

    /* a second image takes the name; the first is left dangling */
    struct store_layer layers_b[2] = {layer_ref(&f.l[1]), layer_ref(&f.l[2])};
    struct store_image b = {.id = f.config[1], .names = names, .layers = layers_b, .n_layers = 2};
    assert_int_equal(store_image_add(fx->s, &b, &err), 0);
    assert_int_equal(store_image_resolve(fx->s, names[0], &got, &err), 0);
    assert_string_equal(got.id, f.config[1]);
    store_image_clear(&got);
    assert_int_equal(store_image_resolve(fx->s, f.config[0], &got, &err), 0);
    assert_null(got.names[0]);
    store_image_clear(&got);

    /* tag, untag */
    assert_int_equal(store_image_tag(fx->s, f.config[0], "localhost/mine:1", &err), 0);
    assert_int_equal(store_image_tag(fx->s, "localhost/mine:1", "localhost/mine:2", &err), 0);
    assert_int_equal(store_image_resolve(fx->s, "localhost/mine:2", &got, &err), 0);
    assert_string_equal(got.id, f.config[0]);
    assert_string_equal(got.names[0], "localhost/mine:1");
    assert_string_equal(got.names[1], "localhost/mine:2");
    store_image_clear(&got);
    assert_int_equal(store_image_untag(fx->s, "localhost/mine:1", &err), 0);
    assert_int_equal(store_image_untag(fx->s, "localhost/mine:1", &err), -1);
    assert_int_equal(err.errnum, ENOENT);
    assert_int_equal(store_image_tag(fx->s, "nope", "x:1", &err), -1);

    /* re-adding the same id merges names */
    char *more[] = {"localhost/again:1", NULL};
    struct store_image a2 = a;
    a2.names = more;
    assert_int_equal(store_image_add(fx->s, &a2, &err), 0);
    assert_int_equal(store_image_resolve(fx->s, f.config[0], &got, &err), 0);
    assert_string_equal(got.names[0], "localhost/again:1");
    assert_string_equal(got.names[1], "localhost/mine:2");
    assert_null(got.names[2]);
    store_image_clear(&got);

    assert_int_equal(store_image_delete(fx->s, "localhost/mine:2", &err), 0);
    assert_int_equal(store_image_list(fx->s, &list, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].id, f.config[1]);
    store_images_free(list, n);
    assert_int_equal(store_image_delete(fx->s, f.config[0], &err), -1);
    free_image_parts(&f);
}

static void ambiguous_id_prefix_is_refused(void **state)
{
    struct fixture *fx = *state;
    v12n_error err = {0};
    char first[IMAGE_DIGEST_SIZE], second[IMAGE_DIGEST_SIZE];
    put_blob(fx->s, "{\"n\":-1}", first);
    /* find another config whose digest starts with the same hex digit */
    char text[64];
    for (int i = 0;; i++) {
        snprintf(text, sizeof text, "{\"n\":%d}", i);
        image_digest_of(text, strlen(text), second, &err);
        if (second[7] == first[7] && strcmp(second, first) != 0)
            break;
    }
    put_blob(fx->s, text, second);
    struct store_image a = {.id = first}, b = {.id = second};
    assert_int_equal(store_image_add(fx->s, &a, &err), 0);
    assert_int_equal(store_image_add(fx->s, &b, &err), 0);
    char prefix[2] = {first[7], '\0'};
    struct store_image got;
    assert_int_equal(store_image_resolve(fx->s, prefix, &got, &err), -1);
    assert_int_equal(err.errnum, EINVAL);
    assert_non_null(strstr(err.msg, "ambiguous"));
    assert_int_equal(store_image_resolve(fx->s, second, &got, &err), 0);
    store_image_clear(&got);
}

static void gc_removes_only_unreferenced(void **state)
{
    struct fixture *fx = *state;
    struct img_fixture f;
    put_image_parts(fx, &f);
    v12n_error err = {0};
    store_lease_release(fx->s); /* the parts are in: this handle is no pull any more */

    char orphan[IMAGE_DIGEST_SIZE];
    put_blob(fx->s, "orphan", orphan);
    struct layer l4;
    make_layer(&l4, 300, 2, 10);
    assert_int_equal(unpack_layer_into(fx->s, &l4, l4.diff_id, NULL, &err), 0);
    store_lease_release(fx->s);

    struct store_layer la[2] = {layer_ref(&f.l[0]), layer_ref(&f.l[1])};
    struct store_layer lb[2] = {layer_ref(&f.l[1]), layer_ref(&f.l[2])};
    char *na[] = {"a:1", NULL}, *nb[] = {"b:1", NULL};
    struct store_image a = {
        .id = f.config[0], .names = na, .manifest = f.manifest[0], .layers = la, .n_layers = 2};
    struct store_image b = {
        .id = f.config[1], .names = nb, .manifest = f.manifest[1], .layers = lb, .n_layers = 2};
    assert_int_equal(store_image_add(fx->s, &a, &err), 0);
    assert_int_equal(store_image_add(fx->s, &b, &err), 0);

    struct store_gc_result res;
    if (store_gc(fx->s, &res, &err) < 0)
        fail_msg("%s", err.msg);
    assert_false(res.skipped);
    assert_int_equal(res.blobs, 1);
    assert_int_equal(res.bytes, 6);
    assert_int_equal(res.layers, 1);
    assert_false(store_blob_has(fx->s, orphan));
    assert_false(store_layer_has(fx->s, l4.diff_id));
    assert_int_equal(count_entries(in_root(fx, "blobs/sha256")), 3 + 2 + 2);
    assert_int_equal(count_entries(in_root(fx, "layers")), 3);

    /* a's own parts go; the layer it shares with b stays */
    assert_int_equal(store_image_delete(fx->s, "a:1", &err), 0);
    assert_int_equal(store_gc(fx->s, &res, &err), 0);
    assert_int_equal(res.blobs, 3); /* config, manifest, layer 0's blob */
    assert_int_equal(res.layers, 1);
    assert_false(store_layer_has(fx->s, f.l[0].diff_id));
    assert_true(store_layer_has(fx->s, f.l[1].diff_id));
    assert_true(store_layer_has(fx->s, f.l[2].diff_id));
    assert_true(store_blob_has(fx->s, f.l[1].digest));

    assert_int_equal(store_image_delete(fx->s, "b:1", &err), 0);
    assert_int_equal(store_gc(fx->s, &res, &err), 0);
    assert_int_equal(count_entries(in_root(fx, "blobs/sha256")), 0);
    assert_int_equal(count_entries(in_root(fx, "layers")), 0);
    assert_int_equal(count_entries(in_root(fx, "tmp")), 0);
    free(l4.gz);
    free_image_parts(&f);
}

static void gc_waits_for_pulls(void **state)
{
    struct fixture *fx = *state;
    v12n_error err = {0};
    char orphan[IMAGE_DIGEST_SIZE];
    put_blob(fx->s, "a pull's part", orphan); /* this handle now holds a lease */

    struct store_gc_result res;
    assert_int_equal(store_gc(fx->s, &res, &err), 0);
    assert_true(res.skipped);
    assert_true(store_blob_has(fx->s, orphan));

    /* another process's lease counts as well */
    store_lease_release(fx->s);
    int ready[2], done[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(done), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(done[1]);
        struct store *s;
        if (store_open(fx->root, STORE_NO_SYNC, &s, &err) < 0 || store_lease(s, &err) < 0)
            _exit(1);
        (void)!write(ready[1], "r", 1);
        char b;
        (void)!read(done[0], &b, 1);
        _exit(0);
    }
    char b;
    assert_int_equal(read(ready[0], &b, 1), 1);
    assert_int_equal(store_gc(fx->s, &res, &err), 0);
    assert_true(res.skipped);
    assert_true(store_blob_has(fx->s, orphan));
    close(done[1]);
    assert_int_equal(wait_exit(pid), 0);
    assert_int_equal(store_gc(fx->s, &res, &err), 0);
    assert_false(res.skipped);
    assert_false(store_blob_has(fx->s, orphan));
    close(ready[0]);
    close(ready[1]);
    close(done[0]);
}

/* Writers in four processes at once: the lock keeps every update. */
static void concurrent_index_updates_are_all_kept(void **state)
{
    struct fixture *fx = *state;
    enum { PROCS = 4, EACH = 10 };
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            struct store *s;
            v12n_error err = {0};
            if (store_open(fx->root, STORE_NO_SYNC, &s, &err) < 0)
                _exit(1);
            for (int i = 0; i < EACH; i++) {
                char text[64], id[IMAGE_DIGEST_SIZE], name[64];
                snprintf(text, sizeof text, "{\"proc\":%d,\"i\":%d}", p, i);
                snprintf(name, sizeof name, "localhost/p%d:%d", p, i);
                char *names[] = {name, NULL};
                if (store_blob_put(s, text, strlen(text), NULL, id, &err) < 0)
                    _exit(2);
                struct store_image img = {.id = id, .names = names};
                if (store_image_add(s, &img, &err) < 0) {
                    fprintf(stderr, "%s\n", err.msg);
                    _exit(3);
                }
            }
            store_close(s);
            _exit(0);
        }
    }
    for (int p = 0; p < PROCS; p++)
        assert_int_equal(wait_exit(pids[p]), 0);
    struct store_image *list;
    size_t n;
    v12n_error err = {0};
    assert_int_equal(store_image_list(fx->s, &list, &n, &err), 0);
    assert_int_equal(n, PROCS * EACH);
    store_images_free(list, n);
    struct store_image got;
    assert_int_equal(store_image_resolve(fx->s, "localhost/p3:9", &got, &err), 0);
    store_image_clear(&got);
    assert_int_equal(count_entries(in_root(fx, "tmp")), 0);
}

static void corrupted_index_is_an_error(void **state)
{
    struct fixture *fx = *state;
    v12n_error err = {0};
    assert_int_equal(v12n_write_file(in_root(fx, "images.json"), "{\"images\": [", 12, &err), 0);
    struct store_image *list;
    size_t n;
    assert_int_equal(store_image_list(fx->s, &list, &n, &err), -1);
    assert_non_null(strstr(err.msg, "corrupted"));
    char d[IMAGE_DIGEST_SIZE];
    put_blob(fx->s, "{}", d);
    struct store_image img = {.id = d};
    assert_int_equal(store_image_add(fx->s, &img, &err), -1);
    struct store_gc_result res;
    store_lease_release(fx->s);
    assert_int_equal(store_gc(fx->s, &res, &err), -1);
    assert_true(store_blob_has(fx->s, d)); /* nothing collected on a bad index */
}

static void pinned_images_stay(void **state)
{
    struct fixture *fx = *state;
    struct img_fixture f;
    put_image_parts(fx, &f);
    v12n_error err = {0};
    store_lease_release(fx->s);
    struct store_layer la[2] = {layer_ref(&f.l[0]), layer_ref(&f.l[1])};
    char *na[] = {"a:1", NULL};
    struct store_image a = {
        .id = f.config[0], .names = na, .manifest = f.manifest[0], .layers = la, .n_layers = 2};
    assert_int_equal(store_image_add(fx->s, &a, &err), 0);
    assert_int_equal(store_image_pin(fx->s, "a:1", "container web", &err), 0);
    assert_int_equal(store_image_pin(fx->s, "a:1", "container web", &err), 0);
    assert_int_equal(store_image_pin(fx->s, "nope:1", "container web", &err), -1);
    assert_int_equal(err.errnum, ENOENT);
    assert_int_equal(store_image_pin(fx->s, "a:1", "", &err), -1);

    /* refused by name and by id, naming the owner */
    assert_int_equal(store_image_delete(fx->s, "a:1", &err), -1);
    assert_int_equal(err.errnum, EBUSY);
    assert_non_null(strstr(err.msg, "in use by container web"));
    assert_int_equal(store_image_delete(fx->s, f.config[0], &err), -1);

    /* re-adding keeps the pin, untagging leaves it dangling, gc keeps it */
    assert_int_equal(store_image_add(fx->s, &a, &err), 0);
    assert_int_equal(store_image_untag(fx->s, "a:1", &err), 0);
    struct store_image got;
    assert_int_equal(store_image_resolve(fx->s, f.config[0], &got, &err), 0);
    assert_null(got.names[0]);
    assert_non_null(got.pins);
    assert_string_equal(got.pins[0], "container web");
    assert_null(got.pins[1]);
    store_image_clear(&got);
    struct store_gc_result res;
    assert_int_equal(store_gc(fx->s, &res, &err), 0);
    assert_true(store_blob_has(fx->s, f.config[0]));
    assert_true(store_layer_has(fx->s, f.l[0].diff_id));

    /* two owners: the image goes after the last unpin */
    assert_int_equal(store_image_pin(fx->s, f.config[0], "container db", &err), 0);
    assert_int_equal(store_image_unpin(fx->s, f.config[0], "container web", &err), 0);
    assert_int_equal(store_image_unpin(fx->s, f.config[0], "container web", &err), 0);
    assert_int_equal(store_image_delete(fx->s, f.config[0], &err), -1);
    assert_non_null(strstr(err.msg, "container db"));
    assert_int_equal(store_image_unpin(fx->s, f.config[0], "container db", &err), 0);
    assert_int_equal(store_image_delete(fx->s, f.config[0], &err), 0);
    assert_int_equal(store_gc(fx->s, &res, &err), 0);
    assert_false(store_blob_has(fx->s, f.config[0]));
    free_image_parts(&f);
}

/* An image with only a config blob, named name; its id in id. */
static void put_small_image(struct fixture *fx, const char *name, char id[IMAGE_DIGEST_SIZE])
{
    v12n_error err = {0};
    char text[128];
    snprintf(text, sizeof text, "{\"small\":\"%s\"}", name);
    assert_int_equal(store_blob_put(fx->s, text, strlen(text), NULL, id, &err), 0);
    char *names[] = {(char *)name, NULL};
    struct store_image img = {.id = id, .names = names};
    assert_int_equal(store_image_add(fx->s, &img, &err), 0);
}

static ino_t index_inode(struct fixture *fx)
{
    struct stat st;
    assert_int_equal(stat(in_root(fx, "images.json"), &st), 0);
    return st.st_ino;
}

static void pins_are_files_not_index_rewrites(void **state)
{
    struct fixture *fx = *state;
    char id[IMAGE_DIGEST_SIZE];
    put_small_image(fx, "p:1", id);
    v12n_error err = {0};
    ino_t before = index_inode(fx);
    assert_int_equal(store_image_pin(fx->s, "p:1", "container a", &err), 0);
    struct stat st;
    assert_int_equal(stat(in_root(fx, "pins/%s/container a", id + 7), &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(index_inode(fx), before); /* images.json not rewritten */
    /* owners that are not plain file names are refused */
    assert_int_equal(store_image_pin(fx->s, "p:1", ".x", &err), -1);
    assert_int_equal(err.errnum, EINVAL);
    assert_int_equal(store_image_pin(fx->s, "p:1", "a/b", &err), -1);
    assert_int_equal(store_image_unpin(fx->s, id, "../images.json", &err), -1);
    assert_int_equal(stat(in_root(fx, "images.json"), &st), 0);
    /* listed as owners */
    struct store_image got;
    assert_int_equal(store_image_resolve(fx->s, "p:1", &got, &err), 0);
    assert_non_null(got.pins);
    assert_string_equal(got.pins[0], "container a");
    assert_null(got.pins[1]);
    store_image_clear(&got);
    /* unpinned by id: the file goes, the index stays as it is */
    assert_int_equal(store_image_unpin(fx->s, id, "container a", &err), 0);
    assert_int_equal(stat(in_root(fx, "pins/%s/container a", id + 7), &st), -1);
    assert_int_equal(store_image_unpin(fx->s, id, "container a", &err), 0);
    assert_int_equal(store_image_unpin(fx->s, "p:1", "container a", &err), 0);
    assert_int_equal(index_inode(fx), before);
    /* without opening the store (the engine's teardown) */
    assert_int_equal(store_image_pin(fx->s, "p:1", "container c", &err), 0);
    assert_int_equal(store_image_unpin_id(fx->root, id, "container c", &err), 0);
    assert_int_equal(stat(in_root(fx, "pins/%s/container c", id + 7), &st), -1);
    assert_int_equal(store_image_unpin_id(fx->root, id, "container c", &err), 0);
    assert_int_equal(store_image_unpin_id(fx->root, "p:1", "container c", &err), -1);
    assert_int_equal(store_image_unpin_id(fx->root, id, "../../images.json", &err), -1);
    assert_int_equal(index_inode(fx), before);
    /* by name too */
    assert_int_equal(store_image_pin(fx->s, id, "container b", &err), 0);
    assert_int_equal(store_image_unpin(fx->s, "p:1", "container b", &err), 0);
    assert_int_equal(store_image_delete(fx->s, "p:1", &err), 0);
    /* the image's pin directory goes with it */
    assert_int_equal(stat(in_root(fx, "pins/%s", id + 7), &st), -1);
    assert_int_equal(errno, ENOENT);
}

/* Stores written before pins were files keep theirs in images.json. */
static void index_pins_are_still_honoured(void **state)
{
    struct fixture *fx = *state;
    char id[IMAGE_DIGEST_SIZE];
    put_small_image(fx, "old:1", id);
    FILE *f = fopen(in_root(fx, "images.json"), "w");
    assert_non_null(f);
    fprintf(f,
            "{\"version\":1,\"images\":[{\"id\":\"%s\",\"names\":[\"old:1\"],\"layers\":[],"
            "\"size\":0,\"pins\":[\"container old\"]}]}",
            id);
    fclose(f);
    v12n_error err = {0};
    assert_int_equal(store_image_delete(fx->s, id, &err), -1);
    assert_int_equal(err.errnum, EBUSY);
    assert_non_null(strstr(err.msg, "in use by container old"));
    assert_int_equal(store_image_unpin_id(fx->root, id, "container old", &err), 0);
    assert_int_equal(store_image_delete(fx->s, id, &err), 0);
}

/* A delete never removes an image a pin call has answered 0 for, however
 * the two interleave. */
static void pins_race_deletes(void **state)
{
    struct fixture *fx = *state;
    enum { PINNERS = 3, ROUNDS = 30 };
    for (int round = 0; round < ROUNDS; round++) {
        char id[IMAGE_DIGEST_SIZE], name[32];
        snprintf(name, sizeof name, "race:%d", round);
        put_small_image(fx, name, id);
        pid_t pids[PINNERS + 1];
        for (int p = 0; p <= PINNERS; p++) {
            pids[p] = fork();
            assert_true(pids[p] >= 0);
            if (pids[p] != 0)
                continue;
            struct store *s;
            v12n_error err = {0};
            if (store_open(fx->root, STORE_NO_SYNC, &s, &err) < 0)
                _exit(1);
            if (p == PINNERS) { /* the deleter */
                while (store_image_delete(s, name, &err) < 0)
                    if (err.errnum != EBUSY)
                        _exit(2);
                _exit(0);
            }
            char owner[32];
            snprintf(owner, sizeof owner, "container %d", p);
            for (;;) {
                if (store_image_pin(s, name, owner, &err) < 0)
                    _exit(err.errnum == ENOENT ? 0 : 3); /* deleted first */
                struct store_image got;
                if (store_image_resolve(s, id, &got, &err) < 0)
                    _exit(4); /* deleted while pinned */
                store_image_clear(&got);
                if (store_image_unpin(s, id, owner, &err) < 0)
                    _exit(5);
            }
        }
        for (int p = 0; p <= PINNERS; p++)
            assert_int_equal(wait_exit(pids[p]), 0);
        struct stat st;
        assert_int_equal(stat(in_root(fx, "pins/%s", id + 7), &st), -1);
    }
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(blob_commit_verifies_the_digest),
        T(blob_abort_and_corruption),
        T(blobs_and_layers_with_sync),
        T(layer_unpack_is_verified_and_atomic),
        T(layer_unpack_from_a_blob),
        T(killed_unpack_leaves_no_layer),
        T(open_keeps_temporaries_in_use),
        T(concurrent_unpacks_end_with_one_copy),
        T(images_add_list_resolve),
        T(ambiguous_id_prefix_is_refused),
        T(gc_removes_only_unreferenced),
        T(gc_waits_for_pulls),
        T(concurrent_index_updates_are_all_kept),
        T(corrupted_index_is_an_error),
        T(pinned_images_stay),
        T(pins_are_files_not_index_rewrites),
        T(index_pins_are_still_honoured),
        T(pins_race_deletes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
