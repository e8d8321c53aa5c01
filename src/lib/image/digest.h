/* Content digests: "sha256:" followed by 64 lowercase hex digits, the only
 * algorithm v12n accepts (the OCI image spec's registered default; sha512
 * images are unheard of in practice).  A digest is kept as that string. */
#ifndef V12N_IMAGE_DIGEST_H
#define V12N_IMAGE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define IMAGE_DIGEST_PREFIX "sha256:"
#define IMAGE_DIGEST_HEX    64
/* strlen("sha256:") + 64 */
#define IMAGE_DIGEST_LEN 71
/* a buffer that holds a digest and its NUL */
#define IMAGE_DIGEST_SIZE (IMAGE_DIGEST_LEN + 1)

/* True for exactly "sha256:" + 64 lowercase hex digits. */
bool image_digest_valid(const char *s);

/* image_digest_valid with an error that says what is wrong
 * ("digest \"sha256:AB..\": 64 lowercase hex digits expected after sha256:"). */
int image_digest_check(const char *s, v12n_error *err);

/* The 64 hex digits of a valid digest (a pointer into s). */
const char *image_digest_hex(const char *s);

/* Streaming SHA-256 (nettle, linked statically). */
struct image_sha256;
struct image_sha256 *image_sha256_new(void);
void image_sha256_update(struct image_sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" into out; the state is reset for reuse. */
void image_sha256_final(struct image_sha256 *h, char out[IMAGE_DIGEST_SIZE]);
void image_sha256_reset(struct image_sha256 *h);
void image_sha256_free(struct image_sha256 *h);

/* The digest of a buffer in one call; -1 only when the allocation fails. */
int image_digest_of(const void *data, size_t len, char out[IMAGE_DIGEST_SIZE], v12n_error *err);

#endif
