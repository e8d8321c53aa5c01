/* `list [--format table|json] [--quiet]`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void print_table(json_t *list)
{
    printf("%-20s %-8s %-10s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
           "OWNER");
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        printf("%-20s %-8lld %-10s %-40s %-31s %s\n", json_string_value(json_object_get(c, "id")),
               (long long)json_integer_value(json_object_get(c, "pid")),
               json_string_value(json_object_get(c, "status")),
               json_string_value(json_object_get(c, "bundle")),
               json_string_value(json_object_get(c, "created")), "root");
    }
}

int cli_oci_list(const struct runtime_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'}, {"quiet", no_argument, NULL, 'q'}, {0}};
    const char *format = "table";
    bool quiet = false;
    int c;
    optind = 0;
    while ((c = getopt_long_only(argc, argv, "f:q", opts, NULL)) != -1) {
        if (c == 'f')
            format = optarg;
        else if (c == 'q')
            quiet = true;
        else
            return cli_usage_error("list", "unknown option \"%s\"", argv[optind - 1]);
    }
    if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
        return cli_usage_error("list", "--format: \"%s\" is neither table nor json", format);
    v12n_error err = {0};
    json_t *list = NULL;
    if (container_list(ctx, &list, &err) < 0)
        return cli_error(&err);
    if (quiet) {
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item) puts(json_string_value(json_object_get(item, "id")));
    } else if (strcmp(format, "json") == 0) {
        cli_print_json(list, false);
    } else {
        print_table(list);
    }
    json_decref(list);
    return 0;
}
