/* Docker's default seccomp profile as the engine builds it, pinned twice:
 * in the JSON (defaultAction, defaultErrnoRet, architectures, the argument
 * rules) and for real -- the profile is compiled by the runtime's own
 * seccomp code and loaded in a forked child, which then makes the calls and
 * checks the errno the kernel hands back.  The calls are chosen so that
 * even a wrongly allowed one is harmless (bad magic, bad flags, missing
 * paths, pids that do not exist).  Needs root for the allowed-call results;
 * skipped otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "container/seccomp.h"
#include "engine/engine_internal.h"

#define BIT(c) (1ULL << (c))

/* Docker's 14 default capabilities. */
static const unsigned long long DEFAULT_CAPS =
    BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) | BIT(CAP_FOWNER) | BIT(CAP_MKNOD) |
    BIT(CAP_NET_RAW) | BIT(CAP_SETGID) | BIT(CAP_SETUID) | BIT(CAP_SETFCAP) | BIT(CAP_SETPCAP) |
    BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_SYS_CHROOT) | BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE);

#define AF_ALG_NR   38
#define AF_VSOCK_NR 40
#define NO_SUCH_PID 0x3ffffff0 /* above any pid_max */

/* ---- the JSON ------------------------------------------------------------ */

static bool has_name(json_t *rule, const char *name)
{
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(rule, "names"), i, n)
    {
        if (strcmp(json_string_value(n), name) == 0)
            return true;
    }
    return false;
}

/* Whether name is allowed without argument conditions. */
static bool allows(json_t *profile, const char *name)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(profile, "syscalls"), i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "action")), "SCMP_ACT_ALLOW") == 0 &&
            json_object_get(r, "args") == NULL && has_name(r, name))
            return true;
    }
    return false;
}

/* The argument rules for name, as "op:value" strings joined by spaces. */
static void arg_rules(json_t *profile, const char *name, char *out, size_t len)
{
    out[0] = '\0';
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(profile, "syscalls"), i, r)
    {
        json_t *args = json_object_get(r, "args");
        if (args == NULL || !has_name(r, name))
            continue;
        json_t *a = json_array_get(args, 0);
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%s%s:%#llx", used > 0 ? " " : "",
                 json_string_value(json_object_get(a, "op")),
                 (unsigned long long)json_integer_value(json_object_get(a, "value")));
    }
}

static void profile_header(void **state)
{
    json_t *p = engine_docker_seccomp_for_kernel(DEFAULT_CAPS, 6, 1);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "defaultAction")), "SCMP_ACT_ERRNO");
    assert_int_equal(json_integer_value(json_object_get(p, "defaultErrnoRet")), EPERM);
    json_t *arches = json_object_get(p, "architectures");
    assert_int_equal(json_array_size(arches), 3);
    assert_string_equal(json_string_value(json_array_get(arches, 0)), "SCMP_ARCH_X86_64");
    assert_string_equal(json_string_value(json_array_get(arches, 1)), "SCMP_ARCH_X86");
    assert_string_equal(json_string_value(json_array_get(arches, 2)), "SCMP_ARCH_X32");
    char rules[256];
    arg_rules(p, "personality", rules, sizeof rules);
    assert_string_equal(rules, "SCMP_CMP_EQ:0 SCMP_CMP_EQ:0x8 SCMP_CMP_EQ:0x20000 "
                               "SCMP_CMP_EQ:0x20008 SCMP_CMP_EQ:0xffffffff");
    arg_rules(p, "socket", rules, sizeof rules);
    assert_string_equal(rules, "SCMP_CMP_LT:0x26 SCMP_CMP_EQ:0x27 SCMP_CMP_GT:0x28");
    arg_rules(p, "clone", rules, sizeof rules);
    assert_string_equal(rules, "SCMP_CMP_MASKED_EQ:0x7e020000");
    json_decref(p);
}

static void capability_groups(void **state)
{
    static const char *const denied[] = {
        "mount",
        "umount2",
        "unshare",
        "setns",
        "keyctl",
        "add_key",
        "request_key",
        "bpf",
        "perf_event_open",
        "reboot",
        "kexec_load",
        "init_module",
        "finit_module",
        "delete_module",
        "clock_settime",
        "settimeofday",
        "acct",
        "iopl",
        "ioperm",
        "vhangup",
        "syslog",
        "open_by_handle_at",
        "kcmp",
        "pidfd_getfd",
        "mbind",
        "set_mempolicy",
        "sethostname",
        "lsm_set_self_attr",
        "userfaultfd",
        "clone3",
        NULL,
    };
    json_t *p = engine_docker_seccomp_for_kernel(DEFAULT_CAPS, 6, 1);
    for (size_t i = 0; denied[i] != NULL; i++)
        if (allows(p, denied[i]))
            fail_msg("%s allowed with Docker's default capabilities", denied[i]);
    assert_true(allows(p, "chroot")); /* CAP_SYS_CHROOT is a default */
    assert_true(allows(p, "ptrace")); /* kernel >= 4.8 */
    assert_true(allows(p, "process_vm_readv"));
    assert_true(allows(p, "statmount"));
    json_decref(p);

    /* Before 4.8 ptrace could bypass seccomp: only with CAP_SYS_PTRACE. */
    p = engine_docker_seccomp_for_kernel(DEFAULT_CAPS, 4, 7);
    assert_false(allows(p, "ptrace"));
    assert_false(allows(p, "process_vm_writev"));
    json_decref(p);
    p = engine_docker_seccomp_for_kernel(DEFAULT_CAPS | BIT(CAP_SYS_PTRACE), 4, 7);
    assert_true(allows(p, "ptrace"));
    assert_true(allows(p, "kcmp"));
    json_decref(p);

    static const struct {
        int cap;
        const char *name;
    } unlocks[] = {
        {CAP_SYS_ADMIN, "mount"},
        {CAP_SYS_ADMIN, "unshare"},
        {CAP_SYS_ADMIN, "clone3"},
        {CAP_SYS_ADMIN, "lsm_list_modules"},
        {CAP_SYS_BOOT, "reboot"},
        {CAP_SYS_MODULE, "finit_module"},
        {CAP_SYS_PACCT, "acct"},
        {CAP_SYS_RAWIO, "iopl"},
        {CAP_SYS_TIME, "clock_settime"},
        {CAP_SYS_TTY_CONFIG, "vhangup"},
        {CAP_SYS_NICE, "mbind"},
        {CAP_SYSLOG, "syslog"},
        {CAP_BPF, "bpf"},
        {CAP_PERFMON, "perf_event_open"},
        {CAP_DAC_READ_SEARCH, "open_by_handle_at"},
    };
    for (size_t i = 0; i < sizeof unlocks / sizeof unlocks[0]; i++) {
        p = engine_docker_seccomp_for_kernel(DEFAULT_CAPS | BIT(unlocks[i].cap), 6, 1);
        if (!allows(p, unlocks[i].name))
            fail_msg("capability %d does not unlock %s", unlocks[i].cap, unlocks[i].name);
        json_decref(p);
    }
    /* No capability unlocks these. */
    p = engine_docker_seccomp_for_kernel(~0ULL, 6, 1);
    assert_false(allows(p, "keyctl"));
    assert_false(allows(p, "kexec_load"));
    assert_false(allows(p, "userfaultfd"));
    /* With CAP_SYS_ADMIN, clone and clone3 carry no restriction. */
    char rules[64];
    arg_rules(p, "clone", rules, sizeof rules);
    assert_string_equal(rules, "");
    assert_true(allows(p, "clone"));
    json_decref(p);
}

static void masked_paths(void **state)
{
    json_t *m = engine_docker_masked_paths_json();
    assert_non_null(m);
    static const char *const want[] = {"/proc/acpi",
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
                                       "/sys/firmware"};
    size_t n = sizeof want / sizeof want[0];
    assert_true(json_array_size(m) >= n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(json_string_value(json_array_get(m, i)), want[i]);
    /* Then exactly the host's thermal_throttle directories. */
    for (size_t i = n; i < json_array_size(m); i++) {
        const char *path = json_string_value(json_array_get(m, i));
        assert_int_equal(strncmp(path, "/sys/devices/system/cpu/cpu", 27), 0);
        assert_non_null(strstr(path, "/thermal_throttle"));
        assert_int_equal(access(path, F_OK), 0);
    }
    json_decref(m);
}

/* ---- for real: the profile loaded in a child ----------------------------- */

enum { OK = 0, NOT_EPERM = -1 };

static int failures;

/* Check a raw call's result: want OK (no error), NOT_EPERM (any result but
 * EPERM: allowed by the filter, refused or not by the kernel), or an errno. */
static void expect(const char *what, long rc, int want)
{
    int got = rc < 0 ? errno : 0;
    bool good = want == NOT_EPERM ? got != EPERM : got == want;
    if (!good) {
        fprintf(stderr, "  %s: got %s, want %s\n", what, got != 0 ? strerror(got) : "success",
                want == NOT_EPERM ? "not EPERM"
                : want != 0       ? strerror(want)
                                  : "success");
        failures++;
    }
}

/* clone(2) with flags; a child that appears exits at once. */
static long raw_clone(unsigned long flags)
{
    long pid = syscall(SYS_clone, flags | SIGCHLD, 0, NULL, NULL, 0);
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid((pid_t)pid, NULL, 0);
    return pid;
}

static void checks_default(void)
{
    expect("read(-1)", read(-1, NULL, 0), EBADF);
    expect("syscall 1000 (unknown: defaultErrnoRet)", syscall(1000), EPERM);
    expect("mount", syscall(SYS_mount, "none", "/v12n-no-such-dir", "tmpfs", 0, NULL), EPERM);
    expect("umount2", syscall(SYS_umount2, "/v12n-no-such-dir", 0), EPERM);
    expect("unshare(CLONE_NEWUTS)", syscall(SYS_unshare, CLONE_NEWUTS), EPERM);
    expect("setns(-1)", syscall(SYS_setns, -1, 0), EPERM);
    expect("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0), EPERM);
    expect("add_key", syscall(SYS_add_key, NULL, NULL, NULL, 0, 0), EPERM);
    expect("bpf", syscall(SYS_bpf, 0, NULL, 0), EPERM);
    expect("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0), EPERM);
    expect("reboot(bad magic)", syscall(SYS_reboot, 0, 0, 0, NULL), EPERM);
    expect("kexec_load(bad flags)", syscall(SYS_kexec_load, 0, 0, NULL, 0xffff0000UL), EPERM);
    expect("init_module", syscall(SYS_init_module, NULL, 0, ""), EPERM);
    expect("finit_module(-1)", syscall(SYS_finit_module, -1, "", 0), EPERM);
    expect("delete_module", syscall(SYS_delete_module, "v12n_no_such_module", O_NONBLOCK), EPERM);
    expect("clock_settime(NULL)", syscall(SYS_clock_settime, CLOCK_REALTIME, NULL), EPERM);
    expect("iopl(0)", syscall(SYS_iopl, 0), EPERM);
    expect("syslog(SIZE_BUFFER)", syscall(SYS_syslog, 10, NULL, 0), EPERM);
    expect("open_by_handle_at(-1)", syscall(SYS_open_by_handle_at, -1, NULL, 0), EPERM);
    expect("kcmp", syscall(SYS_kcmp, getpid(), getpid(), 0, 0, 0), EPERM);
    expect("userfaultfd", syscall(SYS_userfaultfd, 0), EPERM);
    /* Allowed with the defaults. */
    expect("chroot(missing)", syscall(SYS_chroot, "/v12n-no-such-dir"), ENOENT);
    expect("ptrace(no such pid)", syscall(SYS_ptrace, 12 /* GETREGS */, NO_SUCH_PID, 0, 0), ESRCH);
    expect("fork", raw_clone(0), OK);
    expect("clone(CLONE_NEWUTS)", raw_clone(CLONE_NEWUTS), EPERM);
    expect("clone(CLONE_NEWNET)", raw_clone(CLONE_NEWNET), EPERM);
    /* clone3 answers ENOSYS so that libc falls back to clone. */
    expect("clone3", syscall(SYS_clone3, NULL, 0), ENOSYS);
    /* personality: the query and the listed personas only. */
    expect("personality(query)", syscall(SYS_personality, 0xffffffffUL), OK);
    expect("personality(PER_LINUX32)", syscall(SYS_personality, 0x0008UL), OK);
    expect("personality(PER_LINUX)", syscall(SYS_personality, 0x0000UL), OK);
    expect("personality(ADDR_NO_RANDOMIZE)", syscall(SYS_personality, 0x0040000UL), EPERM);
    expect("personality(PER_BSD)", syscall(SYS_personality, 0x0006UL), EPERM);
    /* socket: every family but AF_ALG and AF_VSOCK. */
    long fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
    expect("socket(AF_UNIX)", fd, OK);
    if (fd >= 0)
        close((int)fd);
    expect("socket(AF_ALG)", syscall(SYS_socket, AF_ALG_NR, SOCK_SEQPACKET, 0), EPERM);
    expect("socket(AF_VSOCK)", syscall(SYS_socket, AF_VSOCK_NR, SOCK_STREAM, 0), EPERM);
    expect("socket(39)", syscall(SYS_socket, AF_ALG_NR + 1, 99, 0), NOT_EPERM);
    expect("socket(41)", syscall(SYS_socket, AF_VSOCK_NR + 1, 99, 0), NOT_EPERM);
}

static void checks_sys_admin(void)
{
    expect("mount(missing dir)", syscall(SYS_mount, "none", "/v12n-no-such-dir", "tmpfs", 0, NULL),
           ENOENT);
    expect("setns(-1)", syscall(SYS_setns, -1, 0), EBADF);
    expect("clone3(NULL, 0)", syscall(SYS_clone3, NULL, 0), EINVAL);
    expect("clone(CLONE_NEWUTS)", raw_clone(CLONE_NEWUTS), OK);
    expect("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0), EPERM);
    expect("reboot", syscall(SYS_reboot, 0, 0, 0, NULL), EPERM);
}

static void checks_old_kernel(void)
{
    expect("ptrace", syscall(SYS_ptrace, 12, NO_SUCH_PID, 0, 0), EPERM);
    expect("process_vm_readv", syscall(SYS_process_vm_readv, NO_SUCH_PID, NULL, 0, NULL, 0, 0),
           EPERM);
}

static void checks_all_caps(void)
{
    expect("reboot(bad magic)", syscall(SYS_reboot, 0, 0, 0, NULL), EINVAL);
    expect("clock_settime(NULL)", syscall(SYS_clock_settime, CLOCK_REALTIME, NULL), EFAULT);
    expect("kexec_load(bad flags)", syscall(SYS_kexec_load, 0, 0, NULL, 0xffff0000UL), EPERM);
    expect("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0), EPERM);
}

/* Build the profile, compile it with the runtime's code, load it in a
 * child and run the checks there. */
static void run_confined(unsigned long long caps, unsigned kmajor, unsigned kminor,
                         void (*checks)(void))
{
    if (geteuid() != 0)
        skip();
    json_t *profile = engine_docker_seccomp_for_kernel(caps, kmajor, kminor);
    assert_non_null(profile);
    struct seccomp_profile *sp = NULL;
    v12n_error err = {0};
    if (seccomp_profile_parse(profile, &sp, &err) < 0)
        fail_msg("%s", err.msg);
    json_decref(profile);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (seccomp_profile_load(sp, &err) < 0) {
            fprintf(stderr, "load: %s\n", err.msg);
            _exit(100);
        }
        checks();
        _exit(failures > 99 ? 99 : failures);
    }
    seccomp_profile_free(sp);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void real_default(void **state)
{
    run_confined(DEFAULT_CAPS, 6, 1, checks_default);
}

static void real_sys_admin(void **state)
{
    run_confined(DEFAULT_CAPS | BIT(CAP_SYS_ADMIN), 6, 1, checks_sys_admin);
}

static void real_old_kernel(void **state)
{
    run_confined(DEFAULT_CAPS, 4, 7, checks_old_kernel);
}

static void real_all_caps(void **state)
{
    run_confined(~0ULL, 6, 1, checks_all_caps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(profile_header), cmocka_unit_test(capability_groups),
        cmocka_unit_test(masked_paths),   cmocka_unit_test(real_default),
        cmocka_unit_test(real_sys_admin), cmocka_unit_test(real_old_kernel),
        cmocka_unit_test(real_all_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
