/* `pause ID` / `resume ID`: the cgroup freezer. */
#include <stdio.h>

#include "cli.h"

int cli_oci_pause(const struct runtime_ctx *ctx, int argc, char **argv)
{
    const char *id = cli_only_id("pause", argc, argv);
    v12n_error err = {0};
    if (id == NULL)
        return 1;
    return container_pause(ctx, id, &err) < 0 ? cli_error(&err) : 0;
}

int cli_oci_resume(const struct runtime_ctx *ctx, int argc, char **argv)
{
    const char *id = cli_only_id("resume", argc, argv);
    v12n_error err = {0};
    if (id == NULL)
        return 1;
    return container_resume(ctx, id, &err) < 0 ? cli_error(&err) : 0;
}
