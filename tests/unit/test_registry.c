/* The registry client against a tiny HTTP server on loopback (a thread in
 * this process): manifests by tag and by digest, blobs into an fd or a
 * callback, digest and size checks, and connection failures.  The real
 * registry (docker-registry) is exercised by tests/integration/image. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/registry.h"
#include "util/fs.h"

/* ---- a one-connection-at-a-time HTTP/1.1 server ---------------------------------- */

struct route {
    const char *path;
    int status;
    const char *content_type;
    const char *body;
    size_t len;
};

struct server {
    int fd;
    int port;
    pthread_t thread;
    const struct route *routes;
    size_t n_routes;
    int requests;
};

static void respond(int c, const struct route *r)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nContent-Type: %s\r\n"
                     "Connection: close\r\n\r\n",
                     r->status, r->len, r->content_type);
    if (v12n_write_all(c, head, (size_t)n) == 0)
        v12n_write_all(c, r->body, r->len);
}

static void serve_one(struct server *s, int c)
{
    char req[4096];
    size_t got = 0;
    while (got < sizeof req - 1) {
        ssize_t n = read(c, req + got, sizeof req - 1 - got);
        if (n <= 0)
            return;
        got += (size_t)n;
        req[got] = '\0';
        if (strncmp(req, "GET ", got < 4 ? got : 4) != 0)
            return; /* a TLS hello: hang up, the client falls back to HTTP */
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    s->requests++;
    char path[1024] = "";
    sscanf(req, "GET %1023s", path);
    static const struct route not_found = {"", 404, "application/json", "{}", 2};
    const struct route *r = &not_found;
    for (size_t i = 0; i < s->n_routes; i++)
        if (strcmp(s->routes[i].path, path) == 0)
            r = &s->routes[i];
    respond(c, r);
}

static void *serve(void *arg)
{
    struct server *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        serve_one(s, c);
        close(c);
    }
}

static void server_start(struct server *s, const struct route *routes, size_t n)
{
    memset(s, 0, sizeof *s);
    s->routes = routes;
    s->n_routes = n;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->thread, NULL);
}

/* ---- fixtures ------------------------------------------------------------------------- */

static const char layer[] = "layer bytes, not much of a tar";
static char layer_digest[IMAGE_DIGEST_SIZE];
static const char config[] = "{\"architecture\":\"amd64\",\"os\":\"linux\"}";
static char config_digest[IMAGE_DIGEST_SIZE];
static char manifest[1024];
static char manifest_digest[IMAGE_DIGEST_SIZE];

static int setup(void **state)
{
    (void)state;
    v12n_error err = {0};
    image_digest_of(layer, strlen(layer), layer_digest, &err);
    image_digest_of(config, strlen(config), config_digest, &err);
    snprintf(manifest, sizeof manifest,
             "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
             "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\","
             "\"size\":%zu}]}",
             IMAGE_MT_OCI_MANIFEST, IMAGE_MT_OCI_CONFIG, config_digest, strlen(config),
             IMAGE_MT_OCI_LAYER, layer_digest, strlen(layer));
    image_digest_of(manifest, strlen(manifest), manifest_digest, &err);
    return 0;
}

static struct registry_client *client(unsigned tries)
{
    struct registry_client *c = NULL;
    v12n_error err = {0};
    struct registry_opts o = {.insecure = true,
                              .tries = tries,
                              .backoff_ms = 10,
                              .connect_timeout_s = 5,
                              .stall_timeout_s = 5};
    if (registry_client_new(&o, &c, &err) != 0)
        fail_msg("%s", err.msg);
    return c;
}

static void ref_at(struct image_ref *ref, int port, const char *rest)
{
    char s[256];
    v12n_error err = {0};
    snprintf(s, sizeof s, "127.0.0.1:%d/%s", port, rest);
    assert_int_equal(image_ref_parse(s, ref, &err), 0);
}

/* ---- tests ---------------------------------------------------------------------------- */

static void resolves_a_manifest_by_tag_and_by_digest(void **state)
{
    (void)state;
    char by_digest[128];
    snprintf(by_digest, sizeof by_digest, "/v2/ns/app/manifests/%s", manifest_digest);
    struct route routes[] = {
        {"/v2/ns/app/manifests/v1", 200, IMAGE_MT_OCI_MANIFEST, manifest, strlen(manifest)},
        {by_digest, 200, IMAGE_MT_OCI_MANIFEST, manifest, strlen(manifest)},
    };
    struct server s;
    server_start(&s, routes, 2);
    struct registry_client *c = client(1);
    struct image_ref ref;
    struct registry_image img;
    v12n_error err = {0};
    ref_at(&ref, s.port, "ns/app:v1");
    if (registry_resolve(c, &ref, NULL, &img, &err) != 0)
        fail_msg("%s", err.msg);
    assert_null(img.index.data);
    assert_string_equal(img.manifest.digest, manifest_digest);
    assert_int_equal(img.manifest.len, strlen(manifest));
    assert_int_equal(img.manifest.parsed->n_layers, 1);
    assert_string_equal(img.manifest.parsed->layers[0].digest, layer_digest);
    registry_image_clear(&img);

    char pinned[128];
    snprintf(pinned, sizeof pinned, "ns/app@%s", manifest_digest);
    ref_at(&ref, s.port, pinned);
    assert_int_equal(registry_resolve(c, &ref, NULL, &img, &err), 0);
    assert_string_equal(img.manifest.digest, manifest_digest);
    registry_image_clear(&img);

    /* pinned to a digest the bytes do not have */
    char wrong[128];
    snprintf(wrong, sizeof wrong, "ns/app@%s", layer_digest);
    ref_at(&ref, s.port, wrong);
    assert_int_equal(registry_resolve(c, &ref, NULL, &img, &err), -1);
    char want[512];
    snprintf(want, sizeof want, "pull 127.0.0.1:%d/%s: manifest unknown (404)", s.port, wrong);
    assert_string_equal(err.msg, want);
    registry_client_free(c);
    server_stop(&s);
}

struct collected {
    char data[256];
    size_t len;
    int rewinds;
    uint64_t last_done;
    int progress_calls;
};

static int collect(void *arg, const void *buf, size_t len, v12n_error *err)
{
    struct collected *c = arg;
    if (c->len + len > sizeof c->data)
        return v12n_fail(err, 0, "too much");
    memcpy(c->data + c->len, buf, len);
    c->len += len;
    return 0;
}

static int rewind_collected(void *arg, v12n_error *err)
{
    (void)err;
    struct collected *c = arg;
    c->len = 0;
    c->rewinds++;
    return 0;
}

static void on_progress(void *arg, const char *digest, uint64_t done, uint64_t total)
{
    struct collected *c = arg;
    assert_true(image_digest_valid(digest));
    assert_true(done <= total);
    c->last_done = done;
    c->progress_calls++;
}

static void fetches_blobs_into_fd_and_callback(void **state)
{
    (void)state;
    char lpath[128], cpath[128];
    snprintf(lpath, sizeof lpath, "/v2/ns/app/blobs/%s", layer_digest);
    snprintf(cpath, sizeof cpath, "/v2/ns/app/blobs/%s", config_digest);
    struct route routes[] = {
        {lpath, 200, "application/octet-stream", layer, strlen(layer)},
        {cpath, 200, "application/octet-stream", config, strlen(config)},
    };
    struct server s;
    server_start(&s, routes, 2);
    struct registry_client *c = client(1);
    struct image_ref ref;
    ref_at(&ref, s.port, "ns/app:v1");

    char tmp[] = "/tmp/v12n-blob-XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    unlink(tmp);
    assert_int_equal(write(fd, "prefix", 6), 6); /* written from the current offset */
    struct collected col = {0};
    struct registry_blob blobs[2] = {
        {.size = strlen(layer), .fd = fd},
        {.size = strlen(config),
         .fd = -1,
         .write = collect,
         .rewind = rewind_collected,
         .arg = &col},
    };
    memcpy(blobs[0].digest, layer_digest, IMAGE_DIGEST_SIZE);
    memcpy(blobs[1].digest, config_digest, IMAGE_DIGEST_SIZE);
    v12n_error err = {0};
    struct collected prog = {0};
    if (registry_fetch_blobs(c, &ref, blobs, 2, on_progress, &prog, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(blobs[0].status, 0);
    assert_int_equal(blobs[1].status, 0);
    char back[128] = "";
    assert_int_equal(pread(fd, back, sizeof back - 1, 0), (ssize_t)(6 + strlen(layer)));
    assert_memory_equal(back + 6, layer, strlen(layer));
    assert_int_equal(col.len, strlen(config));
    assert_memory_equal(col.data, config, strlen(config));
    assert_true(prog.progress_calls >= 4); /* a start and an end for each */
    close(fd);
    registry_client_free(c);
    server_stop(&s);
}

static void refuses_a_blob_that_does_not_match(void **state)
{
    (void)state;
    char lpath[128];
    snprintf(lpath, sizeof lpath, "/v2/ns/app/blobs/%s", layer_digest);
    static const char evil[] = "layer bytes, not much of a taR";
    struct route routes[] = {{lpath, 200, "application/octet-stream", evil, strlen(evil)}};
    struct server s;
    server_start(&s, routes, 1);
    struct registry_client *c = client(3);
    struct image_ref ref;
    ref_at(&ref, s.port, "ns/app:v1");
    struct collected col = {0};
    struct registry_blob b = {.size = strlen(layer), .write = collect, .arg = &col};
    memcpy(b.digest, layer_digest, IMAGE_DIGEST_SIZE);
    v12n_error err = {0};
    assert_int_equal(registry_fetch_blob(c, &ref, &b, NULL, NULL, &err), -1);
    char got[IMAGE_DIGEST_SIZE], want[600];
    image_digest_of(evil, strlen(evil), got, &err);
    snprintf(want, sizeof want, "pull 127.0.0.1:%d/ns/app:v1: blob %s: digest mismatch (got %s)",
             s.port, layer_digest, got);
    assert_string_equal(b.err.msg, want);
    assert_int_equal(b.status, -1);
    assert_int_equal(s.requests, 1); /* not retried (the HTTPS probe never got that far) */

    /* declared smaller than what comes */
    b.size = 5;
    col.len = 0;
    assert_int_equal(registry_fetch_blob(c, &ref, &b, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "more than the 5 declared"));
    assert_int_equal(col.len, 0); /* refused before a byte went out */
    registry_client_free(c);
    server_stop(&s);
}

static void connection_refused_is_retried_and_reported(void **state)
{
    (void)state;
    /* a port that was just free */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    int port = ntohs(a.sin_port);

    struct registry_client *c = client(2);
    struct image_ref ref;
    ref_at(&ref, port, "x");
    struct registry_manifest m;
    v12n_error err = {0};
    assert_int_equal(registry_get_manifest(c, &ref, NULL, &m, &err), -1);
    char prefix[256];
    snprintf(prefix, sizeof prefix,
             "pull 127.0.0.1:%d/x:latest: GET https://127.0.0.1:%d/v2/x/manifests/latest: ", port,
             port);
    assert_memory_equal(err.msg, prefix, strlen(prefix));
    assert_non_null(strstr(err.msg, " after 2 tries"));
    assert_null(m.data);
    registry_client_free(c);
}

static void rejects_bad_requests_before_the_network(void **state)
{
    (void)state;
    struct registry_client *c = client(1);
    struct image_ref ref;
    ref_at(&ref, 1, "x");
    v12n_error err = {0};
    struct registry_blob b = {.size = 1, .fd = -1};
    strcpy(b.digest, "sha256:nothex");
    assert_int_equal(registry_fetch_blob(c, &ref, &b, NULL, NULL, &err), -1);
    assert_string_equal(err.msg, "pull 127.0.0.1:1/x:latest: blob: digest \"sha256:nothex\": 64 "
                                 "lowercase hex digits expected after sha256:");
    memcpy(b.digest, layer_digest, IMAGE_DIGEST_SIZE);
    assert_int_equal(registry_fetch_blob(c, &ref, &b, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "no fd and no write callback"));
    struct registry_manifest m;
    assert_int_equal(registry_get_manifest(c, &ref, "bad/tag", &m, &err), -1);
    assert_string_equal(err.msg, "pull 127.0.0.1:1/x:latest: invalid tag or digest \"bad/tag\"");
    registry_client_free(c);

    struct registry_opts o = {.tls_ca_file = "/etc/hostname"};
    assert_int_equal(registry_client_new(&o, &c, &err), -1);
    assert_string_equal(err.msg, "--tls-ca /etc/hostname: no PEM certificate in it");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resolves_a_manifest_by_tag_and_by_digest),
        cmocka_unit_test(fetches_blobs_into_fd_and_callback),
        cmocka_unit_test(refuses_a_blob_that_does_not_match),
        cmocka_unit_test(connection_refused_is_retried_and_reported),
        cmocka_unit_test(rejects_bad_requests_before_the_network),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
