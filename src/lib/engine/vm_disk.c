/* `vm disk info|resize` through qemu-img, or QMP while the VM runs. */
#include "engine/vm_disk.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/vm.h"
#include "qemu/img.h"
#include "qemu/qmp.h"
#include "util/cleanup.h"
#include "util/json.h"

static json_t *running_info(const struct vm_def *def, v12n_error *err)
{
    auto_free char *sock = vm_run_path(def->name, "qmp.sock");
    struct qmp_client *c = NULL;
    if (sock == NULL) {
        v12n_fail(err, ENOMEM, "vm %s", def->name);
        return NULL;
    }
    if (qmp_connect(sock, 5000, &c, err) < 0) {
        v12n_error_wrap(err, "vm %s", def->name);
        return NULL;
    }
    json_t *blocks = NULL;
    int r = qmp_execute(c, "query-block", NULL, &blocks, 5000, err);
    qmp_close(c);
    if (r < 0) {
        v12n_error_wrap(err, "vm %s", def->name);
        return NULL;
    }
    json_t *out = json_array();
    for (int i = 0; out != NULL && i < def->n_disks; i++) {
        char id[16];
        snprintf(id, sizeof id, "drive%d", i);
        size_t k;
        json_t *b, *image = NULL;
        json_array_foreach(blocks, k, b)
        {
            const char *dev = json_string_value(json_object_get(b, "device"));
            if (dev != NULL && strcmp(dev, id) == 0)
                image = json_object_get(json_object_get(b, "inserted"), "image");
        }
        json_array_append(out, image ? image : json_null());
    }
    json_decref(blocks);
    if (out == NULL)
        v12n_fail(err, ENOMEM, "vm %s: disk info", def->name);
    return out;
}

json_t *vm_disk_info(const struct vm_def *def, v12n_error *err)
{
    struct vm_status st;
    if (vm_status_get(def, &st, err) < 0)
        return NULL;
    if (st.pid != 0)
        return running_info(def, err);
    json_t *out = json_array();
    for (int i = 0; out != NULL && i < def->n_disks; i++) {
        json_t *info = qemu_img_info(def->disks[i].path, err);
        if (info == NULL) {
            json_decref(out);
            v12n_error_wrap(err, "vm %s", def->name);
            return NULL;
        }
        json_array_append_new(out, info);
    }
    if (out == NULL)
        v12n_fail(err, ENOMEM, "vm %s: disk info", def->name);
    return out;
}

int vm_disk_resize(const struct vm_def *def, int index, uint64_t size, v12n_error *err)
{
    if (index < 0 || index >= def->n_disks)
        return v12n_fail(err, 0, "vm %s: no disk %d (it has %d)", def->name, index, def->n_disks);
    struct vm_status st;
    if (vm_status_get(def, &st, err) < 0)
        return -1;
    if (st.pid != 0)
        return v12n_fail(err, 0, "vm %s: running: resize its disks when it is shut off", def->name);
    if (qemu_img_resize(def->disks[index].path, size, false, err) < 0)
        return v12n_error_wrap(err, "vm %s", def->name);
    return 0;
}
