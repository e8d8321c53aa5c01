/* Registry credentials (the file `v12n login` writes) and the HTTP
 * authentication challenges a registry answers with.
 *
 * The file is Docker's config.json shape, so a Docker or Podman auth file
 * can be read as is:
 *   {"auths": {"127.0.0.1:5000": {"auth": "<base64 of user:password>"}}}
 * Keys are compared by host: "https://index.docker.io/v1/",
 * "index.docker.io" and "registry-1.docker.io" all mean docker.io.  Other
 * members of the file are kept when it is saved.  The file holds passwords:
 * it is written mode 0600 through a new file and a rename, and a file that
 * group or others can read is refused. */
#ifndef V12N_IMAGE_AUTH_H
#define V12N_IMAGE_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

struct image_auth;

/* Load path; a missing file is an empty set of credentials. */
int image_auth_load(const char *path, struct image_auth **out, v12n_error *err);
/* An empty set (for callers without a file). */
struct image_auth *image_auth_new(void);
void image_auth_free(struct image_auth *a);

/* The credentials for a registry domain ("docker.io", "127.0.0.1:5000"):
 * 1 and malloc'd *user / *password when present, 0 when none, -1 when the
 * entry is malformed. */
int image_auth_get(const struct image_auth *a, const char *registry, char **user, char **password,
                   v12n_error *err);

/* Add or replace a registry's entry.  The user may not contain ':'. */
int image_auth_set(struct image_auth *a, const char *registry, const char *user,
                   const char *password, v12n_error *err);

/* Drop a registry's entries; false when there were none. */
bool image_auth_remove(struct image_auth *a, const char *registry);

/* Write atomically, mode 0600 (the directory is made 0700 when missing). */
int image_auth_save(const struct image_auth *a, const char *path, v12n_error *err);

/* The key a registry is filed under: scheme, path and Docker Hub's aliases
 * dropped ("https://index.docker.io/v1/" -> "docker.io"). */
void image_auth_normalize_host(const char *in, char *out, size_t size);

/* One parsed WWW-Authenticate header: the Bearer challenge when the
 * header offers one, else the Basic one. */
#define IMAGE_CHALLENGE_FIELD_MAX 1023

enum image_auth_scheme {
    IMAGE_AUTH_NONE = 0,
    IMAGE_AUTH_BASIC,
    IMAGE_AUTH_BEARER,
};

struct image_auth_challenge {
    enum image_auth_scheme scheme;
    char realm[IMAGE_CHALLENGE_FIELD_MAX + 1];
    char service[IMAGE_CHALLENGE_FIELD_MAX + 1];
    char scope[IMAGE_CHALLENGE_FIELD_MAX + 1];
};

/* Parse `Bearer realm="https://auth.example/token",service="reg",scope="..."`
 * (RFC 7235: several challenges, quoted strings with escapes, tokens).  A
 * header with neither Basic nor Bearer, or a Bearer without realm, fails. */
int image_auth_parse_challenge(const char *header, struct image_auth_challenge *out,
                               v12n_error *err);

#endif
