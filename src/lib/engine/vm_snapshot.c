/* VM snapshots: qemu-img offline, savevm/loadvm/delvm online. */
#include "engine/vm_snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/vm.h"
#include "qemu/img.h"
#include "qemu/qmp.h"
#include "util/cleanup.h"
#include "util/json.h"

#define HMP_TIMEOUT_MS 120000 /* savevm writes the guest's memory */

static int check_disks(const struct vm_def *def, v12n_error *err)
{
    if (def->n_disks == 0)
        return v12n_fail(err, 0, "vm %s: no disk to hold snapshots", def->name);
    for (int i = 0; i < def->n_disks; i++) {
        if (strcmp(def->disks[i].format, "qcow2") != 0)
            return v12n_fail(err, 0, "vm %s: disk %s is %s: snapshots need qcow2", def->name,
                             def->disks[i].path, def->disks[i].format);
    }
    return 0;
}

static int offline(const struct vm_def *def, enum vm_snapshot_op op, const char *snap,
                   v12n_error *err)
{
    enum qemu_snapshot_op q = op == VM_SNAPSHOT_CREATE   ? QEMU_SNAPSHOT_CREATE
                              : op == VM_SNAPSHOT_REVERT ? QEMU_SNAPSHOT_APPLY
                                                         : QEMU_SNAPSHOT_DELETE;
    for (int i = 0; i < def->n_disks; i++) {
        if (qemu_img_snapshot(def->disks[i].path, q, snap, err) < 0)
            return v12n_error_wrap(err, "vm %s: snapshot %s", def->name, snap);
    }
    return 0;
}

/* HMP answers in text: savevm & co. print nothing on success. */
static int hmp(const struct vm_def *def, const char *line, v12n_error *err)
{
    struct qmp_client *c = NULL;
    auto_free char *sock = vm_run_path(def->name, "qmp.sock");
    if (sock == NULL)
        return v12n_fail(err, ENOMEM, "vm %s", def->name);
    if (qmp_connect(sock, 5000, &c, err) < 0)
        return v12n_error_wrap(err, "vm %s", def->name);
    json_t *ret = NULL;
    int r = qmp_execute(c, "human-monitor-command", json_pack("{s:s}", "command-line", line), &ret,
                        HMP_TIMEOUT_MS, err);
    qmp_close(c);
    if (r < 0)
        return v12n_error_wrap(err, "vm %s", def->name);
    const char *out = json_string_value(ret);
    if (out != NULL && out[0] != '\0') {
        size_t n = strcspn(out, "\r\n");
        r = v12n_fail(err, 0, "vm %s: %s: %.*s", def->name, line, (int)n, out);
    }
    json_decref(ret);
    return r;
}

static int valid_snapshot_name(const struct vm_def *def, const char *snap, v12n_error *err)
{
    /* it goes into an HMP command line: the VM name rules keep it one word */
    v12n_error ignored = {0};
    if (snap == NULL || vm_name_check(snap, &ignored) < 0)
        return v12n_fail(err, 0,
                         "vm %s: snapshot \"%s\": a name is letters, digits, '_', '.' and '-'",
                         def->name, snap ? snap : "");
    return 0;
}

int vm_snapshot(const struct vm_def *def, enum vm_snapshot_op op, const char *snap, v12n_error *err)
{
    if (valid_snapshot_name(def, snap, err) < 0 || check_disks(def, err) < 0)
        return -1;
    struct vm_status st;
    if (vm_status_get(def, &st, err) < 0)
        return -1;
    if (st.pid == 0)
        return offline(def, op, snap, err);
    static const char *const verbs[] = {"savevm", "loadvm", "delvm"};
    char line[128];
    snprintf(line, sizeof line, "%s %s", verbs[op], snap);
    return hmp(def, line, err);
}

/* A running VM's disk is locked against qemu-img: ask QEMU. */
static int online_list(const struct vm_def *def, char ***names, v12n_error *err)
{
    struct qmp_client *c = NULL;
    auto_free char *sock = vm_run_path(def->name, "qmp.sock");
    if (sock == NULL)
        return v12n_fail(err, ENOMEM, "vm %s", def->name);
    if (qmp_connect(sock, 5000, &c, err) < 0)
        return v12n_error_wrap(err, "vm %s", def->name);
    auto_json json_t *ret = NULL;
    int r = qmp_execute(c, "query-block", NULL, &ret, 5000, err);
    qmp_close(c);
    if (r < 0)
        return v12n_error_wrap(err, "vm %s", def->name);
    json_t *snaps = NULL;
    size_t i;
    json_t *dev;
    json_array_foreach(ret, i, dev)
    {
        const char *id = json_string_value(json_object_get(dev, "device"));
        if (id != NULL && strcmp(id, "drive0") == 0)
            snaps = json_object_get(json_object_get(json_object_get(dev, "inserted"), "image"),
                                    "snapshots");
    }
    size_t n = json_is_array(snaps) ? json_array_size(snaps) : 0;
    char **v = calloc(n + 1, sizeof *v);
    if (v == NULL)
        return v12n_fail(err, ENOMEM, "vm %s: snapshots", def->name);
    for (i = 0; i < n; i++) {
        const char *name = json_string_value(json_object_get(json_array_get(snaps, i), "name"));
        if ((v[i] = strdup(name ? name : "")) == NULL) {
            v12n_strv_free(v);
            return v12n_fail(err, ENOMEM, "vm %s: snapshots", def->name);
        }
    }
    *names = v;
    return 0;
}

int vm_snapshot_list(const struct vm_def *def, char ***names, v12n_error *err)
{
    if (check_disks(def, err) < 0)
        return -1;
    struct vm_status st;
    if (vm_status_get(def, &st, err) < 0)
        return -1;
    if (st.pid != 0)
        return online_list(def, names, err);
    if (qemu_img_snapshot_list(def->disks[0].path, names, err) < 0)
        return v12n_error_wrap(err, "vm %s", def->name);
    return 0;
}
