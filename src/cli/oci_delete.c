/* `delete [--force] ID`. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

int cli_oci_delete(const struct runtime_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {0}};
    bool force = false;
    int c;
    optind = 0;
    while ((c = getopt_long_only(argc, argv, "f", opts, NULL)) != -1) {
        if (c != 'f')
            return cli_usage_error("delete", "unknown option \"%s\"", argv[optind - 1]);
        force = true;
    }
    const char *id = cli_one_id("delete", argc, argv, optind);
    if (id == NULL)
        return 1;
    v12n_error err = {0};
    return container_delete(ctx, id, force, &err) < 0 ? cli_error(&err) : 0;
}
