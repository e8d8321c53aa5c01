/* `ps [--format table|json] ID [ps options]`: the container's processes. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Table output is ps(1)'s, limited to the container's pids, as runc does. */
static int exec_ps(pid_t *pids, size_t n, int argc, char **argv, int first)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += 12;
    char *list = calloc(1, len);
    for (size_t i = 0; i < n; i++)
        sprintf(list + strlen(list), "%s%d", i ? "," : "", (int)pids[i]);
    int nargs = argc - first;
    char **args = calloc((size_t)nargs + 5, sizeof *args);
    int k = 0;
    args[k++] = "ps";
    for (int i = first; i < argc; i++)
        args[k++] = argv[i];
    if (nargs == 0)
        args[k++] = "-ef";
    args[k++] = "-p";
    args[k++] = n > 0 ? list : "0";
    args[k] = NULL;
    fflush(stdout);
    execvp("ps", args);
    perror("v12n: ps: exec ps");
    return 1;
}

int cli_oci_ps(const struct runtime_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {0}};
    const char *format = "table";
    int c;
    optind = 0;
    while ((c = getopt_long_only(argc, argv, "+f:", opts, NULL)) != -1) {
        if (c != 'f')
            return cli_usage_error("ps", "unknown option \"%s\"", argv[optind - 1]);
        format = optarg;
    }
    if (optind >= argc)
        return cli_usage_error("ps", "expects a container id");
    const char *id = argv[optind];
    v12n_error err = {0};
    pid_t *pids = NULL;
    size_t n = 0;
    if (container_pids(ctx, id, &pids, &n, &err) < 0)
        return cli_error(&err);
    int r = 0;
    if (strcmp(format, "json") == 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_integer(pids[i]));
        r = cli_print_json(arr, false);
        json_decref(arr);
    } else if (strcmp(format, "table") == 0) {
        r = exec_ps(pids, n, argc, argv, optind + 1);
    } else {
        r = cli_usage_error("ps", "--format: \"%s\" is neither table nor json", format);
    }
    free(pids);
    return r;
}
