/* The seccomp filter each vCPU thread installs on itself before its first
 * KVM_RUN: the threads that handle the guest's port and MMIO accesses (and
 * so run every device's guest-facing code) may only make the system calls
 * that work needs; anything else kills the VMM.  ioctl is limited to the
 * three KVM requests a running vCPU makes.  The event-loop thread is not
 * filtered yet (docs/vmm.md). */
#include <errno.h>
#include <seccomp.h>
#include <stddef.h>

#include "vmm/vm_internal.h"

static const int allowed[] = {
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

static const unsigned long allowed_ioctls[] = {KVM_RUN, KVM_IRQ_LINE, KVM_GET_REGS};

/* ioctl's request is an unsigned int: compare its low 32 bits only (the
 * upper half of the register is not defined).  Spelled out rather than
 * SCMP_A1(), whose initializer leaves fields implicit (clang's
 * -Wmissing-field-initializers). */
static struct scmp_arg_cmp ioctl_request(unsigned long request)
{
    return (struct scmp_arg_cmp){
        .arg = 1, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffu, .datum_b = request};
}

int vcpu_seccomp_install(unsigned index, v12n_error *err)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (ctx == NULL)
        return v12n_fail(err, ENOMEM, "vcpu %u: seccomp_init", index);
    int r = 0;
    for (size_t i = 0; r == 0 && i < sizeof(allowed) / sizeof(allowed[0]); i++)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
    for (size_t i = 0; r == 0 && i < sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]); i++)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                             ioctl_request(allowed_ioctls[i]));
    if (r == 0)
        r = seccomp_load(ctx);
    seccomp_release(ctx);
    if (r < 0)
        return v12n_fail(err, -r, "vcpu %u: install the seccomp filter", index);
    return 0;
}
