/* Disk images through qemu-img: create, inspect, resize, snapshots.
 * Errors name the image and carry qemu-img's own message. */
#ifndef V12N_QEMU_IMG_H
#define V12N_QEMU_IMG_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "util/error.h"

struct qemu_img_create {
    const char *format;         /* "qcow2" or "raw" */
    uint64_t size;              /* bytes; 0 with a backing file: the backing file's size */
    const char *backing;        /* qcow2 only: a backing file, NULL for none */
    const char *backing_format; /* required with backing ("qcow2" or "raw") */
};

int qemu_img_create(const char *path, const struct qemu_img_create *opts, v12n_error *err);

/* `qemu-img info --output=json`: a new reference to the parsed object. */
json_t *qemu_img_info(const char *path, v12n_error *err);

/* Grow (or, with shrink, shrink) to size bytes. */
int qemu_img_resize(const char *path, uint64_t size, bool shrink, v12n_error *err);

enum qemu_snapshot_op { QEMU_SNAPSHOT_CREATE, QEMU_SNAPSHOT_APPLY, QEMU_SNAPSHOT_DELETE };
int qemu_img_snapshot(const char *path, enum qemu_snapshot_op op, const char *name,
                      v12n_error *err);

/* The names of the image's internal snapshots (from info's "snapshots"),
 * a NULL-terminated vector to free with v12n_strv_free. */
int qemu_img_snapshot_list(const char *path, char ***names, v12n_error *err);

#endif
