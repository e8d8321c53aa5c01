/* Helpers shared by save, load and import: see archive.h. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/manifest.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"
#include "shim/shim.h"

#define COPY_BLOCK (256u << 10)

const char *image_blob_layer_type(struct store *s, const char *digest, v12n_error *err)
{
    auto_close int fd = store_blob_open(s, digest, err);
    if (fd < 0)
        return NULL;
    unsigned char magic[4] = {0};
    ssize_t n = pread(fd, magic, sizeof magic, 0);
    if (n < 0) {
        v12n_fail_errno(err, "blob %s: read", digest);
        return NULL;
    }
    if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        return IMAGE_MT_OCI_LAYER_GZIP;
    if (n == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
        return IMAGE_MT_OCI_LAYER_ZSTD;
    return IMAGE_MT_OCI_LAYER;
}

static int copy_out(struct archive *a, int out_fd, struct image_sha256 *h, uint64_t *size,
                    v12n_error *err)
{
    auto_free char *buf = malloc(COPY_BLOCK);
    if (buf == NULL)
        return v12n_fail(err, ENOMEM, "out of memory");
    for (;;) {
        la_ssize_t n = archive_read_data(a, buf, COPY_BLOCK);
        if (n == 0)
            return 0;
        if (n < 0)
            return v12n_fail(err, EINVAL, "%s", archive_error_string(a));
        image_sha256_update(h, buf, (size_t)n);
        *size += (uint64_t)n;
        if (out_fd >= 0 && v12n_write_all(out_fd, buf, (size_t)n) < 0)
            return v12n_fail_errno(err, "write");
    }
}

int image_blob_uncompress(struct store *s, const char *digest, int out_fd,
                          char diff_id[IMAGE_DIGEST_SIZE], uint64_t *size, v12n_error *err)
{
    /* libarchive is loaded on first use (src/lib/shim). */
    if (v12n_archive_load(err) < 0)
        return -1;
    auto_close int fd = store_blob_open(s, digest, err);
    if (fd < 0)
        return -1;
    struct archive *a = archive_read_new();
    struct image_sha256 *h = image_sha256_new();
    int r = -1;
    *size = 0;
    struct archive_entry *e;
    if (a == NULL || h == NULL)
        v12n_fail(err, ENOMEM, "out of memory");
    else if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
             archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
             archive_read_support_format_raw(a) != ARCHIVE_OK ||
             archive_read_support_format_empty(a) != ARCHIVE_OK ||
             archive_read_open_fd(a, fd, COPY_BLOCK) != ARCHIVE_OK)
        v12n_fail(err, EINVAL, "%s", archive_error_string(a));
    else if (archive_read_next_header(a, &e) == ARCHIVE_EOF)
        r = 0; /* an empty layer */
    else
        r = copy_out(a, out_fd, h, size, err);
    if (r == 0)
        image_sha256_final(h, diff_id);
    else
        v12n_error_wrap(err, "layer blob %s", digest);
    image_sha256_free(h);
    if (a != NULL)
        archive_read_free(a);
    return r;
}

int image_put_manifest(struct store *s, const char *config, uint64_t config_size,
                       const struct store_layer *layers, size_t n, char digest[IMAGE_DIGEST_SIZE],
                       v12n_error *err)
{
    auto_json json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        json_t *d = json_pack("{s:s, s:s, s:I}", "mediaType",
                              layers[i].media_type ? layers[i].media_type : IMAGE_MT_OCI_LAYER,
                              "digest", layers[i].digest, "size", (json_int_t)layers[i].size);
        if (d == NULL || json_array_append_new(arr, d) < 0)
            return v12n_fail(err, ENOMEM, "manifest: out of memory");
    }
    auto_json json_t *m =
        arr == NULL
            ? NULL
            : json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:O}", "schemaVersion", 2, "mediaType",
                        IMAGE_MT_OCI_MANIFEST, "config", "mediaType", IMAGE_MT_OCI_CONFIG, "digest",
                        config, "size", (json_int_t)config_size, "layers", arr);
    auto_free char *text = m != NULL ? json_dumps(m, JSON_COMPACT) : NULL;
    if (text == NULL)
        return v12n_fail(err, ENOMEM, "manifest: out of memory");
    return store_blob_put(s, text, strlen(text), NULL, digest, err);
}

int image_add_one_layer(struct store *s, const char *name, const char *config, uint64_t config_size,
                        const struct store_layer *layer, const char *created,
                        char id[IMAGE_DIGEST_SIZE], v12n_error *err)
{
    char manifest[IMAGE_DIGEST_SIZE];
    if (image_put_manifest(s, config, config_size, layer, 1, manifest, err) < 0)
        return -1;
    char *names[] = {(char *)name, NULL};
    struct store_image img = {.id = (char *)config,
                              .names = names,
                              .manifest = manifest,
                              .layers = (struct store_layer *)layer,
                              .n_layers = 1,
                              .created = (char *)created};
    if (store_image_add(s, &img, err) < 0)
        return -1;
    if (id != NULL)
        memcpy(id, config, IMAGE_DIGEST_SIZE);
    return 0;
}
