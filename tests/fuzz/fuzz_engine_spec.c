/* An image config comes from a registry: converting any bytes into a
 * config.json must fail cleanly or succeed, never crash, leak or hang.  The
 * rootfs holds a fixed passwd/group so that named users are looked up. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/bundle.h"
#include "util/fs.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char rootfs[64] = "/tmp/v12n-fuzz-engineXXXXXX";

static void cleanup(void)
{
    v12n_error err;
    v12n_rm_rf(rootfs, &err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    if (mkdtemp(rootfs) == NULL)
        abort();
    atexit(cleanup);
    char path[128];
    v12n_error err;
    snprintf(path, sizeof path, "%s/etc", rootfs);
    if (v12n_mkdir_p(path, 0755, &err) < 0)
        abort();
    static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:\n";
    static const char group[] = "root:x:0:\nwheel:x:10:app\nstaff:x:50:\n";
    snprintf(path, sizeof path, "%s/etc/passwd", rootfs);
    if (v12n_write_file(path, passwd, sizeof passwd - 1, &err) < 0)
        abort();
    snprintf(path, sizeof path, "%s/etc/group", rootfs);
    if (v12n_write_file(path, group, sizeof group - 1, &err) < 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *image = json_loadb((const char *)data, size, 0, &jerr);
    if (image == NULL)
        return 0;
    struct engine_run_opts opts;
    engine_run_opts_init(&opts);
    /* read_only: image Volumes become mounts, the longer path. */
    opts.read_only = size % 2 == 0;
    struct engine_bundle_paths paths = {.rootfs = rootfs, .etc_dir = "/run/etc"};
    json_t *config = NULL;
    v12n_error err = {0};
    if (engine_spec_build(image, &opts, &paths, &config, &err) == 0) {
        (void)engine_spec_stop_signal(config);
        char *text = json_dumps(config, 0);
        if (text == NULL)
            abort(); /* what we built must serialize */
        free(text);
        json_decref(config);
    }
    json_decref(image);
    return 0;
}
