#include "image/digest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "shim/shim.h"

struct image_sha256 {
    EVP_MD_CTX *ctx;
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
    h->ctx = EVP_MD_CTX_new();
    if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        image_sha256_free(h);
        return NULL;
    }
    return h;
}

void image_sha256_update(struct image_sha256 *h, const void *data, size_t len)
{
    /* cannot fail for an initialised software SHA-256 context */
    EVP_DigestUpdate(h->ctx, data, len);
}

void image_sha256_reset(struct image_sha256 *h)
{
    EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
}

void image_sha256_final(struct image_sha256 *h, char out[IMAGE_DIGEST_SIZE])
{
    static const char hexdig[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, md, &n);
    memcpy(out, IMAGE_DIGEST_PREFIX, strlen(IMAGE_DIGEST_PREFIX));
    char *p = out + strlen(IMAGE_DIGEST_PREFIX);
    for (unsigned int i = 0; i < n && i < IMAGE_DIGEST_HEX / 2; i++) {
        *p++ = hexdig[md[i] >> 4];
        *p++ = hexdig[md[i] & 0xf];
    }
    *p = '\0';
    image_sha256_reset(h);
}

void image_sha256_free(struct image_sha256 *h)
{
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

int image_digest_of(const void *data, size_t len, char out[IMAGE_DIGEST_SIZE], v12n_error *err)
{
    if (v12n_crypto_load(err) < 0)
        return -1;
    struct image_sha256 *h = image_sha256_new();
    if (h == NULL)
        return v12n_fail(err, 0, "sha256");
    image_sha256_update(h, data, len);
    image_sha256_final(h, out);
    image_sha256_free(h);
    return 0;
}
