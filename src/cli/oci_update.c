/* `update --resources FILE|- ID` (linux.resources JSON), plus runc's
 * per-resource flags for the common cases. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/json.h"

enum { OPT_RESOURCES = 256, OPT_MEMORY, OPT_PIDS, OPT_CPU_SHARES, OPT_CPU_QUOTA, OPT_CPU_PERIOD };

static json_t *load_resources(const char *path, v12n_error *err)
{
    json_error_t jerr;
    json_t *j =
        strcmp(path, "-") == 0 ? json_loadf(stdin, 0, &jerr) : json_load_file(path, 0, &jerr);
    if (j == NULL)
        v12n_fail(err, 0, "update: --resources %s: %s", path, jerr.text);
    return j;
}

static int set_number(json_t *res, const char *group, const char *key, const char *value)
{
    char *end;
    long long v = strtoll(value, &end, 10);
    if (*end != '\0')
        return cli_usage_error("update", "%s.%s: \"%s\" is not a number", group, key, value);
    json_t *g = json_object_get(res, group);
    if (g == NULL) {
        g = json_object();
        json_object_set_new(res, group, g);
    }
    json_object_set_new(g, key, json_integer(v));
    return 0;
}

int cli_oci_update(const struct runtime_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {{"resources", required_argument, NULL, 'r'},
                                         {"memory", required_argument, NULL, OPT_MEMORY},
                                         {"pids-limit", required_argument, NULL, OPT_PIDS},
                                         {"cpu-share", required_argument, NULL, OPT_CPU_SHARES},
                                         {"cpu-quota", required_argument, NULL, OPT_CPU_QUOTA},
                                         {"cpu-period", required_argument, NULL, OPT_CPU_PERIOD},
                                         {0}};
    v12n_error err = {0};
    auto_json json_t *res = json_object();
    json_t *from_file = NULL;
    int c, bad = 0;
    optind = 0;
    while ((c = getopt_long_only(argc, argv, "r:", opts, NULL)) != -1 && !bad) {
        switch (c) {
        case 'r':
            json_decref(from_file);
            if ((from_file = load_resources(optarg, &err)) == NULL)
                return cli_error(&err);
            break;
        case OPT_MEMORY:
            bad = set_number(res, "memory", "limit", optarg);
            break;
        case OPT_PIDS:
            bad = set_number(res, "pids", "limit", optarg);
            break;
        case OPT_CPU_SHARES:
            bad = set_number(res, "cpu", "shares", optarg);
            break;
        case OPT_CPU_QUOTA:
            bad = set_number(res, "cpu", "quota", optarg);
            break;
        case OPT_CPU_PERIOD:
            bad = set_number(res, "cpu", "period", optarg);
            break;
        default:
            bad = cli_usage_error("update", "unknown option \"%s\"", argv[optind - 1]);
        }
    }
    const char *id = bad ? NULL : cli_one_id("update", argc, argv, optind);
    if (id == NULL) {
        json_decref(from_file);
        return 1;
    }
    json_t *use = from_file ? from_file : res;
    int r = container_update(ctx, id, use, &err) < 0 ? cli_error(&err) : 0;
    json_decref(from_file);
    return r;
}
