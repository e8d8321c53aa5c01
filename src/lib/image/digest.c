#include "image/digest.h"

#include <errno.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>

/* nettle, linked statically: no library to load and no provider set-up, so
 * hashing a small blob costs microseconds (it picks SHA-NI when present). */
struct image_sha256 {
    struct sha256_ctx ctx;
};

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool image_digest_valid(const char *s)
{
    if (s == NULL || strncmp(s, IMAGE_DIGEST_PREFIX, strlen(IMAGE_DIGEST_PREFIX)) != 0)
        return false;
    const char *hex = s + strlen(IMAGE_DIGEST_PREFIX);
    for (size_t i = 0; i < IMAGE_DIGEST_HEX; i++)
        if (!is_lower_hex(hex[i]))
            return false;
    return hex[IMAGE_DIGEST_HEX] == '\0';
}

int image_digest_check(const char *s, v12n_error *err)
{
    if (image_digest_valid(s))
        return 0;
    if (s == NULL || *s == '\0')
        return v12n_fail(err, 0, "empty digest");
    /* quote at most a digest's length: the input may be anything */
    int shown = (int)strnlen(s, IMAGE_DIGEST_LEN + 1);
    const char *more = strlen(s) > (size_t)shown ? ".." : "";
    if (strncmp(s, IMAGE_DIGEST_PREFIX, strlen(IMAGE_DIGEST_PREFIX)) != 0)
        return v12n_fail(err, 0, "digest \"%.*s%s\": only sha256:<hex> digests are supported",
                         shown, s, more);
    return v12n_fail(err, 0,
                     "digest \"%.*s%s\": 64 lowercase hex digits expected after sha256:", shown, s,
                     more);
}

const char *image_digest_hex(const char *s)
{
    return s + strlen(IMAGE_DIGEST_PREFIX);
}

struct image_sha256 *image_sha256_new(void)
{
    struct image_sha256 *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    sha256_init(&h->ctx);
    return h;
}

void image_sha256_update(struct image_sha256 *h, const void *data, size_t len)
{
    sha256_update(&h->ctx, len, data);
}

void image_sha256_reset(struct image_sha256 *h)
{
    sha256_init(&h->ctx);
}

void image_sha256_final(struct image_sha256 *h, char out[IMAGE_DIGEST_SIZE])
{
    static const char hexdig[] = "0123456789abcdef";
    uint8_t md[SHA256_DIGEST_SIZE];
    sha256_digest(&h->ctx, sizeof md, md); /* also re-initialises the context */
    memcpy(out, IMAGE_DIGEST_PREFIX, strlen(IMAGE_DIGEST_PREFIX));
    char *p = out + strlen(IMAGE_DIGEST_PREFIX);
    for (size_t i = 0; i < sizeof md && i < IMAGE_DIGEST_HEX / 2; i++) {
        *p++ = hexdig[md[i] >> 4];
        *p++ = hexdig[md[i] & 0xf];
    }
    *p = '\0';
}

void image_sha256_free(struct image_sha256 *h)
{
    if (h == NULL)
        return;
    free(h);
}

int image_digest_of(const void *data, size_t len, char out[IMAGE_DIGEST_SIZE], v12n_error *err)
{
    struct image_sha256 *h = image_sha256_new();
    if (h == NULL)
        return v12n_fail(err, 0, "sha256");
    image_sha256_update(h, data, len);
    image_sha256_final(h, out);
    image_sha256_free(h);
    return 0;
}
