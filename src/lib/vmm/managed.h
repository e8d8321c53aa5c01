/* A managed VMM's front (`v12n vm run --managed RUNDIR`, docs/vmm.md): in
 * RUNDIR a pidfile, a QMP socket (qmp_server.h), and the serial console as
 * console.log (everything the guest wrote, appended) and serial.sock (one
 * client at a time: it gets the output from when it connects, its input
 * goes to the guest; closing detaches).  Its own thread, outside the
 * VMM's seccomp-confined threads: it touches only host-side descriptors
 * and copies the guest's bytes without looking at them.  SIGTERM, SIGINT
 * and SIGHUP end the VM as QMP quit does (the caller blocks them in every
 * thread first). */
#ifndef V12N_VMM_MANAGED_H
#define V12N_VMM_MANAGED_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"
#include "vmm/qmp_server.h"
#include "vmm/vm.h"

#define VMM_MANAGED_QMP_CLIENTS 4

struct vmm_qmp_peer {
    int fd;
    size_t len;
    char buf[VMM_QMP_LINE_MAX + 1];
};

struct vmm_managed {
    char *pidfile, *qmp_path, *serial_path, *log_path;
    int log_fd, serial_listen, qmp_listen, serial_client, signal_fd, stop_fd;
    int out_pipe[2]; /* the guest's console output: the VMM writes [1] */
    int in_pipe[2];  /* the client's input: the VMM reads [0] */
    int quit_fd;     /* eventfd the VMM watches (vm_managed_hooks) */
    int powerbtn_fd; /* eventfd the VMM makes the power button's irqfd */
    struct vmm_qmp_peer qmp[VMM_MANAGED_QMP_CLIENTS];
    pthread_t thread;
    bool started;
};

/* Create RUNDIR's sockets and log and the pipes (the VM's console_in and
 * console_out), and start the front's thread. */
int vmm_managed_open(struct vmm_managed *m, const char *dir, v12n_error *err);
/* The VM is built: write the pidfile (our pid). */
int vmm_managed_ready(struct vmm_managed *m, v12n_error *err);
/* The VM has ended: flush its output to the log, stop the thread, remove
 * pidfile and sockets, close everything. */
void vmm_managed_close(struct vmm_managed *m);

#endif
