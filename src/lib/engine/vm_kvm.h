/* Engine kvm: a defined VM run by v12n's own VMM in managed mode
 * (`v12n vm run --managed RUNDIR`, docs/vmm.md), detached like a
 * daemonized QEMU and managed through the same run directory: pidfile,
 * QMP socket, serial socket, console log. */
#ifndef V12N_ENGINE_VM_KVM_H
#define V12N_ENGINE_VM_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "engine/vm_store.h"
#include "util/error.h"

#define VM_KVM_MAX_DISKS 4 /* the VMM's virtio-blk devices */
#define VM_KVM_MAX_CPUS  64

/* Whether def (engine kvm) is something the own VMM runs: kernel boot,
 * raw disks, no user networking, no display. */
int vm_kvm_check(const struct vm_def *def, v12n_error *err);

/* Start the managed VMM for def on run_dir and wait until it has built the
 * VM and written its pidfile; its startup error otherwise. */
int vm_kvm_spawn(const struct vm_def *def, const char *run_dir, v12n_error *err);

/* pid is a managed v12n VMM (argv "... vm run --managed ..."). */
bool vm_kvm_is_vmm(pid_t pid);

/* What start says once: the engine, and how KVM runs guests here. */
void vm_kvm_why(char *buf, size_t len);

#endif
