/* The seccomp filters the VMM's threads install on themselves once the
 * guest can run: the vCPU threads (which handle the guest's port and MMIO
 * accesses, and so run every device's guest-facing code) before their
 * first KVM_RUN, the event-loop thread (ioeventfd kicks, so virtio queue
 * work; TAP and console input) before its first epoll_wait.  Each may only
 * make the system calls that work needs; anything else kills the VMM.
 * Nothing here opens, closes, maps a new file or execs: teardown happens on
 * the main thread after these threads have ended (vm.c). */
#include <errno.h>
#include <seccomp.h>
#include <stddef.h>

#include "vmm/vm_internal.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* What both kinds of thread do. */
static const int common[] = {
    /* guest I/O: console, disk, TAP, eventfds, entropy */
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(preadv),
    SCMP_SYS(pwritev), SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(fdatasync),
    SCMP_SYS(fallocate), SCMP_SYS(getrandom), SCMP_SYS(epoll_ctl), SCMP_SYS(lseek),
    /* threads, locks, signals (the kick), memory, time */
    SCMP_SYS(futex), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(tgkill),
    SCMP_SYS(gettid), SCMP_SYS(getpid), SCMP_SYS(sched_yield), SCMP_SYS(madvise), SCMP_SYS(mmap),
    SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(brk), SCMP_SYS(clock_gettime),
    SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(restart_syscall), SCMP_SYS(exit),
    SCMP_SYS(exit_group), SCMP_SYS(sigaltstack), /* thread exit under the sanitizers */
};

/* The event loop waits; it does not run vCPUs. */
static const int loop_only[] = {SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait)};

/* ioctl by request: a vCPU runs, raises lines (serial; virtio without
 * irqfds) and reads its registers for error reports; the loop raises virtio
 * interrupts by writing irqfds, and needs KVM_IRQ_LINE only where KVM has no
 * irqfd. */
static const unsigned long vcpu_ioctls[] = {KVM_RUN, KVM_IRQ_LINE, KVM_GET_REGS};
static const unsigned long loop_ioctls[] = {KVM_IRQ_LINE};

struct allowlist {
    const int *syscalls;
    size_t n_syscalls;
    const unsigned long *ioctls;
    size_t n_ioctls;
};

static int add_rules(scmp_filter_ctx ctx, const struct allowlist *a)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < a->n_syscalls; i++)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, a->syscalls[i], 0);
    for (size_t i = 0; r == 0 && i < a->n_ioctls; i++) {
        /* ioctl's request is an unsigned int: compare its low 32 bits only
         * (the upper half of the register is not defined).  Spelled out
         * rather than SCMP_A1(), whose initializer leaves fields implicit
         * (clang's -Wmissing-field-initializers). */
        const struct scmp_arg_cmp request = {
            .arg = 1, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffu, .datum_b = a->ioctls[i]};
        r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &request);
    }
    return r;
}

/* Confine the calling thread to `common` plus `extra`; -errno on failure. */
static int install(const struct allowlist *extra)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (ctx == NULL)
        return -ENOMEM;
    const struct allowlist base = {.syscalls = common, .n_syscalls = N(common)};
    int r = add_rules(ctx, &base);
    if (r == 0)
        r = add_rules(ctx, extra);
    if (r == 0)
        r = seccomp_load(ctx);
    seccomp_release(ctx);
    return r;
}

int vcpu_seccomp_install(unsigned index, v12n_error *err)
{
    const struct allowlist a = {.ioctls = vcpu_ioctls, .n_ioctls = N(vcpu_ioctls)};
    int r = install(&a);
    if (r < 0)
        return v12n_fail(err, -r, "vcpu %u: install the seccomp filter", index);
    return 0;
}

int loop_seccomp_install(bool irq_line, v12n_error *err)
{
    const struct allowlist a = {.syscalls = loop_only,
                                .n_syscalls = N(loop_only),
                                .ioctls = loop_ioctls,
                                .n_ioctls = irq_line ? N(loop_ioctls) : 0};
    int r = install(&a);
    if (r < 0)
        return v12n_fail(err, -r, "event loop: install the seccomp filter");
    return 0;
}
