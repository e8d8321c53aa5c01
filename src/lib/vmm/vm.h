/* A KVM virtual machine: `vm_run` builds it from a kernel image, runs it
 * with one thread per vCPU and one for the event loop, and
 * returns how it ended.  The caller (the CLI) owns the terminal. */
#ifndef V12N_VMM_VM_H
#define V12N_VMM_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/virtio/devices.h"

#define VM_MAX_CPUS  64
#define VM_MAX_DISKS 4
#define VM_MAX_NETS  2

struct vm_config {
    const char *kernel; /* bzImage or ELF vmlinux (PVH note honoured) */
    const char *initrd; /* NULL: none */
    const char *cmdline;
    unsigned cpus;     /* 1..VM_MAX_CPUS */
    uint64_t mem_size; /* bytes */
    int console_in;    /* terminal input (-1: none) for the chosen console; Ctrl-a x quits */
    int console_out;   /* serial output */
    /* virtio-mmio devices, in this order from 0xd0000000, 4 KiB apart. */
    struct virtio_blk_opts disks[VM_MAX_DISKS];
    unsigned n_disks;
    struct virtio_net_opts nets[VM_MAX_NETS];
    unsigned n_nets;
    bool virtio_console; /* console_in/out on a virtio console instead of the serial port */
    bool rng;
    const struct vm_managed_hooks *managed; /* NULL: run on a terminal (`vm run`) */
};

/* A managed VMM (vmm/managed.h, docs/vmm.md): console_in carries a socket
 * client's bytes verbatim (no Ctrl-a escape), quit_fd (an eventfd) stops
 * the VM when written, powerbtn_fd presses the power button, ready() runs once the VM is built,
 * before the guest's first instruction. */
struct vm_managed_hooks {
    int quit_fd;
    int powerbtn_fd; /* an eventfd: a write presses the ACPI power button (irqfd) */
    void (*ready)(void *arg);
    void *arg;
};

/* How a run ended; the CLI maps these to exit codes (docs/vmm.md). */
enum vm_stop {
    VM_STOP_NONE,
    VM_STOP_POWEROFF,     /* debug-exit port written 0, or a KVM shutdown event */
    VM_STOP_GUEST_EXIT,   /* debug-exit port written a non-zero code */
    VM_STOP_RESET,        /* i8042 0xfe, port 0xcf9, or a KVM reset event */
    VM_STOP_TRIPLE_FAULT, /* KVM_EXIT_SHUTDOWN */
    VM_STOP_QUIT,         /* Ctrl-a x on the console */
    VM_STOP_ERROR,        /* the VMM failed while running: error in vm_result */
};

struct vm_result {
    enum vm_stop stop;
    uint32_t guest_code; /* VM_STOP_GUEST_EXIT's value */
    v12n_error err;      /* VM_STOP_ERROR's cause */
};

/* -1 when the VM cannot be built (bad kernel, too much memory, no KVM);
 * 0 once it ran, with how it ended in *res. */
int vm_run(const struct vm_config *cfg, struct vm_result *res, v12n_error *err);
const char *vm_stop_name(enum vm_stop stop);

/* The debug-exit port our test guests (and QEMU's isa-debug-exit) use. */
#define VM_DEBUG_EXIT_PORT 0xf4

#endif
