/* A VM's disks after creation: `vm disk info` and `vm disk resize`. */
#ifndef V12N_ENGINE_VM_DISK_H
#define V12N_ENGINE_VM_DISK_H

#include <jansson.h>
#include <stdint.h>

#include "engine/vm_store.h"
#include "util/error.h"

/* One object per disk: qemu-img info when shut off, QEMU's own view
 * (query-block) while running, since a running VM's image is locked. */
json_t *vm_disk_info(const struct vm_def *def, v12n_error *err);

/* Grow disk index to size bytes (shut off only; shrinking is refused). */
int vm_disk_resize(const struct vm_def *def, int index, uint64_t size, v12n_error *err);

#endif
