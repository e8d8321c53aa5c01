/* `create` and `run`: they take the same flags. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
    OPT_PID_FILE = 256,
    OPT_CONSOLE,
    OPT_NO_PIVOT,
    OPT_NO_KEYRING,
    OPT_PRESERVE,
    OPT_KEEP,
    OPT_NO_SUBREAPER
};

static int parse_create_flags(const char *command, int argc, char **argv, struct create_opts *o)
{
    static const struct option opts[] = {
        {"bundle", required_argument, NULL, 'b'},
        {"pid-file", required_argument, NULL, OPT_PID_FILE},
        {"console-socket", required_argument, NULL, OPT_CONSOLE},
        {"no-pivot", no_argument, NULL, OPT_NO_PIVOT},
        {"no-new-keyring", no_argument, NULL, OPT_NO_KEYRING},
        {"preserve-fds", required_argument, NULL, OPT_PRESERVE},
        {"detach", no_argument, NULL, 'd'},
        {"keep", no_argument, NULL, OPT_KEEP},
        {"no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER},
        {0},
    };
    int c;
    optind = 0;
    while ((c = getopt_long_only(argc, argv, "b:d", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            o->bundle = optarg;
            break;
        case OPT_PID_FILE:
            o->pid_file = optarg;
            break;
        case OPT_CONSOLE:
            o->console_socket = optarg;
            break;
        case OPT_NO_PIVOT:
            o->no_pivot = true;
            break;
        case OPT_NO_KEYRING:
            o->no_new_keyring = true;
            break;
        case OPT_PRESERVE: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end != '\0' || n < 0 || n > 1000)
                return cli_usage_error(command, "--preserve-fds: \"%s\" is not a count", optarg);
            o->preserve_fds = (int)n;
            break;
        }
        case 'd':
            o->detach = true;
            break;
        case OPT_KEEP:
            o->keep = true;
            break;
        case OPT_NO_SUBREAPER:
            break; /* we only become a subreaper while we wait, as runc */
        default:
            return cli_usage_error(command, "unknown option \"%s\"", argv[optind - 1]);
        }
    }
    o->id = cli_one_id(command, argc, argv, optind);
    return o->id == NULL ? 1 : 0;
}

int cli_oci_create(const struct runtime_ctx *ctx, int argc, char **argv)
{
    struct create_opts o = {0};
    if (parse_create_flags("create", argc, argv, &o) != 0)
        return 1;
    v12n_error err = {0};
    return container_create(ctx, &o, &err) < 0 ? cli_error(&err) : 0;
}

int cli_oci_run(const struct runtime_ctx *ctx, int argc, char **argv)
{
    struct create_opts o = {0};
    if (parse_create_flags("run", argc, argv, &o) != 0)
        return 1;
    v12n_error err = {0};
    int code = 0;
    if (container_run(ctx, &o, &code, &err) < 0)
        return cli_error(&err);
    return code;
}
