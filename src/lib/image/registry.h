/* A client for the OCI distribution API (Docker Hub, registry:2, quay,
 * ghcr, Harbor, ...): resolve a reference to an image manifest, choosing a
 * platform from an index, and download blobs, several at once, each
 * verified against its digest while it streams.
 *
 *   struct registry_client *c;
 *   registry_client_new(&(struct registry_opts){.credentials = auth}, &c, &err);
 *   struct registry_image img;
 *   registry_resolve(c, &ref, &platform, &img, &err);
 *   ... one struct registry_blob per layer (and the config) ...
 *   registry_fetch_blobs(c, &ref, blobs, n, on_progress, ui, &err);
 *
 * Transport: HTTPS with the system CAs (plus opts.tls_ca_file); with
 * opts.insecure a registry is tried over HTTPS without verification and,
 * when it does not speak TLS, over plain HTTP (insecure covers every host
 * the client talks to: the registry, its token server, its blob storage).
 * Redirects are followed (blob storage often lives elsewhere); credentials
 * never follow them to another host.  The usual proxy variables
 * (https_proxy, no_proxy) apply, as libcurl reads them.
 *
 * Authentication: requests go out anonymous; a 401 with a Bearer challenge
 * gets a token from the realm (GET realm?service=..&scope=repository:
 * <path>:pull, with Basic credentials when the credentials file has some
 * for the registry) which is then reused for the repository; a Basic
 * challenge is answered with the credentials.  A token the registry stops
 * accepting is renewed once; a 401 after a fresh token, or after Basic
 * credentials, is final.
 *
 * Retries: connection failures, stalls (no progress for stall_timeout_s),
 * 408, 429 (waiting Retry-After, capped) and 5xx are retried with
 * exponential backoff up to opts.tries attempts; 401, 403 and 404 never.
 * An interrupted blob resumes with a Range request when the server allows.
 *
 * Errors name the pull and the cause, one line:
 *   pull 127.0.0.1:5000/x:latest: manifest unknown (404)
 *   pull 127.0.0.1:5000/x:latest: unauthorized (401): check v12n login
 *   pull docker.io/library/alpine:latest: too many requests (429) after 3 tries
 *   pull ...: blob sha256:ab..: digest mismatch (got sha256:cd..)
 * The Docker-Content-Digest header is never trusted: digests are computed. */
#ifndef V12N_IMAGE_REGISTRY_H
#define V12N_IMAGE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/auth.h"
#include "image/digest.h"
#include "image/manifest.h"
#include "image/platform.h"
#include "image/reference.h"
#include "util/error.h"

struct registry_opts {
    bool insecure;                        /* allow plain HTTP and unverified TLS */
    const char *tls_ca_file;              /* PEM CA certificates trusted besides the system's */
    const struct image_auth *credentials; /* NULL: anonymous only; must outlive the client */
    const char *user_agent;               /* NULL: "v12n" */
    unsigned connect_timeout_s;           /* 0: 30 */
    unsigned stall_timeout_s;             /* under 1 KiB/s for this long is a failure (0: 60) */
    unsigned tries;                       /* attempts for transient failures (0: 3) */
    unsigned backoff_ms;                  /* first retry delay, doubled each retry (0: 500) */
    unsigned retry_after_max_s;           /* cap on a 429's Retry-After (0: 30) */
    unsigned parallel;                    /* blobs downloaded at once (0: 3) */
};

/* A client keeps connections, tokens and what it learnt about each
 * registry between calls; use it from one thread at a time. */
struct registry_client;

int registry_client_new(const struct registry_opts *o, struct registry_client **out,
                        v12n_error *err);
void registry_client_free(struct registry_client *c);

/* A manifest or index as served, and what it says. */
struct registry_manifest {
    char *data; /* the exact bytes (NUL-terminated); their sha256 is digest */
    size_t len;
    char digest[IMAGE_DIGEST_SIZE];
    struct image_manifest *parsed;
};
void registry_manifest_clear(struct registry_manifest *m);

/* GET /v2/<path>/manifests/<tag_or_digest> (NULL: the reference's digest,
 * else its tag).  At most IMAGE_MANIFEST_MAX bytes; when fetched by digest
 * the bytes must hash to it. */
int registry_get_manifest(struct registry_client *c, const struct image_ref *ref,
                          const char *tag_or_digest, struct registry_manifest *out,
                          v12n_error *err);

/* What a reference resolves to: the image manifest, and the index it was
 * chosen from (index.data NULL when the reference named a manifest). */
struct registry_image {
    struct registry_manifest index;
    struct registry_manifest manifest;
};
void registry_image_clear(struct registry_image *img);

/* Fetch ref's manifest; from an index (or manifest list) choose platform
 * (NULL: linux/amd64) and fetch that manifest by digest. */
int registry_resolve(struct registry_client *c, const struct image_ref *ref,
                     const struct image_platform *platform, struct registry_image *out,
                     v12n_error *err);

/* Called as a blob's bytes arrive (at most every 256 KiB, and with done ==
 * total when it completes; done drops back to 0 if a retry restarts it). */
typedef void (*registry_progress_fn)(void *arg, const char *digest, uint64_t done, uint64_t total);

/* One blob to download.  The bytes go to write() when set, else to fd from
 * its offset at the start.  A retry that must start over calls rewind()
 * (for fd: truncate back to the starting offset); without rewind a blob
 * that cannot be resumed fails.  On failure what was written is not the
 * blob: discard it. */
struct registry_blob {
    char digest[IMAGE_DIGEST_SIZE];
    uint64_t size; /* the descriptor's: a server sending more is refused */
    int fd;
    int (*write)(void *arg, const void *buf, size_t len, v12n_error *err);
    int (*rewind)(void *arg, v12n_error *err);
    void *arg;
    /* results */
    int status;     /* 0: complete and verified; -1: failed, see err */
    v12n_error err; /* the complete message, "pull <ref>: blob sha256:..: ..." */
};

/* Download one blob (GET /v2/<path>/blobs/<digest>). */
int registry_fetch_blob(struct registry_client *c, const struct image_ref *ref,
                        struct registry_blob *b, registry_progress_fn progress, void *arg,
                        v12n_error *err);

/* Download blobs, opts.parallel at a time.  A failing blob does not stop
 * the others (those that completed are good to keep); the result is -1
 * with the first failure's error when any failed, and each blob's status
 * says which. */
int registry_fetch_blobs(struct registry_client *c, const struct image_ref *ref,
                         struct registry_blob *blobs, size_t n, registry_progress_fn progress,
                         void *arg, v12n_error *err);

#endif
