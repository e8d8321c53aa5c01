/* Internal qcow2 snapshots of a VM's disks (`vm snapshot`).  A shut-off VM's
 * disks are snapshotted with qemu-img, one snapshot of the same name per
 * disk; a running VM's through QEMU's savevm/loadvm/delvm (HMP over QMP),
 * which also keep the memory and device state. */
#ifndef V12N_ENGINE_VM_SNAPSHOT_H
#define V12N_ENGINE_VM_SNAPSHOT_H

#include "engine/vm_store.h"
#include "util/error.h"

enum vm_snapshot_op { VM_SNAPSHOT_CREATE, VM_SNAPSHOT_REVERT, VM_SNAPSHOT_DELETE };

int vm_snapshot(const struct vm_def *def, enum vm_snapshot_op op, const char *snap,
                v12n_error *err);

/* The snapshot names of the VM's first disk (NULL-terminated, v12n_strv_free). */
int vm_snapshot_list(const struct vm_def *def, char ***names, v12n_error *err);

#endif
