#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "container/spec.h"
#include "util/fs.h"
#include "util/json.h"

/* `spec [--bundle DIR] [--rootless]`: write a default config.json. */
int cli_oci_spec(const struct runtime_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        {"bundle", required_argument, NULL, 'b'}, {"rootless", no_argument, NULL, 'r'}, {0}};
    const char *bundle = ".";
    bool rootless = false;
    int c;
    optind = 0;
    while ((c = getopt_long_only(argc, argv, "b:", opts, NULL)) != -1) {
        if (c == 'b')
            bundle = optarg;
        else if (c == 'r')
            rootless = true;
        else
            return cli_usage_error("spec", "unknown option \"%s\"", argv[optind - 1]);
    }
    (void)ctx;
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", bundle);
    v12n_error err = {0};
    if (access(path, F_OK) == 0) {
        v12n_fail(&err, EEXIST, "spec: %s", path);
        return cli_error(&err);
    }
    auto_json json_t *spec = oci_spec_default(rootless);
    char *text = spec ? json_dumps(spec, JSON_INDENT(2)) : NULL;
    if (text == NULL) {
        v12n_fail(&err, ENOMEM, "spec");
        return cli_error(&err);
    }
    int r = v12n_write_file(path, text, strlen(text), &err);
    free(text);
    return r < 0 ? cli_error(&err) : 0;
}
