/* The image store: see store.h for the layout and the crash-safety rules. */
#include "image/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/unpack_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "shim/shim.h"

#define INDEX_FILE    "images.json"
#define INDEX_LOCK    "store.lock"
#define GC_LOCK       "gc.lock"
#define PINS_DIR      "pins"
#define LAYER_DIFF    "diff"
#define LAYER_INFO    "info.json"
#define TEMP_NAME_MAX 64

struct store {
    char *root;
    unsigned flags;
    int rootfd, blobsfd, layersfd, tmpfd;
    pthread_mutex_t lease_lock;
    int lease_fd;
};

struct store_blob_writer {
    struct store *s;
    int fd;
    char name[TEMP_NAME_MAX];
    struct image_sha256 *hash;
    uint64_t size;
};

static bool store_sync(const struct store *s)
{
    return !(s->flags & STORE_NO_SYNC);
}

/* ---- temporaries ------------------------------------------------------------ */

static int random_name(const char *prefix, char name[TEMP_NAME_MAX], v12n_error *err)
{
    uint64_t r;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        return v12n_fail_errno(err, "getrandom");
    snprintf(name, TEMP_NAME_MAX, "%s-%016" PRIx64, prefix, r);
    return 0;
}

/* Create tmp/<prefix>-<random> (a directory or a file) and lock it for our
 * whole use of it.  A cleaner may remove it between creation and our lock:
 * then its link count is 0 and we start again. */
static int temp_create(struct store *s, const char *prefix, bool dir, char name[TEMP_NAME_MAX],
                       v12n_error *err)
{
    for (int attempt = 0; attempt < 64; attempt++) {
        if (random_name(prefix, name, err) < 0)
            return -1;
        int fd;
        if (dir) {
            if (mkdirat(s->tmpfd, name, 0700) < 0) {
                if (errno == EEXIST)
                    continue;
                return v12n_fail_errno(err, "store %s: mkdir tmp/%s", s->root, name);
            }
            fd = openat(s->tmpfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        } else {
            fd = openat(s->tmpfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (fd < 0 && errno == EEXIST)
                continue;
        }
        if (fd < 0) {
            if (errno == ENOENT)
                continue;
            return v12n_fail_errno(err, "store %s: open tmp/%s", s->root, name);
        }
        struct stat st;
        while (flock(fd, LOCK_EX) < 0) {
            if (errno != EINTR) {
                int saved = errno;
                close(fd);
                return v12n_fail(err, saved, "store %s: lock tmp/%s", s->root, name);
            }
        }
        if (fstat(fd, &st) < 0) {
            int saved = errno;
            close(fd);
            return v12n_fail(err, saved, "store %s: stat tmp/%s", s->root, name);
        }
        if (st.st_nlink > 0)
            return fd;
        close(fd);
    }
    return v12n_fail(err, EAGAIN, "store %s: cannot create a temporary in tmp/", s->root);
}

/* Remove the temporaries no live writer holds (the writer was killed). */
static unsigned clean_temps(struct store *s)
{
    /* a new open file: a dup would share (and leave) the offset */
    int dfd = openat(s->tmpfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return 0;
    auto_closedir DIR *d = fdopendir(dfd);
    if (d == NULL) {
        close(dfd);
        return 0;
    }
    unsigned removed = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        auto_close int fd =
            openat(s->tmpfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
            continue;
        struct stat held, named;
        if (fstat(fd, &held) < 0 || held.st_nlink == 0 ||
            fstatat(s->tmpfd, de->d_name, &named, AT_SYMLINK_NOFOLLOW) < 0 ||
            held.st_ino != named.st_ino || held.st_dev != named.st_dev)
            continue;
        v12n_error ignored = {0};
        if (unpack_remove_tree(s->tmpfd, de->d_name, &ignored) == 0)
            removed++;
    }
    return removed;
}

/* Move a finished temporary to its final name, never over an existing one.
 * *existed is set when someone else got there first (same content: the
 * name is a digest); the temporary is then removed. */
static int publish(struct store *s, const char *name, int dstfd, const char *dst, bool *existed,
                   v12n_error *err)
{
    *existed = false;
    int r = renameat2(s->tmpfd, name, dstfd, dst, RENAME_NOREPLACE);
    if (r < 0 && errno == EINVAL) /* a filesystem without RENAME_NOREPLACE */
        r = renameat(s->tmpfd, name, dstfd, dst);
    if (r == 0) {
        if (store_sync(s) && fsync(dstfd) < 0)
            return v12n_fail_errno(err, "store %s: fsync after renaming %s", s->root, dst);
        return 0;
    }
    if (errno != EEXIST && errno != ENOTEMPTY)
        return v12n_fail_errno(err, "store %s: rename tmp/%s to %s", s->root, name, dst);
    *existed = true;
    return unpack_remove_tree(s->tmpfd, name, err);
}

/* ---- open / close ----------------------------------------------------------- */

static int open_subdir(int parent, const char *root, const char *name, mode_t mode, int *out,
                       v12n_error *err)
{
    if (mkdirat(parent, name, mode) < 0 && errno != EEXIST)
        return v12n_fail_errno(err, "store %s: mkdir %s", root, name);
    *out = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (*out < 0)
        return v12n_fail_errno(err, "store %s: open %s", root, name);
    return 0;
}

int store_open(const char *root, unsigned flags, struct store **out, v12n_error *err)
{
    if (root == NULL)
        root = STORE_DEFAULT_ROOT;
    if (v12n_mkdir_p(root, 0711, err) < 0)
        return v12n_error_wrap(err, "store");
    struct store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->root = strdup(root)) == NULL) {
        free(s);
        return v12n_fail(err, ENOMEM, "store %s: out of memory", root);
    }
    s->flags = flags;
    s->rootfd = s->blobsfd = s->layersfd = s->tmpfd = s->lease_fd = -1;
    pthread_mutex_init(&s->lease_lock, NULL);
    int blobs = -1;
    s->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->rootfd < 0) {
        v12n_fail_errno(err, "store %s: open", root);
        store_close(s);
        return -1;
    }
    if (open_subdir(s->rootfd, root, "blobs", 0700, &blobs, err) < 0 ||
        open_subdir(blobs, root, "sha256", 0700, &s->blobsfd, err) < 0 ||
        open_subdir(s->rootfd, root, "layers", 0711, &s->layersfd, err) < 0 ||
        open_subdir(s->rootfd, root, "tmp", 0700, &s->tmpfd, err) < 0) {
        if (blobs >= 0)
            close(blobs);
        store_close(s);
        return -1;
    }
    close(blobs);
    clean_temps(s);
    *out = s;
    return 0;
}

void store_close(struct store *s)
{
    if (s == NULL)
        return;
    store_lease_release(s);
    int fds[] = {s->rootfd, s->blobsfd, s->layersfd, s->tmpfd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
    }
    pthread_mutex_destroy(&s->lease_lock);
    free(s->root);
    free(s);
}

const char *store_root(const struct store *s)
{
    return s->root;
}

/* ---- leases and locks ------------------------------------------------------- */

static int lock_file(struct store *s, const char *name, int op, v12n_error *err)
{
    int fd = openat(s->rootfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return v12n_fail_errno(err, "store %s: open %s", s->root, name);
    while (flock(fd, op) < 0) {
        if (errno == EINTR)
            continue;
        int saved = errno;
        close(fd);
        errno = saved;
        return saved == EWOULDBLOCK ? -2
                                    : v12n_fail(err, saved, "store %s: lock %s", s->root, name);
    }
    return fd;
}

int store_lease(struct store *s, v12n_error *err)
{
    pthread_mutex_lock(&s->lease_lock);
    int r = 0;
    if (s->lease_fd < 0) {
        int fd = lock_file(s, GC_LOCK, LOCK_SH, err);
        if (fd < 0)
            r = -1;
        else
            s->lease_fd = fd;
    }
    pthread_mutex_unlock(&s->lease_lock);
    return r;
}

void store_lease_release(struct store *s)
{
    pthread_mutex_lock(&s->lease_lock);
    if (s->lease_fd >= 0)
        close(s->lease_fd);
    s->lease_fd = -1;
    pthread_mutex_unlock(&s->lease_lock);
}

/* ---- blobs ------------------------------------------------------------------ */

int store_blob_begin(struct store *s, struct store_blob_writer **out, v12n_error *err)
{
    if (store_lease(s, err) < 0)
        return -1;
    struct store_blob_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return v12n_fail(err, ENOMEM, "blob: out of memory");
    w->s = s;
    w->fd = temp_create(s, "blob", false, w->name, err);
    if (w->fd < 0) {
        free(w);
        return -1;
    }
    if ((w->hash = image_sha256_new()) == NULL) {
        store_blob_abort(w);
        return v12n_fail(err, ENOMEM, "blob: sha256: out of memory");
    }
    *out = w;
    return 0;
}

int store_blob_write(struct store_blob_writer *w, const void *buf, size_t len, v12n_error *err)
{
    if (v12n_write_all(w->fd, buf, len) < 0)
        return v12n_fail_errno(err, "store %s: write tmp/%s", w->s->root, w->name);
    image_sha256_update(w->hash, buf, len);
    w->size += len;
    return 0;
}

uint64_t store_blob_written(const struct store_blob_writer *w)
{
    return w->size;
}

void store_blob_abort(struct store_blob_writer *w)
{
    if (w == NULL)
        return;
    unlinkat(w->s->tmpfd, w->name, 0);
    close(w->fd);
    image_sha256_free(w->hash);
    free(w);
}

int store_blob_commit(struct store_blob_writer *w, const char *expected,
                      char digest_out[IMAGE_DIGEST_SIZE], v12n_error *err)
{
    struct store *s = w->s;
    char digest[IMAGE_DIGEST_SIZE];
    image_sha256_final(w->hash, digest);
    int r = 0;
    if (expected != NULL && image_digest_check(expected, err) < 0)
        r = v12n_error_wrap(err, "blob");
    else if (expected != NULL && strcmp(expected, digest) != 0)
        r = v12n_fail(err, EILSEQ, "blob %s: digest mismatch: the content is %s", expected, digest);
    else if (store_sync(s) && fsync(w->fd) < 0)
        r = v12n_fail_errno(err, "blob %s: fsync", digest);
    if (r < 0) {
        store_blob_abort(w);
        return -1;
    }
    bool existed;
    r = publish(s, w->name, s->blobsfd, image_digest_hex(digest), &existed, err);
    if (r < 0) {
        v12n_error_wrap(err, "blob %s", digest);
        store_blob_abort(w);
        return -1;
    }
    close(w->fd);
    image_sha256_free(w->hash);
    free(w);
    if (digest_out != NULL)
        memcpy(digest_out, digest, IMAGE_DIGEST_SIZE);
    return 0;
}

int store_blob_put(struct store *s, const void *data, size_t len, const char *expected,
                   char digest_out[IMAGE_DIGEST_SIZE], v12n_error *err)
{
    struct store_blob_writer *w;
    if (store_blob_begin(s, &w, err) < 0)
        return -1;
    if (store_blob_write(w, data, len, err) < 0) {
        store_blob_abort(w);
        return -1;
    }
    return store_blob_commit(w, expected, digest_out, err);
}

bool store_blob_has(struct store *s, const char *digest)
{
    struct stat st;
    return image_digest_valid(digest) &&
           fstatat(s->blobsfd, image_digest_hex(digest), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISREG(st.st_mode);
}

int store_blob_open(struct store *s, const char *digest, v12n_error *err)
{
    if (image_digest_check(digest, err) < 0)
        return v12n_error_wrap(err, "blob");
    int fd = openat(s->blobsfd, image_digest_hex(digest), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return v12n_fail_errno(err, "blob %s", digest);
    return fd;
}

/* Small blobs are checked again on the way out: a config that rotted on
 * disk would otherwise configure a container. */
char *store_blob_read(struct store *s, const char *digest, size_t *len, v12n_error *err)
{
    auto_close int fd = store_blob_open(s, digest, err);
    if (fd < 0)
        return NULL;
    size_t n;
    char *data = v12n_read_fd(fd, &n, err);
    if (data == NULL) {
        v12n_error_wrap(err, "blob %s", digest);
        return NULL;
    }
    char got[IMAGE_DIGEST_SIZE];
    if (image_digest_of(data, n, got, err) < 0) {
        free(data);
        return NULL;
    }
    if (strcmp(got, digest) != 0) {
        free(data);
        v12n_fail(err, EILSEQ, "blob %s: corrupted in the store (content is %s)", digest, got);
        return NULL;
    }
    if (len != NULL)
        *len = n;
    return data;
}

/* ---- layers ----------------------------------------------------------------- */

bool store_layer_has(struct store *s, const char *diff_id)
{
    struct stat st;
    return image_digest_valid(diff_id) &&
           fstatat(s->layersfd, image_digest_hex(diff_id), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISDIR(st.st_mode);
}

int store_layer_path(struct store *s, const char *diff_id, char *buf, size_t len, v12n_error *err)
{
    if (image_digest_check(diff_id, err) < 0)
        return v12n_error_wrap(err, "layer diff_id");
    if ((size_t)snprintf(buf, len, "%s/layers/%s/" LAYER_DIFF, s->root,
                         image_digest_hex(diff_id)) >= len)
        return v12n_fail(err, ENAMETOOLONG, "layer %s: path too long", diff_id);
    return 0;
}

int store_layer_size(struct store *s, const char *diff_id, uint64_t *size, v12n_error *err)
{
    if (image_digest_check(diff_id, err) < 0)
        return v12n_error_wrap(err, "layer diff_id");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/layers/%s/" LAYER_INFO, s->root, image_digest_hex(diff_id));
    auto_json json_t *info = v12n_json_load(path, err);
    if (info == NULL)
        return v12n_error_wrap(err, "layer %s", diff_id);
    *size = 0;
    return v12n_json_get_uint64(info, "size", size, path, err);
}

static int write_layer_info(int dirfd, const char *diff_id, const struct unpack_result *r,
                            v12n_error *err)
{
    auto_json json_t *info =
        json_pack("{s:s, s:I, s:I}", "diff_id", diff_id, "size", (json_int_t)r->file_bytes,
                  "entries", (json_int_t)r->entries);
    auto_free char *text = info != NULL ? json_dumps(info, JSON_COMPACT) : NULL;
    if (text == NULL)
        return v12n_fail(err, ENOMEM, "layer %s: info.json: out of memory", diff_id);
    auto_close int fd =
        openat(dirfd, LAYER_INFO, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 || v12n_write_all(fd, text, strlen(text)) < 0)
        return v12n_fail_errno(err, "layer %s: write info.json", diff_id);
    return 0;
}

/* Unpack into tmp/layer-*, then rename.  Whatever fails, the temporary
 * goes; if we are killed, the next store_open() removes it. */
static int unpack_into_temp(struct store *s, int tmpdir, const char *name,
                            const struct unpack_source *src, const char *diff_id,
                            const struct unpack_opts *opts, struct unpack_result *res,
                            bool *existed, v12n_error *err)
{
    if (mkdirat(tmpdir, LAYER_DIFF, 0755) < 0)
        return v12n_fail_errno(err, "store %s: mkdir tmp/%s/diff", s->root, name);
    auto_close int diff = openat(tmpdir, LAYER_DIFF, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (diff < 0)
        return v12n_fail_errno(err, "store %s: open tmp/%s/diff", s->root, name);
    struct unpack_opts o = opts != NULL ? *opts : (struct unpack_opts){0};
    o.diff_id = diff_id;
    if (unpack_layer(diff, src, &o, res, err) < 0 ||
        write_layer_info(tmpdir, diff_id, res, err) < 0)
        return -1;
    /* One syncfs for the whole tree: far cheaper than an fsync per file. */
    if (store_sync(s) && syncfs(tmpdir) < 0)
        return v12n_fail_errno(err, "store %s: syncfs", s->root);
    return publish(s, name, s->layersfd, image_digest_hex(diff_id), existed, err);
}

int store_layer_unpack(struct store *s, const struct unpack_source *src, const char *media_type,
                       const char *diff_id, const struct unpack_opts *opts,
                       struct unpack_result *res, v12n_error *err)
{
    if (image_digest_check(diff_id, err) < 0)
        return v12n_error_wrap(err, "layer diff_id");
    if (media_type != NULL && unpack_media_type_check(media_type, err) < 0)
        return v12n_error_wrap(err, "layer %s", diff_id);
    /* Leased before looking: gc cannot take the layer between our "it is
     * there" and the pull's store_image_add(). */
    if (store_lease(s, err) < 0)
        return -1;
    if (store_layer_has(s, diff_id))
        return 1;

    char name[TEMP_NAME_MAX];
    int tmpdir = temp_create(s, "layer", true, name, err);
    if (tmpdir < 0)
        return v12n_error_wrap(err, "layer %s", diff_id);
    struct unpack_result local;
    bool existed = false;
    int r = unpack_into_temp(s, tmpdir, name, src, diff_id, opts, res != NULL ? res : &local,
                             &existed, err);
    if (r < 0) {
        v12n_error_wrap(err, "layer %s", diff_id);
        v12n_error ignored = {0};
        unpack_remove_tree(s->tmpfd, name, &ignored);
    }
    close(tmpdir);
    return r;
}

int store_layer_unpack_blob(struct store *s, const char *blob_digest, const char *media_type,
                            const char *diff_id, const struct unpack_opts *opts,
                            struct unpack_result *res, v12n_error *err)
{
    if (store_lease(s, err) < 0)
        return -1;
    if (store_layer_has(s, diff_id))
        return 1;
    auto_close int fd = store_blob_open(s, blob_digest, err);
    if (fd < 0)
        return v12n_error_wrap(err, "layer %s", diff_id != NULL ? diff_id : "");
    struct unpack_source src;
    unpack_source_fd(&src, &fd);
    struct unpack_opts o = opts != NULL ? *opts : (struct unpack_opts){0};
    o.digest = blob_digest; /* checked again on the way: a rotten blob is refused */
    return store_layer_unpack(s, &src, media_type, diff_id, &o, res, err);
}

/* ---- the image index -------------------------------------------------------- */

static json_t *index_load(struct store *s, v12n_error *err)
{
    int fd = openat(s->rootfd, INDEX_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return json_pack("{s:i, s:[]}", "version", 1, "images");
        v12n_fail_errno(err, "image index %s/" INDEX_FILE, s->root);
        return NULL;
    }
    size_t len;
    auto_free char *text = v12n_read_fd(fd, &len, err);
    close(fd);
    if (text == NULL) {
        v12n_error_wrap(err, "image index %s/" INDEX_FILE, s->root);
        return NULL;
    }
    json_error_t jerr;
    json_t *idx = json_loadb(text, len, 0, &jerr);
    if (idx == NULL || !json_is_array(json_object_get(idx, "images"))) {
        json_decref(idx);
        v12n_fail(err, EINVAL, "image index %s/" INDEX_FILE ": corrupted (%s)", s->root,
                  idx == NULL ? jerr.text : "no images array");
        return NULL;
    }
    return idx;
}

/* Through a locked temporary and a rename: readers see the old index or the
 * new one, never half of one. */
static int index_save(struct store *s, json_t *idx, v12n_error *err)
{
    auto_free char *text = json_dumps(idx, JSON_INDENT(1));
    if (text == NULL)
        return v12n_fail(err, ENOMEM, "image index: out of memory");
    char name[TEMP_NAME_MAX];
    auto_close int fd = temp_create(s, "index", false, name, err);
    if (fd < 0)
        return v12n_error_wrap(err, "image index");
    int r = 0;
    if (v12n_write_all(fd, text, strlen(text)) < 0 || (store_sync(s) && fsync(fd) < 0))
        r = v12n_fail_errno(err, "image index %s: write tmp/%s", s->root, name);
    else if (renameat(s->tmpfd, name, s->rootfd, INDEX_FILE) < 0)
        r = v12n_fail_errno(err, "image index %s: rename tmp/%s", s->root, name);
    else if (store_sync(s) && fsync(s->rootfd) < 0)
        r = v12n_fail_errno(err, "image index %s: fsync", s->root);
    if (r < 0)
        unlinkat(s->tmpfd, name, 0);
    return r;
}

static bool array_has_string(json_t *arr, const char *value)
{
    size_t i;
    json_t *n;
    json_array_foreach(arr, i, n)
    {
        if (json_is_string(n) && strcmp(json_string_value(n), value) == 0)
            return true;
    }
    return false;
}

static bool names_contain(json_t *img, const char *name)
{
    return array_has_string(json_object_get(img, "names"), name);
}

/* A name belongs to one image at most. */
static void names_remove_everywhere(json_t *images, const char *name)
{
    size_t i;
    json_t *img;
    json_array_foreach(images, i, img)
    {
        json_t *names = json_object_get(img, "names");
        for (size_t k = 0; k < json_array_size(names);) {
            const char *n = json_string_value(json_array_get(names, k));
            if (n != NULL && strcmp(n, name) == 0)
                json_array_remove(names, k);
            else
                k++;
        }
    }
}

static bool is_hex(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    }
    return n > 0 && n <= max;
}

static bool member_is(json_t *img, const char *key, const char *value)
{
    const char *v = json_string_value(json_object_get(img, key));
    return v != NULL && strcmp(v, value) == 0;
}

/* A name, then a full digest (id, manifest, index), then an id prefix. */
static int find_image(json_t *images, const char *ref, size_t *out, v12n_error *err)
{
    if (ref == NULL || ref[0] == '\0')
        return v12n_fail(err, EINVAL, "image: empty reference");
    size_t i;
    json_t *img;
    json_array_foreach(images, i, img)
    {
        if (names_contain(img, ref)) {
            *out = i;
            return 0;
        }
    }
    if (image_digest_valid(ref)) {
        json_array_foreach(images, i, img)
        {
            if (member_is(img, "id", ref) || member_is(img, "manifest", ref) ||
                member_is(img, "index", ref)) {
                *out = i;
                return 0;
            }
        }
    }
    const char *hex = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : ref;
    if (is_hex(hex, 64)) {
        size_t matches = 0;
        json_array_foreach(images, i, img)
        {
            const char *id = json_string_value(json_object_get(img, "id"));
            if (id != NULL && strncmp(id, "sha256:", 7) == 0 &&
                strncmp(id + 7, hex, strlen(hex)) == 0) {
                *out = i;
                matches++;
            }
        }
        if (matches == 1)
            return 0;
        if (matches > 1)
            return v12n_fail(err, EINVAL, "image %.256s: ambiguous id prefix (%zu images)", ref,
                             matches);
    }
    return v12n_fail(err, ENOENT, "no such image: %.256s", ref);
}

static char *dup_or_null(const char *s, bool *ok)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *ok = false;
    return d;
}

void store_image_clear(struct store_image *img)
{
    if (img == NULL)
        return;
    free(img->id);
    v12n_strv_free(img->names);
    free(img->manifest);
    free(img->index);
    for (size_t i = 0; i < img->n_layers; i++) {
        free(img->layers[i].digest);
        free(img->layers[i].diff_id);
        free(img->layers[i].media_type);
    }
    free(img->layers);
    free(img->created);
    v12n_strv_free(img->pins);
    memset(img, 0, sizeof *img);
}

void store_images_free(struct store_image *imgs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_image_clear(&imgs[i]);
    free(imgs);
}

static int layer_from_json(json_t *j, struct store_layer *l, const char *where, v12n_error *err)
{
    const char *digest = NULL, *diff_id = NULL, *media_type = NULL;
    if (!json_is_object(j))
        return v12n_fail(err, EINVAL, "%s: expected an object", where);
    if (v12n_json_get_string(j, "digest", &digest, where, err) < 0 ||
        v12n_json_get_string(j, "diff_id", &diff_id, where, err) < 0 ||
        v12n_json_get_string(j, "media_type", &media_type, where, err) < 0 ||
        v12n_json_get_uint64(j, "size", &l->size, where, err) < 0)
        return -1;
    if (diff_id == NULL)
        return v12n_fail(err, EINVAL, "%s: no diff_id", where);
    bool ok = true;
    l->digest = dup_or_null(digest, &ok);
    l->diff_id = dup_or_null(diff_id, &ok);
    l->media_type = dup_or_null(media_type, &ok);
    return ok ? 0 : v12n_fail(err, ENOMEM, "%s: out of memory", where);
}

static int image_from_json(json_t *j, struct store_image *img, v12n_error *err)
{
    const char *where = "image index entry";
    const char *id = NULL, *manifest = NULL, *index = NULL, *created = NULL;
    json_t *names = NULL, *layers = NULL, *pins = NULL;
    memset(img, 0, sizeof *img);
    if (!json_is_object(j))
        return v12n_fail(err, EINVAL, "%s: expected an object", where);
    if (v12n_json_get_string(j, "id", &id, where, err) < 0 ||
        v12n_json_get_string(j, "manifest", &manifest, where, err) < 0 ||
        v12n_json_get_string(j, "index", &index, where, err) < 0 ||
        v12n_json_get_string(j, "created", &created, where, err) < 0 ||
        v12n_json_get_uint64(j, "size", &img->size, where, err) < 0 ||
        v12n_json_get_array(j, "names", &names, where, err) < 0 ||
        v12n_json_get_array(j, "layers", &layers, where, err) < 0 ||
        v12n_json_get_array(j, "pins", &pins, where, err) < 0)
        return -1;
    if (id == NULL)
        return v12n_fail(err, EINVAL, "%s: no id", where);
    bool ok = true;
    img->id = dup_or_null(id, &ok);
    img->manifest = dup_or_null(manifest, &ok);
    img->index = dup_or_null(index, &ok);
    img->created = dup_or_null(created, &ok);
    if (!ok)
        goto nomem;
    if (names != NULL) {
        if (v12n_json_string_array(names, &img->names, "image index entry names", err) < 0)
            goto fail;
    } else if ((img->names = calloc(1, sizeof *img->names)) == NULL) {
        goto nomem;
    }
    if (pins != NULL && v12n_json_string_array(pins, &img->pins, "image index entry pins", err) < 0)
        goto fail;
    size_t n = json_array_size(layers);
    if (n > 0 && (img->layers = calloc(n, sizeof *img->layers)) == NULL)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        img->n_layers = i + 1;
        if (layer_from_json(json_array_get(layers, i), &img->layers[i], "image index layer", err) <
            0)
            goto fail;
    }
    return 0;
nomem:
    v12n_fail(err, ENOMEM, "%s: out of memory", where);
fail:
    store_image_clear(img);
    return -1;
}

static int set_string(json_t *obj, const char *key, const char *value)
{
    return value == NULL ? 0 : json_object_set_new(obj, key, json_string(value));
}

static json_t *image_to_json(const struct store_image *img, uint64_t size)
{
    json_t *j = json_object();
    json_t *names = json_array();
    json_t *layers = json_array();
    if (j == NULL || names == NULL || layers == NULL) {
        json_decref(j);
        json_decref(names);
        json_decref(layers);
        return NULL;
    }
    int r = set_string(j, "id", img->id);
    for (char **n = img->names; n != NULL && *n != NULL; n++) {
        if (!array_has_string(names, *n))
            r |= json_array_append_new(names, json_string(*n));
    }
    r |= json_object_set_new(j, "names", names);
    r |= set_string(j, "manifest", img->manifest);
    r |= set_string(j, "index", img->index);
    for (size_t i = 0; i < img->n_layers; i++) {
        const struct store_layer *l = &img->layers[i];
        json_t *lj = json_object();
        r |= lj == NULL ? -1 : 0;
        r |= set_string(lj, "digest", l->digest);
        r |= set_string(lj, "diff_id", l->diff_id);
        r |= set_string(lj, "media_type", l->media_type);
        r |= json_object_set_new(lj, "size", json_integer((json_int_t)l->size));
        r |= json_array_append_new(layers, lj);
    }
    r |= json_object_set_new(j, "layers", layers);
    r |= set_string(j, "created", img->created);
    r |= json_object_set_new(j, "size", json_integer((json_int_t)size));
    if (r != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int check_image(const struct store_image *img, v12n_error *err)
{
    if (image_digest_check(img->id, err) < 0)
        return v12n_error_wrap(err, "image id");
    if (img->manifest != NULL && image_digest_check(img->manifest, err) < 0)
        return v12n_error_wrap(err, "image %s: manifest", img->id);
    if (img->index != NULL && image_digest_check(img->index, err) < 0)
        return v12n_error_wrap(err, "image %s: index", img->id);
    for (char **n = img->names; n != NULL && *n != NULL; n++) {
        if ((*n)[0] == '\0')
            return v12n_fail(err, EINVAL, "image %s: empty name", img->id);
    }
    for (size_t i = 0; i < img->n_layers; i++) {
        const struct store_layer *l = &img->layers[i];
        if (image_digest_check(l->diff_id, err) < 0 ||
            (l->digest != NULL && image_digest_check(l->digest, err) < 0))
            return v12n_error_wrap(err, "image %s: layer %zu", img->id, i + 1);
    }
    return 0;
}

/* Under the index lock, so that gc cannot remove what we just checked. */
static int image_content_size(struct store *s, const struct store_image *img, uint64_t *size,
                              v12n_error *err)
{
    if (!store_blob_has(s, img->id))
        return v12n_fail(err, ENOENT, "image %s: its config blob is not in the store", img->id);
    if (img->manifest != NULL && !store_blob_has(s, img->manifest))
        return v12n_fail(err, ENOENT, "image %s: manifest %s is not in the store", img->id,
                         img->manifest);
    *size = 0;
    for (size_t i = 0; i < img->n_layers; i++) {
        uint64_t n;
        if (!store_layer_has(s, img->layers[i].diff_id))
            return v12n_fail(err, ENOENT, "image %s: layer %s is not in the store", img->id,
                             img->layers[i].diff_id);
        if (store_layer_size(s, img->layers[i].diff_id, &n, err) < 0)
            return v12n_error_wrap(err, "image %s", img->id);
        *size += n;
    }
    return 0;
}

/* Read-modify-write of the index under its lock.  apply() edits the array
 * and returns 0, or 1 when it changed nothing (no rewrite), or -1. */
typedef int (*index_edit_fn)(struct store *s, json_t *images, void *ctx, v12n_error *err);

static int index_edit(struct store *s, index_edit_fn apply, void *ctx, v12n_error *err)
{
    auto_close int lock = lock_file(s, INDEX_LOCK, LOCK_EX, err);
    if (lock < 0)
        return -1;
    auto_json json_t *idx = index_load(s, err);
    if (idx == NULL)
        return -1;
    int r = apply(s, json_object_get(idx, "images"), ctx, err);
    if (r != 0)
        return r < 0 ? -1 : 0;
    return index_save(s, idx, err);
}

static int add_edit(struct store *s, json_t *images, void *ctx, v12n_error *err)
{
    const struct store_image *img = ctx;
    uint64_t size = 0;
    if (image_content_size(s, img, &size, err) < 0)
        return -1;
    json_t *j = image_to_json(img, size);
    if (j == NULL)
        return v12n_fail(err, ENOMEM, "image %s: out of memory", img->id);
    for (char **n = img->names; n != NULL && *n != NULL; n++)
        names_remove_everywhere(images, *n);
    size_t i;
    json_t *old;
    json_array_foreach(images, i, old)
    {
        if (!member_is(old, "id", img->id))
            continue;
        size_t k;
        json_t *n;
        json_array_foreach(json_object_get(old, "names"), k, n)
        {
            if (json_is_string(n) && !names_contain(j, json_string_value(n)))
                json_array_append(json_object_get(j, "names"), n);
        }
        json_t *pins = json_object_get(old, "pins");
        if (json_is_array(pins) && json_array_size(pins) > 0)
            json_object_set(j, "pins", pins);
        return json_array_set_new(images, i, j) == 0 ? 0 : v12n_fail(err, ENOMEM, "image index");
    }
    return json_array_append_new(images, j) == 0 ? 0 : v12n_fail(err, ENOMEM, "image index");
}

int store_image_add(struct store *s, const struct store_image *img, v12n_error *err)
{
    if (check_image(img, err) < 0)
        return -1;
    return index_edit(s, add_edit, (void *)img, err);
}

struct tag_args {
    const char *ref, *name;
};

static int tag_edit(struct store *s, json_t *images, void *ctx, v12n_error *err)
{
    const struct tag_args *a = ctx;
    size_t i;
    if (find_image(images, a->ref, &i, err) < 0)
        return -1;
    json_t *img = json_array_get(images, i);
    if (names_contain(img, a->name))
        return 0;
    names_remove_everywhere(images, a->name);
    json_t *names = json_object_get(img, "names");
    if (!json_is_array(names)) {
        names = json_array();
        json_object_set_new(img, "names", names);
    }
    return json_array_append_new(names, json_string(a->name)) == 0
               ? 0
               : v12n_fail(err, ENOMEM, "image index");
}

int store_image_tag(struct store *s, const char *ref, const char *name, v12n_error *err)
{
    if (name == NULL || name[0] == '\0')
        return v12n_fail(err, EINVAL, "tag %.256s: empty name", ref);
    struct tag_args a = {ref, name};
    return index_edit(s, tag_edit, &a, err);
}

static int untag_edit(struct store *s, json_t *images, void *ctx, v12n_error *err)
{
    const char *name = ctx;
    size_t i;
    json_t *img;
    json_array_foreach(images, i, img)
    {
        if (names_contain(img, name)) {
            names_remove_everywhere(images, name);
            return 0;
        }
    }
    return v12n_fail(err, ENOENT, "no image named %.256s", name);
}

int store_image_untag(struct store *s, const char *name, v12n_error *err)
{
    return index_edit(s, untag_edit, (void *)name, err);
}

/* ---- pins -------------------------------------------------------------------- */

/* An owner is a file name under pins/<image hex>/: no '/', no leading '.'
 * (the store's own names), at most 200 bytes. */
static int check_owner(const char *ref, const char *owner, v12n_error *err)
{
    if (owner == NULL || owner[0] == '\0')
        return v12n_fail(err, EINVAL, "image %.256s: empty pin owner", ref);
    if (owner[0] == '.' || strchr(owner, '/') != NULL || strlen(owner) > 200)
        return v12n_fail(err, EINVAL, "image %.256s: invalid pin owner \"%.256s\"", ref, owner);
    return 0;
}

/* pins/<hex> of image id ("sha256:<hex>"), created when create is set.
 * Returns its descriptor, or -1 (errno ENOENT: no pins, when !create). */
static int pins_dir_open(struct store *s, const char *id, bool create, v12n_error *err)
{
    const char *hex = id + strlen("sha256:");
    if (create && mkdirat(s->rootfd, PINS_DIR, 0700) < 0 && errno != EEXIST)
        return v12n_fail_errno(err, "store %s: mkdir " PINS_DIR, s->root);
    auto_close int pins =
        openat(s->rootfd, PINS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (pins < 0) {
        int saved = errno;
        v12n_fail_errno(err, "store %s: open " PINS_DIR, s->root);
        errno = saved;
        return -1;
    }
    bool made = create && mkdirat(pins, hex, 0700) == 0;
    if (create && !made && errno != EEXIST)
        return v12n_fail_errno(err, "store %s: mkdir " PINS_DIR "/%s", s->root, hex);
    if (made && store_sync(s) && (fsync(pins) < 0 || fsync(s->rootfd) < 0))
        return v12n_fail_errno(err, "store %s: fsync " PINS_DIR, s->root);
    int fd = openat(pins, hex, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        v12n_fail_errno(err, "store %s: open " PINS_DIR "/%s", s->root, hex);
        errno = saved;
    }
    return fd;
}

/* The owners pinning image id: the files under pins/<hex> (appended to
 * *owners, a NULL-terminated vector or NULL). */
static int pins_read(struct store *s, const char *id, char ***owners, v12n_error *err)
{
    v12n_error ignored = {0};
    int fd = pins_dir_open(s, id, false, &ignored);
    if (fd < 0)
        return errno == ENOENT ? 0 : v12n_fail_errno(err, "image %s: pins", id);
    auto_closedir DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return v12n_fail_errno(err, "image %s: pins", id);
    }
    size_t n = v12n_strv_len(*owners);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char **grown = realloc(*owners, (n + 2) * sizeof *grown);
        if (grown == NULL || (grown[n] = strdup(de->d_name)) == NULL) {
            if (grown != NULL)
                *owners = grown;
            return v12n_fail(err, ENOMEM, "image %s: pins: out of memory", id);
        }
        grown[++n] = NULL;
        *owners = grown;
    }
    return 0;
}

/* A pin from before pins were files: in the index entry's "pins". */
static const char *legacy_pin(json_t *img)
{
    return json_string_value(json_array_get(json_object_get(img, "pins"), 0));
}

static int delete_edit(struct store *s, json_t *images, void *ctx, v12n_error *err)
{
    size_t i;
    if (find_image(images, ctx, &i, err) < 0)
        return -1;
    json_t *img = json_array_get(images, i);
    const char *id = json_string_value(json_object_get(img, "id"));
    char **owners = NULL;
    if (id == NULL || pins_read(s, id, &owners, err) < 0) {
        v12n_strv_free(owners);
        return id == NULL ? v12n_fail(err, EINVAL, "image %.256s: no id", (const char *)ctx) : -1;
    }
    const char *owner = legacy_pin(img) != NULL ? legacy_pin(img) : owners ? owners[0] : NULL;
    if (owner != NULL) {
        v12n_fail(err, EBUSY, "image %.256s: in use by %.256s", (const char *)ctx, owner);
        v12n_strv_free(owners);
        return -1;
    }
    /* Under the lock: no pin is being created in it. */
    auto_close int pins =
        openat(s->rootfd, PINS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (pins >= 0)
        unlinkat(pins, id + strlen("sha256:"), AT_REMOVEDIR);
    return json_array_remove(images, i) == 0 ? 0 : v12n_fail(err, EIO, "image index");
}

int store_image_delete(struct store *s, const char *ref, v12n_error *err)
{
    return index_edit(s, delete_edit, (void *)ref, err);
}

/* Pinning is one empty file, created under the index lock once the image
 * is found (so a delete either sees it or has removed the image first):
 * no index rewrite. */
int store_image_pin(struct store *s, const char *ref, const char *owner, v12n_error *err)
{
    if (check_owner(ref, owner, err) < 0)
        return -1;
    auto_close int lock = lock_file(s, INDEX_LOCK, LOCK_EX, err);
    if (lock < 0)
        return -1;
    auto_json json_t *idx = index_load(s, err);
    size_t i;
    if (idx == NULL || find_image(json_object_get(idx, "images"), ref, &i, err) < 0)
        return -1;
    const char *id =
        json_string_value(json_object_get(json_array_get(json_object_get(idx, "images"), i), "id"));
    if (id == NULL || !image_digest_valid(id))
        return v12n_fail(err, EINVAL, "image %.256s: no valid id in the index", ref);
    auto_close int dir = pins_dir_open(s, id, true, err);
    if (dir < 0)
        return v12n_error_wrap(err, "image %.256s: pin", ref);
    auto_close int fd = openat(dir, owner, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return v12n_fail_errno(err, "image %.256s: pin %.256s", ref, owner);
    if (store_sync(s) && fsync(dir) < 0)
        return v12n_fail_errno(err, "image %.256s: pin %.256s: fsync", ref, owner);
    return 0;
}

/* 1: the pin file was there and is gone; 0: there was none. */
static int pin_unlink(struct store *s, const char *id, const char *owner, v12n_error *err)
{
    v12n_error ignored = {0};
    auto_close int dir = pins_dir_open(s, id, false, &ignored);
    if (dir < 0)
        return errno == ENOENT ? 0 : v12n_fail_errno(err, "image %s: pins", id);
    if (unlinkat(dir, owner, 0) < 0)
        return errno == ENOENT ? 0 : v12n_fail_errno(err, "image %s: unpin %.256s", id, owner);
    if (store_sync(s) && fsync(dir) < 0)
        return v12n_fail_errno(err, "image %s: unpin %.256s: fsync", id, owner);
    return 1;
}

int store_image_unpin_id(const char *root, const char *id, const char *owner, v12n_error *err)
{
    if (check_owner(id, owner, err) < 0)
        return -1;
    if (!image_digest_valid(id))
        return v12n_fail(err, EINVAL, "image %.256s: not an image id", id);
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/" PINS_DIR "/%s/%s", root, id + strlen("sha256:"),
                         owner) >= sizeof path)
        return v12n_fail(err, ENAMETOOLONG, "image %s: unpin %.256s", id, owner);
    if (unlink(path) == 0)
        return 0;
    if (errno != ENOENT)
        return v12n_fail_errno(err, "image %s: unpin %.256s", id, owner);
    /* No pin file: maybe a pin in images.json, from before pins were files. */
    struct store *s;
    if (store_open(root, STORE_NO_SYNC, &s, err) < 0)
        return -1;
    int r = store_image_unpin(s, id, owner, err);
    store_close(s);
    return r;
}

struct unpin_args {
    const char *ref, *owner;
};

/* By name, or a legacy pin in the index: rewritten only when it held one. */
static int unpin_edit(struct store *s, json_t *images, void *ctx, v12n_error *err)
{
    const struct unpin_args *a = ctx;
    size_t i;
    if (find_image(images, a->ref, &i, err) < 0)
        return -1;
    json_t *img = json_array_get(images, i);
    const char *id = json_string_value(json_object_get(img, "id"));
    if (id != NULL && image_digest_valid(id) && pin_unlink(s, id, a->owner, err) < 0)
        return -1;
    json_t *pins = json_object_get(img, "pins");
    for (size_t k = 0; k < json_array_size(pins); k++) {
        const char *o = json_string_value(json_array_get(pins, k));
        if (o != NULL && strcmp(o, a->owner) == 0)
            return json_array_remove(pins, k) == 0 ? 0 : v12n_fail(err, EIO, "image index");
    }
    return 1;
}

/* The engine unpins by id: one unlink, without the lock (a delete that
 * runs meanwhile sees the pin or not; both are right). */
int store_image_unpin(struct store *s, const char *ref, const char *owner, v12n_error *err)
{
    if (check_owner(ref, owner, err) < 0)
        return -1;
    if (image_digest_valid(ref)) {
        int r = pin_unlink(s, ref, owner, err);
        if (r != 0)
            return r < 0 ? -1 : 0;
    }
    struct unpin_args a = {ref, owner};
    return index_edit(s, unpin_edit, &a, err);
}

int store_image_list(struct store *s, struct store_image **out, size_t *n, v12n_error *err)
{
    auto_json json_t *idx = index_load(s, err);
    if (idx == NULL)
        return -1;
    json_t *images = json_object_get(idx, "images");
    size_t count = json_array_size(images);
    struct store_image *v = calloc(count + 1, sizeof *v);
    if (v == NULL)
        return v12n_fail(err, ENOMEM, "image index: out of memory");
    for (size_t i = 0; i < count; i++) {
        if (image_from_json(json_array_get(images, i), &v[i], err) < 0 ||
            pins_read(s, v[i].id, &v[i].pins, err) < 0) {
            store_images_free(v, i + 1);
            return v12n_error_wrap(err, "image index %s/" INDEX_FILE, s->root);
        }
    }
    *out = v;
    *n = count;
    return 0;
}

int store_image_resolve(struct store *s, const char *ref, struct store_image *out, v12n_error *err)
{
    auto_json json_t *idx = index_load(s, err);
    if (idx == NULL)
        return -1;
    json_t *images = json_object_get(idx, "images");
    size_t i;
    if (find_image(images, ref, &i, err) < 0 ||
        image_from_json(json_array_get(images, i), out, err) < 0)
        return -1;
    if (pins_read(s, out->id, &out->pins, err) < 0) {
        store_image_clear(out);
        return -1;
    }
    return 0;
}

/* ---- garbage collection ------------------------------------------------------ */

static void keep_digest(json_t *keep, const char *kind, json_t *digest)
{
    const char *d = json_string_value(digest);
    if (d == NULL || strncmp(d, "sha256:", 7) != 0)
        return;
    char key[96];
    snprintf(key, sizeof key, "%s%s", kind, d + 7);
    json_object_set_new(keep, key, json_true());
}

static json_t *referenced(json_t *images)
{
    json_t *keep = json_object();
    if (keep == NULL)
        return NULL;
    size_t i, k;
    json_t *img, *layer;
    json_array_foreach(images, i, img)
    {
        keep_digest(keep, "b", json_object_get(img, "id"));
        keep_digest(keep, "b", json_object_get(img, "manifest"));
        keep_digest(keep, "b", json_object_get(img, "index"));
        json_array_foreach(json_object_get(img, "layers"), k, layer)
        {
            keep_digest(keep, "b", json_object_get(layer, "digest"));
            keep_digest(keep, "l", json_object_get(layer, "diff_id"));
        }
    }
    return keep;
}

static bool is_kept(json_t *keep, const char *kind, const char *hex)
{
    char key[96];
    snprintf(key, sizeof key, "%s%s", kind, hex);
    return json_object_get(keep, key) != NULL;
}

/* Renamed into tmp/ (locked) before removal, so a gc killed half-way
 * never leaves half a layer under a final name. */
static int remove_layer(struct store *s, const char *hex, v12n_error *err)
{
    auto_close int fd = openat(s->layersfd, hex, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || flock(fd, LOCK_EX) < 0)
        return v12n_fail_errno(err, "layer sha256:%s: open", hex);
    char name[TEMP_NAME_MAX];
    if (random_name("gc", name, err) < 0)
        return -1;
    if (renameat(s->layersfd, hex, s->tmpfd, name) < 0)
        return v12n_fail_errno(err, "layer sha256:%s: move to tmp/", hex);
    return unpack_remove_tree(s->tmpfd, name, err);
}

typedef int (*sweep_fn)(struct store *s, const char *hex, struct store_gc_result *res,
                        v12n_error *err);

static int sweep_blob(struct store *s, const char *hex, struct store_gc_result *res,
                      v12n_error *err)
{
    struct stat st;
    if (fstatat(s->blobsfd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
        return 0;
    if (unlinkat(s->blobsfd, hex, 0) < 0)
        return v12n_fail_errno(err, "blob sha256:%s: remove", hex);
    res->blobs++;
    res->bytes += (uint64_t)st.st_size;
    return 0;
}

static int sweep_layer(struct store *s, const char *hex, struct store_gc_result *res,
                       v12n_error *err)
{
    if (remove_layer(s, hex, err) < 0)
        return -1;
    res->layers++;
    return 0;
}

static int sweep(struct store *s, int dirfd, json_t *keep, const char *kind, sweep_fn remove,
                 struct store_gc_result *res, v12n_error *err)
{
    int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return v12n_fail_errno(err, "store %s: open", s->root);
    auto_closedir DIR *d = fdopendir(dfd);
    if (d == NULL) {
        close(dfd);
        return v12n_fail_errno(err, "store %s: opendir", s->root);
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strlen(de->d_name) != 64 || !is_hex(de->d_name, 64) || is_kept(keep, kind, de->d_name))
            continue;
        if (remove(s, de->d_name, res, err) < 0)
            return -1;
    }
    return 0;
}

int store_gc(struct store *s, struct store_gc_result *res, v12n_error *err)
{
    memset(res, 0, sizeof *res);
    auto_close int gc = lock_file(s, GC_LOCK, LOCK_EX | LOCK_NB, err);
    if (gc == -2) {
        res->skipped = true;
        return 0;
    }
    if (gc < 0)
        return -1;
    auto_close int lock = lock_file(s, INDEX_LOCK, LOCK_EX, err);
    if (lock < 0)
        return -1;
    auto_json json_t *idx = index_load(s, err);
    if (idx == NULL)
        return -1;
    auto_json json_t *keep = referenced(json_object_get(idx, "images"));
    if (keep == NULL)
        return v12n_fail(err, ENOMEM, "gc: out of memory");
    if (sweep(s, s->blobsfd, keep, "b", sweep_blob, res, err) < 0 ||
        sweep(s, s->layersfd, keep, "l", sweep_layer, res, err) < 0)
        return v12n_error_wrap(err, "gc");
    res->temps = clean_temps(s);
    return 0;
}
