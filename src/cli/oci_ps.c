/* `ps [--format table|json] ID [ps options]`: the container's processes. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static bool pid_in(pid_t pid, const pid_t *pids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (pids[i] == pid)
            return true;
    return false;
}

/* Which whitespace-separated column of ps's header is PID. */
static int pid_column(const char *header)
{
    int col = 0;
    for (const char *p = header; *p != '\0';) {
        p += strspn(p, " \t");
        size_t len = strcspn(p, " \t\n");
        if (len == 3 && strncmp(p, "PID", 3) == 0)
            return col;
        p += len;
        col++;
    }
    return -1;
}

static pid_t field_as_pid(const char *line, int col)
{
    const char *p = line;
    for (int i = 0; i <= col; i++) {
        p += strspn(p, " \t");
        if (i == col)
            return (pid_t)strtol(p, NULL, 10);
        p += strcspn(p, " \t");
    }
    return -1;
}

/* Table output is ps(1)'s with the caller's options (default -ef), keeping
 * the header and the container's processes, as runc does. */
static int print_ps_table(const pid_t *pids, size_t n, int argc, char **argv, int first)
{
    char cmd[4096] = "ps";
    size_t used = strlen(cmd);
    if (first >= argc)
        used += (size_t)snprintf(cmd + used, sizeof cmd - used, " -ef");
    for (int i = first; i < argc && used < sizeof cmd; i++) {
        if (strspn(argv[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-=,") !=
            strlen(argv[i]))
            return cli_usage_error("ps", "unsupported ps option \"%s\"", argv[i]);
        used += (size_t)snprintf(cmd + used, sizeof cmd - used, " %s", argv[i]);
    }
    FILE *ps = popen(cmd, "r");
    if (ps == NULL)
        return cli_usage_error("ps", "cannot run ps(1)");
    char line[8192];
    int col = -1;
    while (fgets(line, sizeof line, ps) != NULL) {
        if (col < 0) {
            if ((col = pid_column(line)) < 0) {
                pclose(ps);
                return cli_usage_error("ps", "ps(1) output has no PID column");
            }
            fputs(line, stdout);
        } else if (pid_in(field_as_pid(line, col), pids, n)) {
            fputs(line, stdout);
        }
    }
    return pclose(ps) == 0 ? 0 : 1;
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
        r = print_ps_table(pids, n, argc, argv, optind + 1);
    } else {
        r = cli_usage_error("ps", "--format: \"%s\" is neither table nor json", format);
    }
    free(pids);
    return r;
}
