/* `v12n list [--all] [--format json]`: containers and VMs in one table, like
 * `virsh list --all`.  Without --all only what runs (running or paused). */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_engine.h"
#include "cli_vm_manage.h"
#include "engine/vm.h"
#include "engine/vm_store.h"
#include "util/json.h"

struct list_row {
    char id[16];
    char name[128];
    const char *kind; /* "container" or "vm" */
    char state[24];
    char image[128];
    time_t started; /* 0 when not running */
};

struct list_rows {
    struct list_row *v;
    size_t n;
};

static struct list_row *row_add(struct list_rows *rows)
{
    struct list_row *v = realloc(rows->v, (rows->n + 1) * sizeof *v);
    if (v == NULL)
        return NULL;
    rows->v = v;
    memset(&v[rows->n], 0, sizeof v[rows->n]);
    return &v[rows->n++];
}

/* What the VM boots, as a short name. */
static void vm_image(const struct vm_def *def, char *out, size_t len)
{
    const char *path = def->boot == VM_BOOT_KERNEL  ? def->kernel
                       : def->boot == VM_BOOT_CDROM ? def->cdrom
                       : def->n_disks > 0           ? def->disks[0].path
                                                    : NULL;
    if (path == NULL) {
        snprintf(out, len, "-");
        return;
    }
    const char *slash = strrchr(path, '/');
    snprintf(out, len, "%s", slash ? slash + 1 : path);
}

static int add_vms(struct list_rows *rows, v12n_error *err)
{
    char **names = NULL;
    if (vm_store_list(cli_vm_root(), &names, err) < 0)
        return -1;
    int r = 0;
    for (char **n = names; r == 0 && *n != NULL; n++) {
        struct vm_def def;
        struct vm_status st = {0};
        struct list_row *row = row_add(rows);
        if (row == NULL) {
            r = v12n_fail(err, ENOMEM, "list");
            break;
        }
        snprintf(row->name, sizeof row->name, "%s", *n);
        row->kind = "vm";
        snprintf(row->id, sizeof row->id, "-");
        v12n_error one = {0};
        if (vm_store_load(cli_vm_root(), *n, &def, &one) < 0) {
            snprintf(row->state, sizeof row->state, "broken");
            continue;
        }
        if (vm_status_get(&def, &st, &one) == 0) {
            snprintf(row->state, sizeof row->state, "%s", vm_state_name(st.state));
            if (st.pid != 0)
                snprintf(row->id, sizeof row->id, "%d", (int)st.pid);
            row->started = st.started;
        } else {
            snprintf(row->state, sizeof row->state, "unknown");
        }
        vm_image(&def, row->image, sizeof row->image);
        vm_def_free(&def);
    }
    v12n_strv_free(names);
    return r;
}

/* RFC 3339 ("2026-11-26T23:20:01.123Z") to time_t, 0 when unset or odd. */
static time_t parse_time(const char *s)
{
    struct tm tm = {0};
    if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
        return 0;
    return timegm(&tm);
}

static int add_containers(struct list_rows *rows, v12n_error *err)
{
    struct engine e;
    struct engine_container *cs = NULL;
    size_t n = 0;
    if (cli_engine_open(&e, err) < 0 || engine_record_list(&e, &cs, &n, err) < 0)
        return -1;
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        struct list_row *row = row_add(rows);
        if (row == NULL) {
            r = v12n_fail(err, ENOMEM, "list");
            break;
        }
        snprintf(row->id, sizeof row->id, "%.12s", cs[i].id);
        snprintf(row->name, sizeof row->name, "%s", cs[i].name ? cs[i].name : "");
        row->kind = "container";
        snprintf(row->state, sizeof row->state, "%s",
                 cs[i].state == ENGINE_RUNNING  ? "running"
                 : cs[i].state == ENGINE_EXITED ? "exited"
                                                : "created");
        snprintf(row->image, sizeof row->image, "%s", cs[i].image ? cs[i].image : "-");
        if (cs[i].state == ENGINE_RUNNING)
            row->started = parse_time(cs[i].started);
    }
    engine_records_free(cs, n);
    return r;
}

static bool is_live(const struct list_row *r)
{
    return strcmp(r->state, "running") == 0 || strcmp(r->state, "paused") == 0 ||
           strcmp(r->state, "shutting down") == 0;
}

static void uptime(time_t started, char *out, size_t len)
{
    if (started == 0) {
        snprintf(out, len, "-");
        return;
    }
    long s = (long)(time(NULL) - started);
    if (s < 0)
        s = 0;
    if (s < 60)
        snprintf(out, len, "%lds", s);
    else if (s < 3600)
        snprintf(out, len, "%ldm%02lds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(out, len, "%ldh%02ldm", s / 3600, s / 60 % 60);
    else
        snprintf(out, len, "%ldd%02ldh", s / 86400, s / 3600 % 24);
}

static int print_json(const struct list_rows *rows, bool all)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < rows->n; i++) {
        const struct list_row *r = &rows->v[i];
        if (!all && !is_live(r))
            continue;
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", r->id, "name", r->name, "kind",
                              r->kind, "state", r->state, "image", r->image);
        if (o != NULL && r->started != 0) {
            json_object_set_new(o, "started", json_integer((json_int_t)r->started));
            json_object_set_new(o, "uptime_seconds",
                                json_integer((json_int_t)(time(NULL) - r->started)));
        }
        json_array_append_new(a, o);
    }
    int rc = a ? cli_print_json(a, true) : 1;
    json_decref(a);
    return rc;
}

static void print_table(const struct list_rows *rows, bool all)
{
    printf("%-12s %-24s %-10s %-14s %-24s %s\n", "ID", "NAME", "KIND", "STATE", "IMAGE/OS",
           "UPTIME");
    for (size_t i = 0; i < rows->n; i++) {
        const struct list_row *r = &rows->v[i];
        if (!all && !is_live(r))
            continue;
        char up[32];
        uptime(r->started, up, sizeof up);
        printf("%-12s %-24s %-10s %-14s %-24s %s\n", r->id, r->name, r->kind, r->state, r->image,
               up);
    }
}

int cli_list(int argc, char **argv)
{
    enum { OPT_FORMAT = 0x3000, OPT_KIND };
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"kind", required_argument, NULL, OPT_KIND},
        {0},
    };
    bool all = false, json = false, vms = true, containers = true;
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "a", opts, NULL)) != -1) {
        if (opt == 'a') {
            all = true;
        } else if (opt == OPT_FORMAT &&
                   (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0)) {
            json = strcmp(optarg, "json") == 0;
        } else if (opt == OPT_KIND &&
                   (strcmp(optarg, "vm") == 0 || strcmp(optarg, "container") == 0)) {
            vms = strcmp(optarg, "vm") == 0;
            containers = !vms;
        } else {
            return cli_usage_error("list", "usage: list [--all] [--format table|json]");
        }
    }
    if (optind != argc)
        return cli_usage_error("list", "takes no arguments");
    struct list_rows rows = {0};
    v12n_error err = {0};
    int r = containers ? add_containers(&rows, &err) : 0;
    if (r == 0 && vms)
        r = add_vms(&rows, &err);
    if (r == 0) {
        if (json)
            r = print_json(&rows, all);
        else
            print_table(&rows, all);
    }
    free(rows.v);
    return r < 0 ? cli_error(&err) : r;
}
