/* One thread per vCPU: KVM_RUN, then the exit's port or MMIO access goes
 * to the bus, a shutdown or system event ends the VM.  Only vCPU 0 gets a
 * boot state; the others wait in the in-kernel APIC for INIT/SIPI. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/vm_internal.h"

#define CR0_PE      0x1ull
#define CR0_MP      0x2ull
#define CR0_ET      0x10ull
#define CR0_NE      0x20ull
#define CR0_PG      0x80000000ull
#define CR4_PAE     0x20ull
#define EFER_LME    0x100ull
#define EFER_LMA    0x400ull
#define KICK_SIGNAL (SIGRTMIN + 1)

int vcpu_create(struct vm *vm, unsigned index, v12n_error *err)
{
    struct vcpu *c = &vm->vcpus[index];
    *c = (struct vcpu){.vm = vm, .index = index, .fd = -1};
    c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (c->fd < 0)
        return v12n_fail_errno(err, "vcpu %u: KVM_CREATE_VCPU", index);
    int size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < (int)sizeof(struct kvm_run))
        return v12n_fail_errno(err, "vcpu %u: KVM_GET_VCPU_MMAP_SIZE", index);
    c->run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
    if (c->run == MAP_FAILED) {
        c->run = NULL;
        return v12n_fail_errno(err, "vcpu %u: map kvm_run", index);
    }
    c->run_size = (size_t)size;
    return cpuid_set_vcpu(vm, c->fd, index, err);
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type, bool code64)
{
    return (struct kvm_segment){.base = 0,
                                .limit = 0xffffffff,
                                .selector = selector,
                                .type = type,
                                .present = 1,
                                .s = 1,
                                .g = 1,
                                .db = code64 ? 0 : 1,
                                .l = code64 ? 1 : 0};
}

static void set_boot_segments(struct kvm_sregs *s, enum boot_mode mode)
{
    bool long64 = mode == BOOT_MODE_LONG64;
    s->cs = flat_segment(long64 ? BOOT_SEL_CODE64 : BOOT_SEL_CODE32, 0xb, long64);
    s->ds = s->es = s->fs = s->gs = s->ss = flat_segment(BOOT_SEL_DATA, 0x3, false);
    s->gdt.base = BOOT_GDT_ADDR;
    s->gdt.limit = BOOT_GDT_ENTRIES * 8 - 1;
    if (long64) {
        s->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG;
        s->cr3 = BOOT_PML4_ADDR;
        s->cr4 = CR4_PAE;
        s->efer = EFER_LME | EFER_LMA;
    } else { /* PVH: protected mode, paging off */
        s->cr0 = CR0_PE | CR0_ET;
        s->cr4 = 0;
        s->efer = 0;
    }
}

int vcpu_setup_boot(struct vcpu *c, v12n_error *err)
{
    struct kvm_sregs sregs;
    if (ioctl(c->fd, KVM_GET_SREGS, &sregs) < 0)
        return v12n_fail_errno(err, "vcpu %u: KVM_GET_SREGS", c->index);
    set_boot_segments(&sregs, c->vm->image.mode);
    if (ioctl(c->fd, KVM_SET_SREGS, &sregs) < 0)
        return v12n_fail_errno(err, "vcpu %u: KVM_SET_SREGS", c->index);
    struct kvm_regs regs = {.rflags = 0x2, .rip = c->vm->image.entry, .rsp = BOOT_STACK_TOP};
    if (c->vm->image.mode == BOOT_MODE_LONG64)
        regs.rsi = BOOT_ZEROPAGE_ADDR;
    else
        regs.rbx = BOOT_ZEROPAGE_ADDR;
    if (ioctl(c->fd, KVM_SET_REGS, &regs) < 0)
        return v12n_fail_errno(err, "vcpu %u: KVM_SET_REGS", c->index);
    struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
    if (ioctl(c->fd, KVM_SET_FPU, &fpu) < 0)
        return v12n_fail_errno(err, "vcpu %u: KVM_SET_FPU", c->index);
    return 0;
}

static void handle_io(struct vcpu *c)
{
    struct kvm_run *r = c->run;
    unsigned size = r->io.size;
    bool is_write = r->io.direction == KVM_EXIT_IO_OUT;
    if (size != 1 && size != 2 && size != 4)
        return;
    /* data_offset is KVM's, within the mapping it sized. */
    if (r->io.data_offset > c->run_size ||
        (uint64_t)size * r->io.count > c->run_size - r->io.data_offset)
        return;
    uint8_t *data = (uint8_t *)r + r->io.data_offset;
    for (uint32_t i = 0; i < r->io.count; i++, data += size)
        if (!vmm_bus_dispatch(&c->vm->pio, r->io.port, data, size, is_write) && !is_write)
            memset(data, 0xff, size);
}

static void handle_mmio(struct vcpu *c)
{
    struct kvm_run *r = c->run;
    unsigned len = r->mmio.len;
    if (len == 0 || len > 8)
        return;
    if (!vmm_bus_dispatch(&c->vm->mmio, r->mmio.phys_addr, r->mmio.data, len, r->mmio.is_write) &&
        !r->mmio.is_write)
        memset(r->mmio.data, 0xff, len);
}

static void handle_system_event(struct vcpu *c)
{
    switch (c->run->system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        vm_request_stop(c->vm, VM_STOP_POWEROFF, 0, NULL);
        break;
    case KVM_SYSTEM_EVENT_RESET:
        vm_request_stop(c->vm, VM_STOP_RESET, 0, NULL);
        break;
    default: {
        v12n_error e;
        v12n_fail(&e, 0, "vcpu %u: system event %u", c->index, c->run->system_event.type);
        vm_request_stop(c->vm, VM_STOP_ERROR, 0, &e);
    }
    }
}

static void fail_exit(struct vcpu *c, const char *what, unsigned long long detail)
{
    v12n_error e;
    struct kvm_regs regs;
    if (ioctl(c->fd, KVM_GET_REGS, &regs) < 0)
        regs.rip = ~0ull; /* unknown; the exit reason still says what failed */
    v12n_fail(&e, 0, "vcpu %u: %s (0x%llx) at rip 0x%llx", c->index, what, detail,
              (unsigned long long)regs.rip);
    vm_request_stop(c->vm, VM_STOP_ERROR, 0, &e);
}

/* false when the vCPU is done. */
static bool handle_exit(struct vcpu *c)
{
    struct kvm_run *r = c->run;
    switch (r->exit_reason) {
    case KVM_EXIT_IO:
        handle_io(c);
        return true;
    case KVM_EXIT_MMIO:
        handle_mmio(c);
        return true;
    case KVM_EXIT_INTR:
        return true;
    case KVM_EXIT_HLT: /* only without an in-kernel irqchip: nothing can wake us */
        vm_request_stop(c->vm, VM_STOP_POWEROFF, 0, NULL);
        return false;
    case KVM_EXIT_SHUTDOWN:
        vm_request_stop(c->vm, VM_STOP_TRIPLE_FAULT, 0, NULL);
        return false;
    case KVM_EXIT_SYSTEM_EVENT:
        handle_system_event(c);
        return false;
    case KVM_EXIT_FAIL_ENTRY:
        fail_exit(c, "entry failed",
                  (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
        return false;
    case KVM_EXIT_INTERNAL_ERROR:
        fail_exit(c, "KVM internal error", r->internal.suberror);
        return false;
    default:
        fail_exit(c, "unhandled exit", r->exit_reason);
        return false;
    }
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *c = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, KICK_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    v12n_error serr;
    if (vcpu_seccomp_install(c->index, &serr) < 0) {
        vm_request_stop(c->vm, VM_STOP_ERROR, 0, &serr);
        return NULL;
    }
    while (!atomic_load(&c->vm->stopping)) {
        if (ioctl(c->fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                c->run->immediate_exit = 0;
                continue;
            }
            v12n_error e;
            v12n_fail_errno(&e, "vcpu %u: KVM_RUN", c->index);
            vm_request_stop(c->vm, VM_STOP_ERROR, 0, &e);
            break;
        }
        if (!handle_exit(c))
            break;
    }
    return NULL;
}

static void kick_handler(int sig)
{
    (void)sig; /* only interrupts KVM_RUN */
}

int vcpu_start(struct vcpu *c, v12n_error *err)
{
    struct sigaction sa = {.sa_handler = kick_handler};
    sigemptyset(&sa.sa_mask);
    if (sigaction(KICK_SIGNAL, &sa, NULL) < 0)
        return v12n_fail_errno(err, "vcpu %u: install the kick signal", c->index);
    /* Threads inherit this mask: only vCPU threads take the kick, and
     * signals for the process (SIGTERM, SIGHUP) go to the unconfined main
     * thread, whose handlers may make calls the filter forbids. */
    sigset_t set, old;
    sigfillset(&set);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    int r = pthread_create(&c->thread, NULL, vcpu_thread, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0)
        return v12n_fail(err, r, "vcpu %u: start its thread", c->index);
    char name[16];
    snprintf(name, sizeof(name), "vcpu%u", c->index);
    pthread_setname_np(c->thread, name); /* for ps and /proc: cosmetic, unchecked */
    c->started = true;
    return 0;
}

void vcpu_kick(struct vcpu *c)
{
    if (c->run != NULL)
        c->run->immediate_exit = 1;
    if (c->started)
        pthread_kill(c->thread, KICK_SIGNAL);
}

void vcpu_destroy(struct vcpu *c)
{
    if (c->started)
        pthread_join(c->thread, NULL);
    c->started = false;
    if (c->run != NULL)
        munmap(c->run, c->run_size);
    c->run = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}
