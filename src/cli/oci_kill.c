/* `kill [--all] ID [SIGNAL]`: SIGTERM by default, by name or number. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include "cli.h"

int cli_oci_kill(const struct runtime_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {0}};
    bool all = false;
    int c;
    optind = 0;
    while ((c = getopt_long_only(argc, argv, "a", opts, NULL)) != -1) {
        if (c != 'a')
            return cli_usage_error("kill", "unknown option \"%s\"", argv[optind - 1]);
        all = true;
    }
    int left = argc - optind;
    if (left < 1 || left > 2)
        return cli_usage_error("kill", "expects a container id and an optional signal");
    const char *id = argv[optind];
    int sig = SIGTERM;
    if (left == 2 && (sig = container_parse_signal(argv[optind + 1])) < 0)
        return cli_usage_error("kill", "unknown signal \"%s\"", argv[optind + 1]);
    v12n_error err = {0};
    return container_kill(ctx, id, sig, all, &err) < 0 ? cli_error(&err) : 0;
}
