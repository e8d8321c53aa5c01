/* Running VMs: QEMU daemonized per VM (or, engine kvm, v12n's own VMM
 * in managed mode, which keeps the same files and answers the same QMP
 * commands: engine/vm_kvm.h), found again through its pidfile and
 * controlled over QMP, both in the VM's run directory /run/v12n/vms/<name>/
 * (qemu.pid, qmp.sock, serial.sock, console.log).  Nothing else keeps
 * state: a VM's state is derived each time from the pidfile and QMP, so it
 * tells the truth whoever started QEMU and whatever happened to it since.
 * QEMU removes its pidfile when it exits cleanly (guest poweroff, quit,
 * SIGTERM); a pidfile whose process is gone means QEMU died: "crashed".
 * The run directory's `owner` file names the VM directory that started it,
 * so that a VM of the same name in another store (--root) is not mistaken
 * for this one. */
#ifndef V12N_ENGINE_VM_H
#define V12N_ENGINE_VM_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "engine/vm_store.h"
#include "util/error.h"

#define VM_RUN_ROOT "/run/v12n/vms"

enum vm_state { VM_SHUT_OFF, VM_RUNNING, VM_PAUSED, VM_CRASHED, VM_SHUTDOWN_PENDING };

struct vm_status {
    enum vm_state state;
    pid_t pid;            /* QEMU's, 0 when not running */
    time_t started;       /* when QEMU wrote its pidfile, 0 when not running */
    char qemu_status[32]; /* QMP query-status ("running", "paused", ...) or "" */
    bool foreign;         /* the run directory belongs to a VM of this name in another store */
};

const char *vm_state_name(enum vm_state s);

/* /run/v12n/vms/<name> and files in it (malloc'd). */
char *vm_run_path(const char *name, const char *file);

int vm_status_get(const struct vm_def *def, struct vm_status *st, v12n_error *err);

/* What start chose, for the CLI to say once. */
struct vm_start_info {
    bool own_vmm;      /* engine kvm: v12n's own VMM runs it, not QEMU */
    char accel[8];     /* "tcg" or "kvm" */
    char why[160];     /* why this accelerator */
    char vnc[32];      /* "127.0.0.1:5901" with --display vnc, else "" */
    char console[128]; /* the serial socket */
};

/* Start QEMU for def (root: the store, to check other VMs' disks). */
int vm_start(const char *root, const struct vm_def *def, struct vm_start_info *info,
             v12n_error *err);

/* ACPI power button; after timeout_s seconds still up, quit (then SIGKILL).
 * *forced (may be NULL) says whether the guest had to be forced off. */
int vm_shutdown(const struct vm_def *def, int timeout_s, bool *forced, v12n_error *err);

/* Power off at once: QMP quit, SIGKILL if QEMU does not answer. */
int vm_destroy(const struct vm_def *def, v12n_error *err);

/* Hardware reset (QMP system_reset). */
int vm_reboot(const struct vm_def *def, v12n_error *err);

/* Forget what a crashed or stopped QEMU left in the run directory. */
int vm_clean_run_dir(const char *name, bool remove_log, v12n_error *err);

/* The last n lines of the serial console log (malloc'd, "" when none). */
char *vm_log_tail(const char *name, int n);

/* Definition + state + (crashed) last log lines: `vm inspect`. */
json_t *vm_inspect_json(const struct vm_def *def, v12n_error *err);

/* Disk paths of def that a running VM other than def uses, as an error. */
int vm_check_disks_free(const char *root, const struct vm_def *def, v12n_error *err);

#endif
