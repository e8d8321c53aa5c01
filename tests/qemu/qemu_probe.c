/* qemu_probe: the QEMU library from the command line, for pytest.
 *
 *   qemu_probe argv CONFIG.json        print the argv (JSON array) for a VM config
 *   qemu_probe qmp SOCKET STEP...      STEP: CMD, CMD=JSON-ARGS, event:NAME
 *                                      prints one JSON line per step
 *   qemu_probe img create PATH FMT SIZE [BACKING BACKING-FMT]
 *   qemu_probe img info|snapshots PATH
 *   qemu_probe img resize PATH SIZE
 *   qemu_probe img snapshot PATH create|apply|delete NAME
 * Errors: one line "qemu_probe: MESSAGE" on stderr and exit 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu/cmdline.h"
#include "qemu/img.h"
#include "qemu/qmp.h"
#include "qemu/size.h"
#include "util/json.h"

#define TIMEOUT_MS 60000

static int failed(const v12n_error *err)
{
    char buf[1200];
    fprintf(stderr, "qemu_probe: %s\n", v12n_error_text(err, buf, sizeof buf));
    return 1;
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int pick(const char *v, const char *const *names, int n, int dflt)
{
    for (int i = 0; v != NULL && i < n; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    return dflt;
}

static int config_from_json(json_t *j, struct qemu_vm_config *c, v12n_error *err)
{
    static const char *machines[] = {"q35", "microvm"}, *accels[] = {"tcg", "kvm"},
                      *nets[] = {"none", "user", "tap"}, *serials[] = {"none", "file", "socket"};
    c->name = str(j, "name");
    c->binary = str(j, "binary");
    c->machine = pick(str(j, "machine"), machines, 2, 0);
    c->accel = pick(str(j, "accel"), accels, 2, 0);
    c->cpu = str(j, "cpu");
    c->cpus = (unsigned)json_integer_value(json_object_get(j, "cpus"));
    uint64_t mem = 0;
    if (str(j, "memory") && qemu_parse_size(str(j, "memory"), &mem, "memory", err) < 0)
        return -1;
    c->memory_mib = mem >> 20;
    json_t *drives = json_object_get(j, "drives");
    for (size_t i = 0; i < json_array_size(drives) && i < QEMU_MAX_DRIVES; i++) {
        json_t *d = json_array_get(drives, i);
        c->drives[i] = (struct qemu_drive){str(d, "path"), str(d, "format"),
                                           json_is_true(json_object_get(d, "readonly"))};
        c->n_drives++;
    }
    c->cdrom = str(j, "cdrom");
    c->kernel = str(j, "kernel");
    c->initrd = str(j, "initrd");
    c->append = str(j, "append");
    c->net = pick(str(j, "net"), nets, 3, 0);
    c->tap = str(j, "tap");
    c->mac = str(j, "mac");
    c->serial = pick(str(j, "serial"), serials, 3, 0);
    c->serial_path = str(j, "serial_path");
    json_t *vnc = json_object_get(j, "vnc");
    c->display = vnc != NULL ? QEMU_DISPLAY_VNC : QEMU_DISPLAY_NONE;
    c->vnc_display = (unsigned)json_integer_value(vnc);
    c->qmp_socket = str(j, "qmp");
    c->pidfile = str(j, "pidfile");
    c->daemonize = json_is_true(json_object_get(j, "daemonize"));
    c->no_shutdown = json_is_true(json_object_get(j, "no_shutdown"));
    return 0;
}

static int cmd_argv(const char *path)
{
    v12n_error err = {0};
    auto_json json_t *j = v12n_json_load(path, &err);
    if (j == NULL)
        return failed(&err);
    struct qemu_vm_config c = {0};
    char **argv = NULL;
    if (config_from_json(j, &c, &err) < 0 || qemu_build_argv(&c, &argv, &err) < 0)
        return failed(&err);
    json_t *arr = json_array();
    for (size_t i = 0; argv[i] != NULL; i++)
        json_array_append_new(arr, json_string(argv[i]));
    char *text = json_dumps(arr, JSON_COMPACT);
    puts(text);
    free(text);
    json_decref(arr);
    v12n_strv_free(argv);
    return 0;
}

static void print_line(const char *key, json_t *value)
{
    json_t *o = json_pack("{s:o}", key, value ? value : json_null());
    char *text = json_dumps(o, JSON_COMPACT);
    puts(text);
    fflush(stdout);
    free(text);
    json_decref(o);
}

static int qmp_step(struct qmp_client *c, char *step, v12n_error *err)
{
    json_t *out = NULL;
    if (strncmp(step, "event:", 6) == 0) {
        if (qmp_wait_event(c, step + 6, &out, TIMEOUT_MS, err) < 0)
            return -1;
        print_line("event", out);
        return 0;
    }
    json_t *args = NULL;
    char *eq = strchr(step, '=');
    if (eq != NULL) {
        *eq = '\0';
        json_error_t jerr;
        args = json_loads(eq + 1, 0, &jerr);
        if (args == NULL)
            return v12n_fail(err, 0, "%s: arguments are not JSON", step);
    }
    if (qmp_execute(c, step, args, &out, TIMEOUT_MS, err) < 0)
        return -1;
    print_line("return", out);
    return 0;
}

static int cmd_qmp(const char *sock, int n, char **steps)
{
    v12n_error err = {0};
    struct qmp_client *c = NULL;
    if (qmp_connect(sock, TIMEOUT_MS, &c, &err) < 0)
        return failed(&err);
    print_line("version", json_string(qmp_qemu_version(c)));
    int r = 0;
    for (int i = 0; i < n && r == 0; i++)
        if (qmp_step(c, steps[i], &err) < 0)
            r = failed(&err);
    qmp_close(c);
    return r;
}

static int img_create(int argc, char **argv, v12n_error *err)
{
    if (argc != 3 && argc != 5)
        return v12n_fail(err, 0, "img create PATH FMT SIZE [BACKING BACKING-FMT]");
    struct qemu_img_create o = {.format = argv[1]};
    if (strcmp(argv[2], "0") != 0 && qemu_parse_size(argv[2], &o.size, "size", err) < 0)
        return -1;
    if (argc == 5) {
        o.backing = argv[3];
        o.backing_format = argv[4];
    }
    return qemu_img_create(argv[0], &o, err);
}

static int img_snapshot(int argc, char **argv, v12n_error *err)
{
    static const char *ops[] = {"create", "apply", "delete"};
    if (argc != 3 || pick(argv[1], ops, 3, -1) < 0)
        return v12n_fail(err, 0, "img snapshot PATH create|apply|delete NAME");
    return qemu_img_snapshot(argv[0], pick(argv[1], ops, 3, 0), argv[2], err);
}

static int img_print(const char *verb, const char *path, v12n_error *err)
{
    json_t *out;
    if (strcmp(verb, "info") == 0) {
        out = qemu_img_info(path, err);
        if (out == NULL)
            return -1;
    } else {
        char **names = NULL;
        if (qemu_img_snapshot_list(path, &names, err) < 0)
            return -1;
        out = json_array();
        for (size_t i = 0; names[i] != NULL; i++)
            json_array_append_new(out, json_string(names[i]));
        v12n_strv_free(names);
    }
    char *text = json_dumps(out, JSON_COMPACT);
    puts(text);
    free(text);
    json_decref(out);
    return 0;
}

static int cmd_img(int argc, char **argv)
{
    v12n_error err = {0};
    int r;
    if (argc < 2) {
        r = v12n_fail(&err, 0, "img VERB PATH ...");
    } else if (strcmp(argv[0], "create") == 0) {
        r = img_create(argc - 1, argv + 1, &err);
    } else if (strcmp(argv[0], "snapshot") == 0) {
        r = img_snapshot(argc - 1, argv + 1, &err);
    } else if (strcmp(argv[0], "resize") == 0 && argc == 3) {
        uint64_t size;
        r = qemu_parse_size(argv[2], &size, "size", &err);
        if (r == 0)
            r = qemu_img_resize(argv[1], size, false, &err);
    } else if (strcmp(argv[0], "info") == 0 || strcmp(argv[0], "snapshots") == 0) {
        r = img_print(argv[0], argv[1], &err);
    } else {
        r = v12n_fail(&err, 0, "img %s: unknown verb", argv[0]);
    }
    return r < 0 ? failed(&err) : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "argv") == 0)
        return cmd_argv(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "qmp") == 0)
        return cmd_qmp(argv[2], argc - 3, argv + 3);
    if (argc >= 2 && strcmp(argv[1], "img") == 0)
        return cmd_img(argc - 2, argv + 2);
    fprintf(stderr, "usage: qemu_probe argv CONFIG | qmp SOCKET STEP... | img VERB ...\n");
    return 2;
}
