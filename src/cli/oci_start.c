/* `start ID`: run the user process of a created container. */
#include <stdio.h>

#include "cli.h"

int cli_oci_start(const struct runtime_ctx *ctx, int argc, char **argv)
{
    const char *id = cli_only_id("start", argc, argv);
    v12n_error err = {0};
    if (id == NULL)
        return 1;
    return container_start(ctx, id, &err) < 0 ? cli_error(&err) : 0;
}
