/* A VM's definition and the qemu-system-x86_64 command line that runs it. */
#ifndef V12N_QEMU_CMDLINE_H
#define V12N_QEMU_CMDLINE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

enum qemu_machine { QEMU_MACHINE_Q35, QEMU_MACHINE_MICROVM };
enum qemu_accel { QEMU_ACCEL_TCG, QEMU_ACCEL_KVM };
enum qemu_net { QEMU_NET_NONE, QEMU_NET_USER, QEMU_NET_TAP };
enum qemu_serial { QEMU_SERIAL_NONE, QEMU_SERIAL_FILE, QEMU_SERIAL_SOCKET };
enum qemu_display { QEMU_DISPLAY_NONE, QEMU_DISPLAY_VNC };

struct qemu_drive {
    const char *path;
    const char *format; /* "qcow2" or "raw" */
    bool readonly;
};

#define QEMU_MAX_DRIVES 8

/* Every string is borrowed; NULL means "not set".  Zeroed = q35, TCG,
 * no network, no serial, no display. */
struct qemu_vm_config {
    const char *name;
    const char *binary; /* NULL: qemu-system-x86_64 found on $PATH */
    enum qemu_machine machine;
    enum qemu_accel accel;
    const char *cpu; /* NULL: "host" under KVM, "max" under TCG */
    unsigned cpus;
    uint64_t memory_mib;
    struct qemu_drive drives[QEMU_MAX_DRIVES];
    int n_drives;
    const char *cdrom;
    const char *kernel, *initrd, *append; /* direct kernel boot */
    enum qemu_net net;
    const char *tap; /* the TAP interface for QEMU_NET_TAP */
    const char *mac; /* NULL: QEMU's default */
    enum qemu_serial serial;
    const char *serial_path; /* log file or unix socket */
    const char *serial_log;  /* with a socket: also log the output here (NULL: no log) */
    const char *boot_order;  /* firmware boot order ("c" disk, "d" cdrom), NULL: QEMU's */
    enum qemu_display display;
    unsigned vnc_display; /* 127.0.0.1:5900+N */
    unsigned vnc_to;      /* > vnc_display: QEMU takes the first free display up to this */
    const char *qmp_socket;
    const char *pidfile;
    bool daemonize;
    bool no_shutdown; /* stop instead of exiting on guest poweroff */
};

/* Check the config and build a NULL-terminated, malloc'd argv (free with
 * v12n_strv_free).  Errors name the VM and the field; a missing QEMU is
 * reported with the Debian package to install. */
int qemu_build_argv(const struct qemu_vm_config *cfg, char ***argv, v12n_error *err);

/* QEMU's option syntax: a comma in a value is written ",,". */
char *qemu_escape_opt(const char *value);

#endif
