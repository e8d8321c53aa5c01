/* Layers come from any registry: unpacking any bytes (a tar stream, plain,
 * gzip or zstd) must fail cleanly or succeed, never crash or leak, and never
 * write outside the layer's directory.  After each input the sandbox around
 * the layer and a canary directory are checked, and the layer removed.
 *
 *   /tmp/fuzz_unpack.XXXXXX/in/layer      the unpack target
 *   /tmp/v12n-fuzz-unpack-canary/         must stay empty (absolute and
 *                                         ../../../ escapes aim here, see the
 *                                         dictionary)
 */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/unpack.h"

#define CANARY "/tmp/v12n-fuzz-unpack-canary"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char sandbox[64];
static int infd = -1;

struct memsrc {
    const uint8_t *data;
    size_t len, pos;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len, v12n_error *err)
{
    (void)err;
    struct memsrc *m = ctx;
    size_t n = m->len - m->pos;
    if (n > len)
        n = len;
    /* small pieces: exercises the filters' refills */
    if (n > 4096)
        n = 4096;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

static void remove_sandbox(void)
{
    char in[96];
    snprintf(in, sizeof in, "%s/in", sandbox);
    rmdir(in);
    rmdir(sandbox);
}

static void setup(void)
{
    snprintf(sandbox, sizeof sandbox, "/tmp/fuzz_unpack.XXXXXX");
    char in[96];
    if (mkdtemp(sandbox) == NULL || snprintf(in, sizeof in, "%s/in", sandbox) < 0 ||
        mkdir(in, 0755) < 0 || (infd = open(in, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        perror("fuzz_unpack: sandbox");
        abort();
    }
    mkdir(CANARY, 0755);
    atexit(remove_sandbox);
}

/* Exactly the names expected in dir, or abort: something escaped. */
static void expect_only(const char *dir, const char *name)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        perror(dir);
        abort();
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (name == NULL || strcmp(de->d_name, name) != 0) {
            fprintf(stderr, "fuzz_unpack: %s/%s written outside the layer\n", dir, de->d_name);
            abort();
        }
    }
    closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (infd < 0)
        setup();
    if (mkdirat(infd, "layer", 0755) < 0)
        abort();
    int layer = openat(infd, "layer", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (layer < 0)
        abort();

    struct memsrc m = {.data = data, .len = size};
    struct unpack_source src = {.read = mem_read, .ctx = &m};
    struct unpack_opts opts = {.max_bytes = 1u << 20, .max_entries = 256};
    v12n_error err = {0};
    (void)unpack_layer(layer, &src, &opts, NULL, &err);
    close(layer);

    char in[96];
    snprintf(in, sizeof in, "%s/in", sandbox);
    expect_only(sandbox, "in");
    expect_only(in, "layer");
    expect_only(CANARY, NULL);
    if (unpack_remove_tree(infd, "layer", &err) < 0) {
        fprintf(stderr, "fuzz_unpack: %s\n", err.msg);
        abort();
    }
    return 0;
}
