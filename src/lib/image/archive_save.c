/* image_save(): docker-archive or oci-archive (see archive.h). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "shim/shim.h"

#define COPY_BLOCK (256u << 10)

struct saver {
    struct store *s;
    struct archive *a;
    json_t *written; /* member paths already in the tar */
};

static int archive_fail(struct saver *w, const char *what, v12n_error *err)
{
    return v12n_fail(err, EIO, "save: %s: %s", what, archive_error_string(w->a));
}

static int member_header(struct saver *w, const char *path, uint64_t size, v12n_error *err)
{
    struct archive_entry *e = archive_entry_new();
    if (e == NULL)
        return v12n_fail(err, ENOMEM, "save: out of memory");
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)size);
    int r = archive_write_header(w->a, e);
    archive_entry_free(e);
    return r == ARCHIVE_OK ? 0 : archive_fail(w, path, err);
}

static int member_data(struct saver *w, const char *path, const void *data, size_t len,
                       v12n_error *err)
{
    if (member_header(w, path, len, err) < 0)
        return -1;
    if (len > 0 && archive_write_data(w->a, data, len) != (la_ssize_t)len)
        return archive_fail(w, path, err);
    return 0;
}

/* A member from a file descriptor, read from its start. */
static int member_fd(struct saver *w, const char *path, int fd, v12n_error *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0)
        return v12n_fail_errno(err, "save: %s", path);
    if (member_header(w, path, (uint64_t)st.st_size, err) < 0)
        return -1;
    auto_free char *buf = malloc(COPY_BLOCK);
    if (buf == NULL)
        return v12n_fail(err, ENOMEM, "save: out of memory");
    for (off_t left = st.st_size; left > 0;) {
        ssize_t n = read(fd, buf, left < COPY_BLOCK ? (size_t)left : COPY_BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return v12n_fail(err, n < 0 ? errno : EIO, "save: %s: read", path);
        if (archive_write_data(w->a, buf, (size_t)n) != n)
            return archive_fail(w, path, err);
        left -= n;
    }
    return 0;
}

static bool once(struct saver *w, const char *path)
{
    if (json_object_get(w->written, path) != NULL)
        return false;
    json_object_set_new(w->written, path, json_true());
    return true;
}

/* A stored blob as it is: blobs/sha256/<hex>. */
static int member_blob(struct saver *w, const char *digest, v12n_error *err)
{
    char path[96];
    snprintf(path, sizeof path, "blobs/sha256/%s", image_digest_hex(digest));
    if (!once(w, path))
        return 0;
    auto_close int fd = store_blob_open(w->s, digest, err);
    return fd < 0 ? -1 : member_fd(w, path, fd, err);
}

/* A layer uncompressed, named by its diff_id (Docker's layout). */
static int member_layer_tar(struct saver *w, const struct store_layer *l, v12n_error *err)
{
    char path[96];
    snprintf(path, sizeof path, "blobs/sha256/%s", image_digest_hex(l->diff_id));
    if (!once(w, path))
        return 0;
    if (l->digest == NULL)
        return v12n_fail(err, ENOENT, "save: layer %s: no blob in the store", l->diff_id);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/tmp", store_root(w->s));
    auto_close int fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return v12n_fail_errno(err, "save: temporary file in %s", tmp);
    char diff_id[IMAGE_DIGEST_SIZE];
    uint64_t size;
    if (image_blob_uncompress(w->s, l->digest, fd, diff_id, &size, err) < 0)
        return v12n_error_wrap(err, "save");
    if (strcmp(diff_id, l->diff_id) != 0)
        return v12n_fail(err, EILSEQ, "save: layer %s: its blob uncompresses to %s", l->diff_id,
                         diff_id);
    return member_fd(w, path, fd, err);
}

static int member_json(struct saver *w, const char *path, json_t *j, v12n_error *err)
{
    auto_free char *text = json_dumps(j, JSON_COMPACT);
    if (text == NULL)
        return v12n_fail(err, ENOMEM, "save: out of memory");
    return member_data(w, path, text, strlen(text), err);
}

/* ---- docker-archive ------------------------------------------------------------ */

static int docker_image(struct saver *w, const struct store_image *img, char *const *names,
                        json_t *manifest, json_t *repos, v12n_error *err)
{
    char path[96];
    json_t *layers = json_array(), *tags = json_array();
    json_t *entry = json_pack("{s:s+, s:o, s:o}", "Config", "blobs/sha256/",
                              image_digest_hex(img->id), "RepoTags", tags, "Layers", layers);
    if (entry == NULL || json_array_append_new(manifest, entry) < 0)
        return v12n_fail(err, ENOMEM, "save: out of memory");
    if (member_blob(w, img->id, err) < 0)
        return -1;
    for (size_t i = 0; i < img->n_layers; i++) {
        snprintf(path, sizeof path, "blobs/sha256/%s", image_digest_hex(img->layers[i].diff_id));
        json_array_append_new(layers, json_string(path));
        if (member_layer_tar(w, &img->layers[i], err) < 0)
            return -1;
    }
    for (char *const *n = names; n != NULL && *n != NULL; n++) {
        struct image_ref r;
        char familiar[IMAGE_REF_STRING_MAX];
        v12n_error e = {0};
        if (image_ref_parse(*n, &r, &e) < 0 || r.tag[0] == '\0')
            continue;
        json_array_append_new(tags, json_string(image_ref_familiar(&r, familiar, sizeof familiar)));
        char tag[IMAGE_REF_TAG_MAX + 1];
        snprintf(tag, sizeof tag, "%s", r.tag);
        r.tag[0] = '\0';
        image_ref_familiar(&r, familiar, sizeof familiar);
        json_t *repo = json_object_get(repos, familiar);
        if (repo == NULL)
            json_object_set_new(repos, familiar, repo = json_object());
        if (img->n_layers > 0)
            json_object_set_new(
                repo, tag, json_string(image_digest_hex(img->layers[img->n_layers - 1].diff_id)));
    }
    return 0;
}

/* ---- oci-archive ------------------------------------------------------------------- */

static int oci_image(struct saver *w, const struct store_image *img, char *const *names,
                     json_t *index, v12n_error *err)
{
    if (img->manifest == NULL)
        return v12n_fail(err, ENOENT, "save: image %s: no manifest in the store", img->id);
    size_t len;
    auto_free char *text = store_blob_read(w->s, img->manifest, &len, err);
    if (text == NULL)
        return -1;
    auto_json json_t *m = json_loadb(text, len, 0, NULL);
    const char *mt = json_string_value(json_object_get(m, "mediaType"));
    if (member_blob(w, img->manifest, err) < 0 || member_blob(w, img->id, err) < 0)
        return -1;
    for (size_t i = 0; i < img->n_layers; i++) {
        if (img->layers[i].digest == NULL)
            return v12n_fail(err, ENOENT, "save: layer %s: no blob", img->layers[i].diff_id);
        if (member_blob(w, img->layers[i].digest, err) < 0)
            return -1;
    }
    for (size_t k = 0; names == NULL || names[k] != NULL || k == 0; k++) {
        json_t *d = json_pack("{s:s, s:s, s:I}", "mediaType", mt ? mt : IMAGE_MT_OCI_MANIFEST,
                              "digest", img->manifest, "size", (json_int_t)len);
        struct image_ref r;
        v12n_error e = {0};
        if (names != NULL && names[k] != NULL && image_ref_parse(names[k], &r, &e) == 0)
            json_object_set_new(d, "annotations",
                                json_pack("{s:s, s:s}", "io.containerd.image.name", names[k],
                                          "org.opencontainers.image.ref.name",
                                          r.tag[0] ? r.tag : "latest"));
        json_array_append_new(json_object_get(index, "manifests"), d);
        if (names == NULL || names[k] == NULL)
            break;
    }
    return 0;
}

/* ---- the whole archive ---------------------------------------------------------- */

/* The names to save for ref: that name alone when ref is one, else all. */
static char **names_for(const struct store_image *img, const char *ref, char *one[2])
{
    for (char **n = img->names; n != NULL && *n != NULL; n++) {
        if (strcmp(*n, ref) == 0) {
            one[0] = *n;
            one[1] = NULL;
            return one;
        }
    }
    return img->names;
}

static int save_all(struct saver *w, char *const *refs, size_t n, enum image_archive_format fmt,
                    v12n_error *err)
{
    auto_json json_t *manifest = json_array();
    auto_json json_t *repos = json_object();
    auto_json json_t *index = json_pack("{s:i, s:[]}", "schemaVersion", 2, "manifests");
    if (manifest == NULL || repos == NULL || index == NULL)
        return v12n_fail(err, ENOMEM, "save: out of memory");
    for (size_t i = 0; i < n; i++) {
        struct store_image img;
        if (store_image_resolve(w->s, refs[i], &img, err) < 0)
            return -1;
        char *one[2];
        char **names = names_for(&img, refs[i], one);
        int r = fmt == IMAGE_ARCHIVE_OCI ? oci_image(w, &img, names, index, err)
                                         : docker_image(w, &img, names, manifest, repos, err);
        store_image_clear(&img);
        if (r < 0)
            return -1;
    }
    if (fmt == IMAGE_ARCHIVE_OCI) {
        static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
        return member_data(w, "oci-layout", layout, sizeof layout - 1, err) < 0 ||
                       member_json(w, "index.json", index, err) < 0
                   ? -1
                   : 0;
    }
    if (member_json(w, "manifest.json", manifest, err) < 0 ||
        member_json(w, "repositories", repos, err) < 0)
        return -1;
    return 0;
}

int image_save(struct store *s, char *const *refs, size_t n, enum image_archive_format format,
               int fd, v12n_error *err)
{
    /* libarchive is loaded on first use (src/lib/shim). */
    if (v12n_archive_load(err) < 0)
        return -1;
    struct saver w = {.s = s, .a = archive_write_new(), .written = json_object()};
    int r = -1;
    if (w.a == NULL || w.written == NULL)
        v12n_fail(err, ENOMEM, "save: out of memory");
    else if (archive_write_set_format_pax_restricted(w.a) != ARCHIVE_OK ||
             archive_write_open_fd(w.a, fd) != ARCHIVE_OK)
        archive_fail(&w, "open", err);
    else if (save_all(&w, refs, n, format, err) == 0)
        r = archive_write_close(w.a) == ARCHIVE_OK ? 0 : archive_fail(&w, "close", err);
    if (w.a != NULL)
        archive_write_free(w.a);
    json_decref(w.written);
    return r;
}
