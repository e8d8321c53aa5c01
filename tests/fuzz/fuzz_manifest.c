/* Manifests and indexes come from registries, which may be hostile: parse
 * any bytes, then choose a platform from what parsed, without crashing,
 * leaking or reading out of bounds.  The first byte picks the platform
 * wanted and the Content-Type hint, so both paths get explored. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/auth.h"
#include "image/manifest.h"
#include "image/platform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const platforms[] = {
    "linux/amd64", "linux/arm64",   "linux/arm/v7", "linux/arm/v6",
    "linux/386",   "windows/amd64", "linux/s390x",  "linux/arm64/v8",
};

static const char *const content_types[] = {
    NULL,
    IMAGE_MT_OCI_INDEX,
    IMAGE_MT_OCI_MANIFEST,
    IMAGE_MT_DOCKER_LIST,
    IMAGE_MT_DOCKER_V2,
    "application/json",
    IMAGE_MT_DOCKER_V2 "; charset=utf-8",
    IMAGE_MT_DOCKER_V1_JWS,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t pick = data[0];
    data++;
    size--;
    struct image_manifest *m = NULL;
    v12n_error err = {0};
    const char *ctype = content_types[(pick >> 3) % 8];
    if (image_manifest_parse(data, size, ctype, &m, &err) == 0) {
        if (m->kind == IMAGE_KIND_INDEX) {
            struct image_platform want;
            if (image_platform_parse(platforms[pick % 8], &want, &err) != 0)
                abort();
            const struct image_descriptor *d = NULL;
            if (image_index_select(m, &want, &d, &err) == 0) {
                if (d < m->manifests || d >= m->manifests + m->n_manifests ||
                    !image_digest_valid(d->digest))
                    abort();
            }
        } else if (m->kind != IMAGE_KIND_MANIFEST || !image_digest_valid(m->config.digest)) {
            abort();
        }
        image_manifest_free(m);
    } else if (err.msg[0] == '\0') {
        abort();
    }
    /* the same bytes as a WWW-Authenticate header (also registry-controlled) */
    char *header = malloc(size + 1);
    if (header != NULL) {
        memcpy(header, data, size);
        header[size] = '\0';
        struct image_auth_challenge ch;
        if (image_auth_parse_challenge(header, &ch, &err) == 0 && ch.scheme == IMAGE_AUTH_NONE)
            abort();
        free(header);
    }
    return 0;
}
