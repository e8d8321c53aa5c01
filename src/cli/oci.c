/* `v12n oci [GLOBAL FLAGS] COMMAND ...`: runc's command line. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_log.h"

static const struct {
    const char *name;
    oci_command_fn fn;
    const char *help;
} commands[] = {
    {"spec", cli_oci_spec, "write a new config.json"},
    {"create", cli_oci_create, "create a container"},
    {"start", cli_oci_start, "run the user process of a created container"},
    {"run", cli_oci_run, "create and start a container"},
    {"state", cli_oci_state, "print a container's state as JSON"},
    {"kill", cli_oci_kill, "send a signal to a container"},
    {"delete", cli_oci_delete, "delete a container"},
    {"exec", cli_oci_exec, "run a new process in a container"},
    {"list", cli_oci_list, "list containers"},
    {"ps", cli_oci_ps, "list a container's processes"},
    {"pause", cli_oci_pause, "freeze every process of a container"},
    {"resume", cli_oci_resume, "thaw a paused container"},
    {"update", cli_oci_update, "change a container's resource limits"},
    {"features", cli_oci_features, "print what this runtime supports as JSON"},
};

static int oci_usage(FILE *out)
{
    fprintf(out, "usage: v12n oci [--root DIR] [--log FILE] [--log-format text|json] [--debug]\n"
                 "                [--cgroup-manager cgroupfs|disabled] COMMAND [ARGS...]\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
    return out == stdout ? 0 : 1;
}

enum { OPT_ROOT = 256, OPT_LOG, OPT_LOG_FORMAT, OPT_SYSTEMD, OPT_CGMGR, OPT_CRIU, OPT_ROOTLESS };

static int parse_cgroup_manager(const char *s, struct runtime_ctx *ctx)
{
    if (strcmp(s, "cgroupfs") == 0)
        ctx->cgroup_manager = CGROUP_MANAGER_CGROUPFS;
    else if (strcmp(s, "disabled") == 0)
        ctx->cgroup_manager = CGROUP_MANAGER_DISABLED;
    else if (strcmp(s, "systemd") == 0)
        ctx->systemd_cgroup = true;
    else
        return cli_usage_error("--cgroup-manager", "\"%s\" is not cgroupfs or disabled", s);
    return 0;
}

int cli_oci_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"root", required_argument, NULL, OPT_ROOT},
        {"log", required_argument, NULL, OPT_LOG},
        {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
        {"debug", no_argument, NULL, 'd'},
        {"systemd-cgroup", no_argument, NULL, OPT_SYSTEMD},
        {"cgroup-manager", required_argument, NULL, OPT_CGMGR},
        {"criu", required_argument, NULL, OPT_CRIU},
        {"rootless", required_argument, NULL, OPT_ROOTLESS},
        {"version", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct runtime_ctx ctx = {.state_root = RUNTIME_DEFAULT_STATE_ROOT,
                              .cgroup_root = "/sys/fs/cgroup",
                              .cgroup_manager = CGROUP_MANAGER_CGROUPFS,
                              .warn = cli_warn};
    const char *log_path = NULL, *log_format = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long_only(argc, argv, "+dvh", opts, NULL)) != -1) {
        switch (c) {
        case OPT_ROOT:
            ctx.state_root = optarg;
            break;
        case OPT_LOG:
            log_path = optarg;
            break;
        case OPT_LOG_FORMAT:
            log_format = optarg;
            break;
        case 'd':
            ctx.debug = true;
            break;
        case OPT_SYSTEMD:
            ctx.systemd_cgroup = true;
            break;
        case OPT_CGMGR:
            if (parse_cgroup_manager(optarg, &ctx) != 0)
                return 1;
            break;
        case OPT_CRIU:
        case OPT_ROOTLESS:
            break; /* accepted for compatibility; checkpointing is not offered */
        case 'v':
            printf("v12n-runc version %s\nspec: 1.2.0\n", V12N_VERSION);
            return 0;
        case 'h':
            return oci_usage(stdout);
        default:
            return cli_usage_error("oci", "unknown option \"%s\"", argv[optind - 1]);
        }
    }
    v12n_error err = {0};
    if (cli_log_open(log_path, log_format, &err) < 0)
        return cli_error(&err);
    if (optind >= argc)
        return oci_usage(stderr);
    const char *name = argv[optind];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].fn(&ctx, argc - optind, argv + optind);
    return cli_usage_error("oci", "unknown command \"%s\"", name);
}
