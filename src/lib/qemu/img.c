/* qemu-img, run as a child with its output captured. */
#include "qemu/img.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu/run.h"
#include "util/cleanup.h"
#include "util/json.h"

/* qemu-img's message, its first line without the "qemu-img: " prefix. */
static const char *first_line(char *text)
{
    char *p = text;
    if (strncmp(p, "qemu-img: ", 10) == 0)
        p += 10;
    p[strcspn(p, "\n")] = '\0';
    return p[0] != '\0' ? p : "failed";
}

/* Run qemu-img with args (NULL-terminated, without the binary); *out gets
 * stdout when asked. */
static int run_img(const char *path, const char *verb, const char *const *args, char **out,
                   v12n_error *err)
{
    char bin[PATH_MAX];
    if (qemu_find_binary(QEMU_IMG_BINARY, bin, sizeof bin, err) < 0)
        return v12n_error_wrap(err, "image %s", path);
    const char *argv[24] = {bin};
    size_t n = 1;
    for (; args[n - 1] != NULL && n < 23; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    struct qemu_output o;
    if (qemu_run_capture((char *const *)argv, &o, err) < 0)
        return v12n_error_wrap(err, "image %s", path);
    int r = 0;
    if (o.status != 0)
        r = v12n_fail(err, 0, "image %s: qemu-img %s: %s", path, verb, first_line(o.err));
    else if (out != NULL)
        *out = v12n_take_ptr(&o.out);
    qemu_output_free(&o);
    return r;
}

static bool known_format(const char *f)
{
    return f != NULL && (strcmp(f, "qcow2") == 0 || strcmp(f, "raw") == 0);
}

int qemu_img_create(const char *path, const struct qemu_img_create *o, v12n_error *err)
{
    if (!known_format(o->format))
        return v12n_fail(err, 0, "image %s: format must be qcow2 or raw", path);
    if (o->backing != NULL && strcmp(o->format, "qcow2") != 0)
        return v12n_fail(err, 0, "image %s: only qcow2 can have a backing file", path);
    if (o->backing != NULL && !known_format(o->backing_format))
        return v12n_fail(err, 0, "image %s: backing file %s needs its format", path, o->backing);
    if (o->backing == NULL && o->size == 0)
        return v12n_fail(err, 0, "image %s: no size", path);
    char size[32];
    snprintf(size, sizeof size, "%" PRIu64, o->size);
    const char *args[12] = {"create", "-q", "-f", o->format};
    size_t n = 4;
    if (o->backing != NULL) {
        args[n++] = "-b";
        args[n++] = o->backing;
        args[n++] = "-F";
        args[n++] = o->backing_format;
    }
    args[n++] = "--";
    args[n++] = path;
    if (o->size > 0)
        args[n++] = size;
    args[n] = NULL;
    return run_img(path, "create", args, NULL, err);
}

json_t *qemu_img_info(const char *path, v12n_error *err)
{
    const char *args[] = {"info", "--output=json", "--", path, NULL};
    auto_free char *out = NULL;
    if (run_img(path, "info", args, &out, err) < 0)
        return NULL;
    json_error_t jerr;
    json_t *info = json_loads(out, 0, &jerr);
    if (!json_is_object(info)) {
        json_decref(info);
        v12n_fail(err, EPROTO, "image %s: qemu-img info: unreadable JSON", path);
        return NULL;
    }
    return info;
}

int qemu_img_resize(const char *path, uint64_t size, bool shrink, v12n_error *err)
{
    char s[32];
    snprintf(s, sizeof s, "%" PRIu64, size);
    const char *args[8] = {"resize", "-q"};
    size_t n = 2;
    if (shrink)
        args[n++] = "--shrink";
    args[n++] = "--";
    args[n++] = path;
    args[n++] = s;
    args[n] = NULL;
    return run_img(path, "resize", args, NULL, err);
}

int qemu_img_snapshot(const char *path, enum qemu_snapshot_op op, const char *name, v12n_error *err)
{
    if (name == NULL || name[0] == '\0')
        return v12n_fail(err, 0, "image %s: snapshot without a name", path);
    const char *flag = op == QEMU_SNAPSHOT_CREATE ? "-c" : op == QEMU_SNAPSHOT_APPLY ? "-a" : "-d";
    const char *args[] = {"snapshot", flag, name, "--", path, NULL};
    return run_img(path, "snapshot", args, NULL, err);
}

int qemu_img_snapshot_list(const char *path, char ***names, v12n_error *err)
{
    auto_json json_t *info = qemu_img_info(path, err);
    if (info == NULL)
        return -1;
    json_t *snaps = json_object_get(info, "snapshots");
    size_t n = json_is_array(snaps) ? json_array_size(snaps) : 0;
    char **v = calloc(n + 1, sizeof *v);
    if (v == NULL)
        return v12n_fail(err, ENOMEM, "image %s: snapshots", path);
    for (size_t i = 0; i < n; i++) {
        const char *name = json_string_value(json_object_get(json_array_get(snaps, i), "name"));
        v[i] = strdup(name ? name : "");
        if (v[i] == NULL) {
            v12n_strv_free(v);
            return v12n_fail(err, ENOMEM, "image %s: snapshots", path);
        }
    }
    *names = v;
    return 0;
}
