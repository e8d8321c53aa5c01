/* registry_probe: the registry client, driven from the command line by the
 * integration tests (tests/integration/image).
 *
 *   registry_probe pull [options] REF OUTDIR
 *       --insecure --tls-ca FILE --auth FILE --platform OS/ARCH[/VARIANT]
 *       --parallel N --tries N --backoff-ms N --retry-after-max S
 *       --stall S --connect-timeout S --progress --manifest-only
 *       --sink fd|callback
 *     prints "index|manifest DIGEST ...", "config|layer DIGEST SIZE TYPE",
 *     "blob DIGEST ok"; writes OUTDIR/index.json, OUTDIR/manifest.json and
 *     OUTDIR/blobs/<hex>; a blob that fails is deleted.
 *   registry_probe login --auth FILE REGISTRY USER PASSWORD
 *   registry_probe logout --auth FILE REGISTRY
 *   registry_probe ref REF        canonical, familiar, API host
 *
 * Exit 0 on success, 1 with "error: <message>" on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/auth.h"
#include "image/registry.h"
#include "util/fs.h"

struct pull_args {
    struct registry_opts opts;
    const char *auth_file;
    const char *platform;
    bool progress;
    bool manifest_only;
    bool callback_sink;
};

static int fail(const v12n_error *err)
{
    char buf[V12N_ERROR_MSG_MAX + 128];
    fprintf(stderr, "error: %s\n", v12n_error_text(err, buf, sizeof buf));
    return 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: registry_probe pull [options] REF OUTDIR | login --auth FILE REGISTRY "
                    "USER PASSWORD | logout --auth FILE REGISTRY | ref REF\n");
    return 2;
}

static void on_progress(void *arg, const char *digest, uint64_t done, uint64_t total)
{
    (void)arg;
    printf("progress %s %" PRIu64 " %" PRIu64 "\n", digest, done, total);
}

/* the callback sink: a FILE, rewound by truncation */
static int sink_write(void *arg, const void *buf, size_t len, v12n_error *err)
{
    if (fwrite(buf, 1, len, arg) != len)
        return v12n_fail_errno(err, "fwrite");
    return 0;
}

static int sink_rewind(void *arg, v12n_error *err)
{
    FILE *f = arg;
    if (fflush(f) != 0 || ftruncate(fileno(f), 0) < 0 || fseek(f, 0, SEEK_SET) < 0)
        return v12n_fail_errno(err, "rewind");
    return 0;
}

static int save(const char *dir, const char *name, const char *data, size_t len, v12n_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return v12n_write_file_atomic(path, data, len, 0644, err);
}

static void print_image(const struct registry_image *img)
{
    if (img->index.data != NULL)
        printf("index %s %s\n", img->index.digest, img->index.parsed->media_type);
    const struct image_manifest *m = img->manifest.parsed;
    printf("manifest %s %s\n", img->manifest.digest, m->media_type);
    printf("config %s %" PRIu64 " %s\n", m->config.digest, m->config.size, m->config.media_type);
    for (size_t i = 0; i < m->n_layers; i++)
        printf("layer %s %" PRIu64 " %s\n", m->layers[i].digest, m->layers[i].size,
               m->layers[i].media_type);
    fflush(stdout);
}

struct blob_out {
    char path[4096];
    FILE *file;
    int fd;
};

static int open_blobs(const char *dir, const struct image_manifest *m, struct registry_blob *blobs,
                      struct blob_out *outs, bool callback, v12n_error *err)
{
    size_t n = m->n_layers + 1;
    for (size_t i = 0; i < n; i++) {
        const struct image_descriptor *d = i == 0 ? &m->config : &m->layers[i - 1];
        struct registry_blob *b = &blobs[i];
        memcpy(b->digest, d->digest, sizeof b->digest);
        b->size = d->size;
        snprintf(outs[i].path, sizeof outs[i].path, "%s/blobs/%s", dir,
                 image_digest_hex(d->digest));
        outs[i].fd = open(outs[i].path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (outs[i].fd < 0)
            return v12n_fail_errno(err, "open %s", outs[i].path);
        b->fd = outs[i].fd;
        if (callback) {
            outs[i].file = fdopen(outs[i].fd, "w");
            if (outs[i].file == NULL)
                return v12n_fail_errno(err, "fdopen %s", outs[i].path);
            b->write = sink_write;
            b->rewind = sink_rewind;
            b->arg = outs[i].file;
        }
    }
    return 0;
}

static int close_blobs(struct registry_blob *blobs, struct blob_out *outs, size_t n)
{
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        if (outs[i].file != NULL)
            fclose(outs[i].file);
        else if (outs[i].fd >= 0)
            close(outs[i].fd);
        if (blobs[i].status == 0) {
            printf("blob %s ok\n", blobs[i].digest);
            continue;
        }
        /* what was written is not the blob */
        unlink(outs[i].path);
        char buf[V12N_ERROR_MSG_MAX + 128];
        if (blobs[i].err.msg[0] != '\0')
            fprintf(stderr, "blob-error: %s\n", v12n_error_text(&blobs[i].err, buf, sizeof buf));
        r = -1;
    }
    return r;
}

static int fetch_all(struct registry_client *c, const struct image_ref *ref,
                     const struct registry_image *img, const char *dir, const struct pull_args *a,
                     v12n_error *err)
{
    const struct image_manifest *m = img->manifest.parsed;
    size_t n = m->n_layers + 1;
    struct registry_blob *blobs = calloc(n, sizeof *blobs);
    struct blob_out *outs = calloc(n, sizeof *outs);
    if (blobs == NULL || outs == NULL) {
        free(blobs);
        free(outs);
        return v12n_fail(err, ENOMEM, "calloc");
    }
    for (size_t i = 0; i < n; i++)
        outs[i].fd = -1;
    int r = open_blobs(dir, m, blobs, outs, a->callback_sink, err);
    if (r == 0)
        r = registry_fetch_blobs(c, ref, blobs, n, a->progress ? on_progress : NULL, NULL, err);
    if (close_blobs(blobs, outs, n) < 0 && r == 0)
        r = v12n_fail(err, EIO, "a blob failed");
    free(blobs);
    free(outs);
    return r;
}

static int pull(const char *refstr, const char *dir, struct pull_args *a)
{
    v12n_error err = {0};
    struct image_ref ref;
    if (image_ref_parse(refstr, &ref, &err) < 0)
        return fail(&err);
    struct image_platform platform;
    image_platform_default(&platform);
    if (a->platform && image_platform_parse(a->platform, &platform, &err) < 0)
        return fail(&err);
    struct image_auth *auth = NULL;
    if (a->auth_file && image_auth_load(a->auth_file, &auth, &err) < 0)
        return fail(&err);
    a->opts.credentials = auth;
    char blobdir[4096];
    snprintf(blobdir, sizeof blobdir, "%s/blobs", dir);
    struct registry_client *c = NULL;
    struct registry_image img = {0};
    int r = v12n_mkdir_p(blobdir, 0755, &err);
    if (r == 0)
        r = registry_client_new(&a->opts, &c, &err);
    if (r == 0)
        r = registry_resolve(c, &ref, &platform, &img, &err);
    if (r == 0) {
        print_image(&img);
        if (img.index.data != NULL)
            r = save(dir, "index.json", img.index.data, img.index.len, &err);
    }
    if (r == 0)
        r = save(dir, "manifest.json", img.manifest.data, img.manifest.len, &err);
    if (r == 0 && !a->manifest_only)
        r = fetch_all(c, &ref, &img, dir, a, &err);
    registry_image_clear(&img);
    registry_client_free(c);
    image_auth_free(auth);
    return r < 0 ? fail(&err) : 0;
}

static int parse_pull(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"insecure", no_argument, NULL, 'k'},
        {"tls-ca", required_argument, NULL, 'c'},
        {"auth", required_argument, NULL, 'a'},
        {"platform", required_argument, NULL, 'p'},
        {"parallel", required_argument, NULL, 'j'},
        {"tries", required_argument, NULL, 't'},
        {"backoff-ms", required_argument, NULL, 'b'},
        {"retry-after-max", required_argument, NULL, 'r'},
        {"stall", required_argument, NULL, 's'},
        {"connect-timeout", required_argument, NULL, 'T'},
        {"progress", no_argument, NULL, 'P'},
        {"manifest-only", no_argument, NULL, 'm'},
        {"sink", required_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    struct pull_args a = {0};
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'k':
            a.opts.insecure = true;
            break;
        case 'c':
            a.opts.tls_ca_file = optarg;
            break;
        case 'a':
            a.auth_file = optarg;
            break;
        case 'p':
            a.platform = optarg;
            break;
        case 'j':
            a.opts.parallel = (unsigned)atoi(optarg);
            break;
        case 't':
            a.opts.tries = (unsigned)atoi(optarg);
            break;
        case 'b':
            a.opts.backoff_ms = (unsigned)atoi(optarg);
            break;
        case 'r':
            a.opts.retry_after_max_s = (unsigned)atoi(optarg);
            break;
        case 's':
            a.opts.stall_timeout_s = (unsigned)atoi(optarg);
            break;
        case 'T':
            a.opts.connect_timeout_s = (unsigned)atoi(optarg);
            break;
        case 'P':
            a.progress = true;
            break;
        case 'm':
            a.manifest_only = true;
            break;
        case 'S':
            a.callback_sink = strcmp(optarg, "callback") == 0;
            break;
        default:
            return usage();
        }
    }
    if (argc - optind != 2)
        return usage();
    return pull(argv[optind], argv[optind + 1], &a);
}

static int login(int argc, char **argv, bool in)
{
    if (argc != (in ? 6 : 4) || strcmp(argv[1], "--auth") != 0)
        return usage();
    v12n_error err = {0};
    struct image_auth *auth = NULL;
    if (image_auth_load(argv[2], &auth, &err) < 0)
        return fail(&err);
    int r = 0;
    if (in)
        r = image_auth_set(auth, argv[3], argv[4], argv[5], &err);
    else if (!image_auth_remove(auth, argv[3]))
        r = v12n_fail(&err, 0, "not logged in to %s", argv[3]);
    if (r == 0)
        r = image_auth_save(auth, argv[2], &err);
    image_auth_free(auth);
    return r < 0 ? fail(&err) : 0;
}

static int show_ref(const char *s)
{
    v12n_error err = {0};
    struct image_ref ref;
    if (image_ref_parse(s, &ref, &err) < 0)
        return fail(&err);
    char a[IMAGE_REF_STRING_MAX], b[IMAGE_REF_STRING_MAX];
    printf("%s %s %s\n", image_ref_string(&ref, a, sizeof a), image_ref_familiar(&ref, b, sizeof b),
           image_ref_api_host(&ref));
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "pull") == 0)
        return parse_pull(argc - 1, argv + 1);
    if (strcmp(argv[1], "login") == 0)
        return login(argc - 1, argv + 1, true);
    if (strcmp(argv[1], "logout") == 0)
        return login(argc - 1, argv + 1, false);
    if (strcmp(argv[1], "ref") == 0 && argc == 3)
        return show_ref(argv[2]);
    return usage();
}
