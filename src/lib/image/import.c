/* image_import(): a root filesystem tarball becomes a single-layer image
 * (see archive.h).  The tarball is stored as the layer blob as it came
 * (compressed or not), its diff_id computed by decompressing it once, then
 * unpacked like any pulled layer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/manifest.h"
#include "image/platform.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "shim/shim.h"

#define READ_BLOCK (256u << 10)

static int copy_to_blob(struct store *s, int fd, char digest[IMAGE_DIGEST_SIZE], uint64_t *size,
                        v12n_error *err)
{
    struct store_blob_writer *w;
    auto_free char *buf = malloc(READ_BLOCK);
    if (buf == NULL)
        return v12n_fail(err, ENOMEM, "import: out of memory");
    if (store_blob_begin(s, &w, err) < 0)
        return -1;
    for (;;) {
        ssize_t n = read(fd, buf, READ_BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            store_blob_abort(w);
            return v12n_fail_errno(err, "import: read");
        }
        if (n == 0)
            break;
        if (store_blob_write(w, buf, (size_t)n, err) < 0) {
            store_blob_abort(w);
            return -1;
        }
    }
    *size = store_blob_written(w);
    return store_blob_commit(w, NULL, digest, err);
}

static int put_config(struct store *s, const char *diff_id, const char *created,
                      const char *comment, char digest[IMAGE_DIGEST_SIZE], size_t *size,
                      v12n_error *err)
{
    struct image_platform host;
    image_platform_host(&host);
    auto_json json_t *j =
        json_pack("{s:s, s:s, s:s, s:{}, s:{s:s, s:[s]}, s:[{s:s, s:s}]}", "architecture",
                  host.arch, "os", "linux", "created", created, "config", "rootfs", "type",
                  "layers", "diff_ids", diff_id, "history", "created", created, "comment",
                  comment != NULL ? comment : "Imported from a tarball");
    auto_free char *text = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (text == NULL)
        return v12n_fail(err, ENOMEM, "import: out of memory");
    *size = strlen(text);
    return store_blob_put(s, text, *size, NULL, digest, err);
}

static int import(struct store *s, int fd, const char *name, const char *comment,
                  char id[IMAGE_DIGEST_SIZE], v12n_error *err)
{
    char blob[IMAGE_DIGEST_SIZE], diff_id[IMAGE_DIGEST_SIZE], config[IMAGE_DIGEST_SIZE];
    char created[32];
    uint64_t blob_size = 0, tar_size = 0;
    size_t config_size = 0;
    time_t now = time(NULL);
    struct tm tm;
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    if (copy_to_blob(s, fd, blob, &blob_size, err) < 0)
        return -1;
    const char *mt = image_blob_layer_type(s, blob, err);
    if (mt == NULL || image_blob_uncompress(s, blob, -1, diff_id, &tar_size, err) < 0)
        return -1;
    struct store_layer l = {
        .digest = blob, .diff_id = diff_id, .media_type = (char *)mt, .size = blob_size};
    if (store_layer_unpack_blob(s, blob, mt, diff_id, NULL, NULL, err) < 0 ||
        put_config(s, diff_id, created, comment, config, &config_size, err) < 0)
        return -1;
    return image_add_one_layer(s, name, config, config_size, &l, created, id, err);
}

int image_import(struct store *s, int fd, const char *name, const char *comment,
                 char id[IMAGE_DIGEST_SIZE], v12n_error *err)
{
    /* libarchive is loaded on first use (src/lib/shim). */
    if (v12n_archive_load(err) < 0)
        return -1;
    if (store_lease(s, err) < 0)
        return -1;
    int r = import(s, fd, name, comment, id, err);
    store_lease_release(s);
    return r < 0 ? v12n_error_wrap(err, "import") : 0;
}
