/* The VM's parts as the VMM's own files see them (not the CLI). */
#ifndef V12N_VMM_VM_INTERNAL_H
#define V12N_VMM_VM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "vmm/bus.h"
#include "vmm/devices/serial8250.h"
#include "vmm/virtio/mmio.h"
#include "vmm/loop.h"
#include "vmm/vm.h"
#include "vmm/x86/boot.h"

struct vm;

/* CMOS RTC: only the index register is state; time comes from the host. */
struct rtc {
    uint8_t index; /* accessed atomically: any vCPU may touch the ports */
};

#define VM_MAX_VIRTIO  8
#define VM_VIRTIO_BASE 0xd0000000ull

struct vcpu {
    struct vm *vm;
    unsigned index;
    int fd;
    struct kvm_run *run;
    size_t run_size;
    pthread_t thread;
    bool started;
};

struct vm {
    int kvm_fd, vm_fd;
    bool is_pvm; /* /dev/kvm is kvm_pvm: hide what its emulator lacks */
    struct guest_mem mem;
    struct vmm_bus pio, mmio;
    struct vmm_services services;
    struct vmm_loop loop;
    struct vcpu vcpus[VM_MAX_CPUS];
    unsigned n_vcpus;
    struct kvm_cpuid2 *cpuid;
    struct boot_image image;
    pthread_mutex_t stop_lock;
    atomic_bool stopping;
    struct vm_result result;
    struct serial8250 serial;
    struct virtio_mmio virtio[VM_MAX_VIRTIO];
    int irqfds[VM_MAX_VIRTIO]; /* virtio[i]'s interrupt as an irqfd (-1: KVM_IRQ_LINE) */
    unsigned n_virtio;
    char *cmdline; /* the user's, plus a virtio_mmio.device= per device */
    /* --console virtio: the terminal reader (which sees Ctrl-a x) writes the
     * rest of the input into [1]; the virtio console reads [0]. */
    int console_pipe[2];
    int quit_fd; /* managed: the front's stop request (an eventfd), else -1 */
    pthread_t loop_thread;
    struct rtc rtc;
};

/* Record how the VM ends (the first reason wins) and kick every vCPU and
 * the event loop out. */
void vm_request_stop(struct vm *vm, enum vm_stop stop, uint32_t code, const v12n_error *cause);
int vm_irq_line(struct vm *vm, unsigned gsi, int level, v12n_error *err);
/* An eventfd that pulses gsi when written (KVM_IRQFD); -1 with ENOTSUP
 * in err when KVM has no irqfd. */
int vm_irqfd_create(struct vm *vm, unsigned gsi, v12n_error *err);

int vcpu_create(struct vm *vm, unsigned index, v12n_error *err);
int vcpu_setup_boot(struct vcpu *c, v12n_error *err);
int vcpu_start(struct vcpu *c, v12n_error *err);
void vcpu_kick(struct vcpu *c);
void vcpu_destroy(struct vcpu *c);
/* Confine the calling vCPU or event-loop thread (thread_seccomp.c). */
int vcpu_seccomp_install(unsigned index, v12n_error *err);
/* irq_line: the loop raises interrupts with KVM_IRQ_LINE (no irqfds). */
int loop_seccomp_install(bool irq_line, v12n_error *err);

/* CPUID: the host-supported table, adjusted (KVM signature, no features a
 * PVM host cannot run); per vCPU the APIC id is patched in. */
int cpuid_init(struct vm *vm, v12n_error *err);
int cpuid_set_vcpu(struct vm *vm, int vcpu_fd, unsigned index, v12n_error *err);

/* Legacy devices on the PIO bus. */
int i8042_init(struct vm *vm, v12n_error *err);
int rtc_init(struct vm *vm, v12n_error *err);
int sysctl_ports_init(struct vm *vm, v12n_error *err); /* debug exit, 0xcf9 reset */

/* The configured virtio devices on the MMIO bus; extends vm->cmdline. */
int vm_virtio_init(struct vm *vm, const struct vm_config *cfg, v12n_error *err);
void vm_virtio_destroy(struct vm *vm);

#endif
