#include "engine/vm_kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/host.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

#define STARTUP_LIMIT_MS 30000 /* building a VM takes well under a second */
#define ERR_TEXT_MAX     1024

int vm_kvm_check(const struct vm_def *def, v12n_error *err)
{
    const char *n = def->name;
    if (def->engine != VM_ENGINE_KVM)
        return 0;
    if (def->boot != VM_BOOT_KERNEL || def->kernel == NULL)
        return v12n_fail(err, 0,
                         "vm %s: engine kvm (v12n's own VMM) boots a kernel only: "
                         "give --kernel",
                         n);
    if (def->cdrom != NULL)
        return v12n_fail(err, 0, "vm %s: engine kvm (v12n's own VMM) has no cdrom", n);
    if (def->net == VM_NET_USER)
        return v12n_fail(err, 0,
                         "vm %s: --net user is not available with engine kvm "
                         "(v12n's own VMM): use --net none or tap=NAME",
                         n);
    if (def->display != VM_DISPLAY_NONE)
        return v12n_fail(err, 0, "vm %s: engine kvm (v12n's own VMM) has no display", n);
    if (def->cpus > VM_KVM_MAX_CPUS)
        return v12n_fail(err, 0, "vm %s: engine kvm runs at most %d cpus", n, VM_KVM_MAX_CPUS);
    if (def->n_disks > VM_KVM_MAX_DISKS)
        return v12n_fail(err, 0, "vm %s: engine kvm takes at most %d disks", n, VM_KVM_MAX_DISKS);
    for (int i = 0; i < def->n_disks; i++) {
        const struct vm_disk *d = &def->disks[i];
        if (d->format == NULL || strcmp(d->format, "raw") != 0)
            return v12n_fail(err, 0,
                             "vm %s: disk %s is %s; engine kvm (v12n's own VMM) reads raw "
                             "images only",
                             n, d->path, d->format ? d->format : "of no known format");
        if (strchr(d->path, ',') != NULL)
            return v12n_fail(err, 0, "vm %s: disk %s: engine kvm takes no ',' in a disk path", n,
                             d->path);
    }
    return 0;
}

void vm_kvm_why(char *buf, size_t len)
{
    struct host_kvm kvm;
    host_probe_kvm(&kvm);
    snprintf(buf, len, "engine kvm: v12n's own VMM%s",
             kvm.kind == HOST_KVM_PVM
                 ? " (KVM here is PVM: the guest runs under KVM's instruction emulator)"
                 : "");
}

bool vm_kvm_is_vmm(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    v12n_error ignored = {0};
    size_t len = 0;
    auto_free char *text = v12n_read_file(path, &len, &ignored);
    if (text == NULL)
        return false;
    /* NUL-separated: argv[1..3] are "vm", "run", "--managed" */
    const char *want[] = {"vm", "run", "--managed"};
    size_t at = strnlen(text, len) + 1;
    for (int i = 0; i < 3; i++) {
        if (at >= len || strcmp(text + at, want[i]) != 0)
            return false;
        at += strlen(text + at) + 1;
    }
    return true;
}

/* The managed VMM's argv (v12n_strv_free). */
static char **build_argv(const struct vm_def *def, const char *run_dir)
{
    char **argv = calloc(24 + 2 * VM_KVM_MAX_DISKS, sizeof *argv);
    if (argv == NULL)
        return NULL;
    int n = 0;
    bool ok = true;
#define ADD(s) ok = ok && (argv[n++] = strdup(s)) != NULL
    ADD("v12n");
    ADD("vm");
    ADD("run");
    ADD("--managed");
    ADD(run_dir);
    ADD("--kernel");
    ADD(def->kernel);
    if (def->initrd != NULL) {
        ADD("--initrd");
        ADD(def->initrd);
    }
    if (def->cmdline != NULL) {
        ADD("--cmdline");
        ADD(def->cmdline);
    }
    ADD("--cpus");
    ok = ok && asprintf(&argv[n++], "%u", def->cpus) >= 0;
    ADD("--memory");
    ok = ok && asprintf(&argv[n++], "%lluM", (unsigned long long)def->memory_mib) >= 0;
    for (int i = 0; i < def->n_disks && i < VM_KVM_MAX_DISKS; i++) {
        ADD("--disk");
        ADD(def->disks[i].path);
    }
    ADD("--net");
    if (def->net == VM_NET_TAP)
        ok = ok && asprintf(&argv[n++], "tap=%s", def->tap) >= 0;
    else
        ADD("none");
#undef ADD
    if (!ok) {
        for (int i = 0; i < n; i++)
            free(argv[i]);
        free(argv);
        return NULL;
    }
    return argv;
}

/* In the forked child: a new session, detached from the CLI (double fork:
 * the VMM is nobody's child to reap), in / (pinning no mount),
 * stdin/stdout /dev/null, stderr the starter's pipe.  Only async-signal-safe calls. */
static void __attribute__((noreturn)) exec_vmm(char **argv, int err_fd)
{
    if (setsid() < 0)
        _exit(127);
    pid_t pid = fork();
    if (pid != 0)
        _exit(pid < 0 ? 127 : 0);
    int null = open("/dev/null", O_RDWR);
    if (chdir("/") < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(127);
    close_range(3, ~0U, 0);
    execv("/proc/self/exe", argv);
    static const char msg[] = "v12n: exec /proc/self/exe failed\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(127);
}

/* What the VMM wrote on stderr until it redirected it (ready) or exited. */
static int read_startup(int fd, char *text, size_t len, const char *name, v12n_error *err)
{
    size_t got = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, STARTUP_LIMIT_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return v12n_fail_errno(err, "vm %s: wait for the VMM", name);
        if (r == 0)
            return v12n_fail(err, ETIMEDOUT, "vm %s: the VMM did not start in %d s", name,
                             STARTUP_LIMIT_MS / 1000);
        char buf[256];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t take = (size_t)n < len - 1 - got ? (size_t)n : len - 1 - got;
        memcpy(text + got, buf, take);
        got += take;
    }
    text[got] = '\0';
    return 0;
}

static int startup_result(const struct vm_def *def, const char *run_dir, const char *text,
                          v12n_error *err)
{
    auto_free char *pidfile = NULL;
    if (asprintf(&pidfile, "%s/qemu.pid", run_dir) < 0)
        return v12n_fail(err, ENOMEM, "vm %s", def->name);
    if (text[0] == '\0' && v12n_path_exists(pidfile))
        return 0;
    const char *s = strncmp(text, "v12n: ", 6) == 0 ? text + 6 : text;
    int line = (int)strcspn(s, "\n");
    return v12n_fail(err, 0, "vm %s: v12n's own VMM: %.*s", def->name, line,
                     line ? s : "exited at startup");
}

int vm_kvm_spawn(const struct vm_def *def, const char *run_dir, v12n_error *err)
{
    char **argv = build_argv(def, run_dir);
    if (argv == NULL)
        return v12n_fail(err, ENOMEM, "vm %s", def->name);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        v12n_strv_free(argv);
        return v12n_fail_errno(err, "vm %s: pipe", def->name);
    }
    pid_t pid = fork();
    if (pid == 0)
        exec_vmm(argv, p[1]);
    int e = errno;
    close(p[1]);
    v12n_strv_free(argv);
    if (pid < 0) {
        close(p[0]);
        return v12n_fail(err, e, "vm %s: fork", def->name);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    char text[ERR_TEXT_MAX];
    int r = read_startup(p[0], text, sizeof text, def->name, err);
    close(p[0]);
    return r < 0 ? -1 : startup_result(def, run_dir, text, err);
}
