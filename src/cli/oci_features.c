/* `features`: the runtime-spec features document. */
#include <stdio.h>

#include "cli.h"

int cli_oci_features(const struct runtime_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    if (argc > 1)
        return cli_usage_error("features", "takes no arguments");
    json_t *f = container_features();
    int r = cli_print_json(f, true);
    json_decref(f);
    return r;
}
