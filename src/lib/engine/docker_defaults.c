/* Docker's defaults for a container, written as our own data: the default
 * capability set, masked and read-only paths, and the default seccomp
 * profile (an allowlist with EPERM for the rest, argument rules for
 * socket/personality/clone, syscalls that depend on a capability).  The
 * content matches moby's (github.com/moby/profiles seccomp v0.2.3, vendored
 * by moby/moby b985e2313a; oci/defaults.go and oci/caps/defaults.go there),
 * flattened for x86-64: no includes/excludes at run time, the capability and
 * kernel-version rules are chosen when the profile is built. */
#include <glob.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "engine/engine_internal.h"

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

const char *const engine_docker_default_caps[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
    NULL,
};

const char *const engine_docker_masked_paths[] = {
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
    NULL,
};

/* Per-CPU thermal_throttle directories leak host activity (as
 * /proc/interrupts does); Docker masks those that exist on the host. */
#define THERMAL_THROTTLE_GLOB "/sys/devices/system/cpu/cpu[0-9]*/thermal_throttle"

const char *const engine_docker_readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

/* Allowed for everyone. */
static const char *const allow_always[] = {
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "bind",
    "brk",
    "cachestat",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_requeue",
    "futex_time64",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "futimesat",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "get_robust_list",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "get_thread_area",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "getxattrat",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "ioctl",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "ioprio_get",
    "ioprio_set",
    "io_setup",
    "io_submit",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listmount",
    "listxattr",
    "listxattrat",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "map_shadow_stack",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "mseal",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "_newselect",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "removexattrat",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "riscv_hwprobe",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "set_robust_list",
    "setsid",
    "setsockopt",
    "set_thread_area",
    "set_tid_address",
    "setuid",
    "setuid32",
    "setxattr",
    "setxattrat",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statmount",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "uretprobe",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
    /* x86 (Docker's per-arch rules for amd64/x32/x86) */
    "arch_prctl",
    "modify_ldt",
    NULL,
};

/* From kernel 4.8 on, ptrace can no longer be used to bypass seccomp, so
 * these are allowed to everyone; before, only with CAP_SYS_PTRACE. */
static const char *const allow_since_4_8[] = {"process_vm_readv", "process_vm_writev", "ptrace",
                                              NULL};

/* Syscalls a capability unlocks. */
static const char *const for_dac_read_search[] = {"open_by_handle_at", NULL};
static const char *const for_sys_admin[] = {
    "bpf",
    "clone",
    "clone3",
    "fanotify_init",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "lookup_dcookie",
    "lsm_get_self_attr",
    "lsm_list_modules",
    "lsm_set_self_attr",
    "mount",
    "mount_setattr",
    "move_mount",
    "open_tree",
    "perf_event_open",
    "quotactl",
    "quotactl_fd",
    "setdomainname",
    "sethostname",
    "setns",
    "syslog",
    "umount",
    "umount2",
    "unshare",
    NULL,
};
static const char *const for_sys_boot[] = {"reboot", NULL};
static const char *const for_sys_chroot[] = {"chroot", NULL};
static const char *const for_sys_module[] = {"delete_module", "init_module", "finit_module", NULL};
static const char *const for_sys_pacct[] = {"acct", NULL};
static const char *const for_sys_ptrace[] = {
    "kcmp",   "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
    "ptrace", NULL,
};
static const char *const for_sys_rawio[] = {"iopl", "ioperm", NULL};
static const char *const for_sys_time[] = {"settimeofday", "stime", "clock_settime",
                                           "clock_settime64", NULL};
static const char *const for_sys_tty_config[] = {"vhangup", NULL};
static const char *const for_sys_nice[] = {"get_mempolicy", "mbind", "set_mempolicy",
                                           "set_mempolicy_home_node", NULL};
static const char *const for_syslog[] = {"syslog", NULL};
static const char *const for_bpf[] = {"bpf", NULL};
static const char *const for_perfmon[] = {"perf_event_open", NULL};

static const struct cap_rule {
    int cap;
    const char *const *names;
} cap_rules[] = {
    {CAP_DAC_READ_SEARCH, for_dac_read_search},
    {CAP_SYS_ADMIN, for_sys_admin},
    {CAP_SYS_BOOT, for_sys_boot},
    {CAP_SYS_CHROOT, for_sys_chroot},
    {CAP_SYS_MODULE, for_sys_module},
    {CAP_SYS_PACCT, for_sys_pacct},
    {CAP_SYS_PTRACE, for_sys_ptrace},
    {CAP_SYS_RAWIO, for_sys_rawio},
    {CAP_SYS_TIME, for_sys_time},
    {CAP_SYS_TTY_CONFIG, for_sys_tty_config},
    {CAP_SYS_NICE, for_sys_nice},
    {CAP_SYSLOG, for_syslog},
    {CAP_BPF, for_bpf},
    {CAP_PERFMON, for_perfmon},
};

json_t *engine_docker_masked_paths_json(void)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && engine_docker_masked_paths[i] != NULL; i++)
        if (json_array_append_new(a, json_string(engine_docker_masked_paths[i])) < 0)
            goto fail;
    if (a == NULL)
        return NULL;
    glob_t g;
    int rc = glob(THERMAL_THROTTLE_GLOB, GLOB_ONLYDIR, NULL, &g);
    if (rc == GLOB_NOMATCH)
        return a;
    if (rc != 0)
        goto fail;
    for (size_t i = 0; i < g.gl_pathc; i++)
        if (json_array_append_new(a, json_string(g.gl_pathv[i])) < 0) {
            globfree(&g);
            goto fail;
        }
    globfree(&g);
    return a;
fail:
    json_decref(a);
    return NULL;
}

/* personality(2) personas that are harmless: PER_LINUX, PER_LINUX32,
 * UNAME26, PER_LINUX32|UNAME26, and the query 0xffffffff. */
static const unsigned long long allowed_personas[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

/* Namespace flags clone(2) may not carry without CAP_SYS_ADMIN:
 * CLONE_NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWCGROUP. */
#define CLONE_NS_MASK 0x7E020000ULL

/* socket(2) for every family but AF_ALG (38: the kernel's crypto API, a
 * history of bugs) and AF_VSOCK (40: reaches the host): three ranges. */
#define AF_ALG_NR   38
#define AF_VSOCK_NR 40

static json_t *names_array(const char *const *names)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && names[i] != NULL; i++)
        json_array_append_new(a, json_string(names[i]));
    return a;
}

static json_t *rule(json_t *names, const char *action)
{
    return json_pack("{s:o,s:s}", "names", names, "action", action);
}

static json_t *arg_rule(const char *name, unsigned long long value, unsigned long long two,
                        const char *op)
{
    return json_pack("{s:[s],s:s,s:[{s:i,s:I,s:I,s:s}]}", "names", name, "action", "SCMP_ACT_ALLOW",
                     "args", "index", 0, "value", (json_int_t)value, "valueTwo", (json_int_t)two,
                     "op", op);
}

static bool has_cap(unsigned long long caps, int cap)
{
    return cap >= 0 && cap < 64 && (caps & (1ULL << cap)) != 0;
}

/* json_array_append_new that remembers a failure (a NULL item included):
 * a profile missing a rule must not be handed out. */
static void append(json_t *arr, json_t *item, bool *ok)
{
    if (item == NULL || json_array_append_new(arr, item) < 0)
        *ok = false;
}

json_t *engine_docker_seccomp(unsigned long long caps)
{
    struct utsname u;
    unsigned major = 0, minor = 0;
    /* An unreadable release counts as an old kernel: the stricter profile. */
    if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &major, &minor) != 2)
        major = minor = 0;
    return engine_docker_seccomp_for_kernel(caps, major, minor);
}

json_t *engine_docker_seccomp_for_kernel(unsigned long long caps, unsigned kernel_major,
                                         unsigned kernel_minor)
{
    json_t *syscalls = json_array();
    if (syscalls == NULL)
        return NULL;
    bool ok = true;
    append(syscalls, rule(names_array(allow_always), "SCMP_ACT_ALLOW"), &ok);
    if (kernel_major > 4 || (kernel_major == 4 && kernel_minor >= 8))
        append(syscalls, rule(names_array(allow_since_4_8), "SCMP_ACT_ALLOW"), &ok);
    append(syscalls, arg_rule("socket", AF_ALG_NR, 0, "SCMP_CMP_LT"), &ok);
    append(syscalls, arg_rule("socket", AF_ALG_NR + 1, 0, "SCMP_CMP_EQ"), &ok);
    append(syscalls, arg_rule("socket", AF_VSOCK_NR, 0, "SCMP_CMP_GT"), &ok);
    for (size_t i = 0; i < N_ELEMENTS(allowed_personas); i++)
        append(syscalls, arg_rule("personality", allowed_personas[i], 0, "SCMP_CMP_EQ"), &ok);
    for (size_t i = 0; i < N_ELEMENTS(cap_rules); i++)
        if (has_cap(caps, cap_rules[i].cap))
            append(syscalls, rule(names_array(cap_rules[i].names), "SCMP_ACT_ALLOW"), &ok);
    if (!has_cap(caps, CAP_SYS_ADMIN)) {
        /* clone without namespace flags ((flags & mask) == 0); clone3 passes
         * its flags through memory seccomp cannot read, so it answers ENOSYS
         * and libc falls back to clone. */
        append(syscalls, arg_rule("clone", CLONE_NS_MASK, 0, "SCMP_CMP_MASKED_EQ"), &ok);
        append(syscalls,
               json_pack("{s:[s],s:s,s:i}", "names", "clone3", "action", "SCMP_ACT_ERRNO",
                         "errnoRet", 38 /* ENOSYS */),
               &ok);
    }
    if (!ok) {
        json_decref(syscalls);
        return NULL;
    }
    return json_pack("{s:s,s:i,s:[s,s,s],s:o}", "defaultAction", "SCMP_ACT_ERRNO",
                     "defaultErrnoRet", 1 /* EPERM */, "architectures", "SCMP_ARCH_X86_64",
                     "SCMP_ARCH_X86", "SCMP_ARCH_X32", "syscalls", syscalls);
}
