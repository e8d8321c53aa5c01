/* `state ID`: the runtime-spec state as JSON. */
#include <stdio.h>

#include "cli.h"

int cli_oci_state(const struct runtime_ctx *ctx, int argc, char **argv)
{
    const char *id = cli_only_id("state", argc, argv);
    v12n_error err = {0};
    json_t *state = NULL;
    if (id == NULL)
        return 1;
    if (container_state(ctx, id, &state, &err) < 0)
        return cli_error(&err);
    int r = cli_print_json(state, true);
    json_decref(state);
    return r;
}
