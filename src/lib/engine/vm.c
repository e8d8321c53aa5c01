/* Starting, finding and stopping a VM's QEMU (see vm.h for the model). */
#include "engine/vm.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "engine/vm_kvm.h"
#include "host/host.h"
#include "qemu/cmdline.h"
#include "qemu/qmp.h"
#include "qemu/run.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

#define QMP_TIMEOUT_MS 5000

static const char *const state_names[] = {"shut off", "running", "paused", "crashed",
                                          "shutting down"};

const char *vm_state_name(enum vm_state s)
{
    return state_names[s];
}

char *vm_run_path(const char *name, const char *file)
{
    char *s = NULL;
    int r = file ? asprintf(&s, VM_RUN_ROOT "/%s/%s", name, file)
                 : asprintf(&s, VM_RUN_ROOT "/%s", name);
    return r < 0 ? NULL : s;
}

/* The pid in the pidfile, 0 when there is none. */
static int read_pid(const char *name, pid_t *pid, time_t *mtime, v12n_error *err)
{
    *pid = 0;
    auto_free char *path = vm_run_path(name, "qemu.pid");
    if (path == NULL)
        return v12n_fail(err, ENOMEM, "vm %s", name);
    struct stat st;
    if (stat(path, &st) < 0)
        return errno == ENOENT ? 0 : v12n_fail_errno(err, "vm %s: %s", name, path);
    auto_free char *text = v12n_read_file(path, NULL, err);
    if (text == NULL)
        return errno == ENOENT ? 0 : v12n_error_wrap(err, "vm %s", name);
    char *end;
    long v = strtol(text, &end, 10);
    if (v <= 0 || v > INT_MAX || (*end != '\0' && *end != '\n'))
        return v12n_fail(err, 0, "vm %s: %s holds no pid", name, path);
    *pid = (pid_t)v;
    *mtime = st.st_mtime;
    return 0;
}

/* pid is alive and is a QEMU or v12n's managed VMM (not a recycled pid). */
static bool is_qemu(pid_t pid)
{
    char link[64], exe[PATH_MAX];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(link, exe, sizeof exe - 1);
    if (n < 0)
        return false;
    exe[n] = '\0';
    return strstr(exe, "qemu-system") != NULL || vm_kvm_is_vmm(pid);
}

static int qmp_open(const char *name, struct qmp_client **c, v12n_error *err)
{
    auto_free char *sock = vm_run_path(name, "qmp.sock");
    if (sock == NULL)
        return v12n_fail(err, ENOMEM, "vm %s", name);
    if (qmp_connect(sock, QMP_TIMEOUT_MS, c, err) < 0)
        return v12n_error_wrap(err, "vm %s", name);
    return 0;
}

static enum vm_state state_from_qmp(const char *status)
{
    if (strcmp(status, "paused") == 0 || strcmp(status, "suspended") == 0 ||
        strcmp(status, "prelaunch") == 0 || strcmp(status, "inmigrate") == 0)
        return VM_PAUSED;
    if (strcmp(status, "shutdown") == 0)
        return VM_SHUTDOWN_PENDING;
    if (strcmp(status, "internal-error") == 0 || strcmp(status, "guest-panicked") == 0)
        return VM_CRASHED;
    return VM_RUNNING;
}

/* Whether the run directory was made by another store's VM of this name. */
static bool run_dir_foreign(const struct vm_def *def)
{
    auto_free char *path = vm_run_path(def->name, "owner");
    v12n_error ignored = {0};
    auto_free char *owner = path ? v12n_read_file(path, NULL, &ignored) : NULL;
    return owner != NULL && def->store_dir != NULL && strcmp(owner, def->store_dir) != 0;
}

static int write_owner(const struct vm_def *def, v12n_error *err)
{
    auto_free char *path = vm_run_path(def->name, "owner");
    if (path == NULL)
        return v12n_fail(err, ENOMEM, "vm %s", def->name);
    const char *dir = def->store_dir ? def->store_dir : "";
    if (v12n_write_file_atomic(path, dir, strlen(dir), 0600, err) < 0)
        return v12n_error_wrap(err, "vm %s", def->name);
    return 0;
}

int vm_status_get(const struct vm_def *def, struct vm_status *st, v12n_error *err)
{
    memset(st, 0, sizeof *st);
    if (run_dir_foreign(def)) {
        st->foreign = true;
        return 0; /* never started from this store */
    }
    pid_t pid;
    time_t mtime = 0;
    if (read_pid(def->name, &pid, &mtime, err) < 0)
        return -1;
    if (pid == 0)
        return 0; /* QEMU removed its pidfile: a clean exit, or never started */
    if (!is_qemu(pid)) {
        st->state = VM_CRASHED;
        return 0;
    }
    st->pid = pid;
    st->started = mtime;
    st->state = VM_RUNNING;
    struct qmp_client *c = NULL;
    v12n_error qerr = {0};
    json_t *ret = NULL;
    /* A QEMU that does not answer QMP is still running; say what we know. */
    if (qmp_open(def->name, &c, &qerr) == 0 &&
        qmp_execute(c, "query-status", NULL, &ret, QMP_TIMEOUT_MS, &qerr) == 0) {
        const char *s = json_string_value(json_object_get(ret, "status"));
        if (s != NULL) {
            snprintf(st->qemu_status, sizeof st->qemu_status, "%s", s);
            st->state = state_from_qmp(s);
        }
    }
    json_decref(ret);
    if (c != NULL)
        qmp_close(c);
    return 0;
}

static int remove_run_file(const char *name, const char *file, v12n_error *err)
{
    auto_free char *p = vm_run_path(name, file);
    if (p == NULL)
        return v12n_fail(err, ENOMEM, "vm %s", name);
    if (unlink(p) < 0 && errno != ENOENT)
        return v12n_fail_errno(err, "vm %s: remove %s", name, p);
    return 0;
}

int vm_clean_run_dir(const char *name, bool remove_log, v12n_error *err)
{
    if (remove_run_file(name, "qemu.pid", err) < 0 || remove_run_file(name, "qmp.sock", err) < 0 ||
        remove_run_file(name, "serial.sock", err) < 0)
        return -1;
    if (!remove_log)
        return 0;
    if (remove_run_file(name, "console.log", err) < 0 || remove_run_file(name, "owner", err) < 0)
        return -1;
    auto_free char *dir = vm_run_path(name, NULL);
    if (dir == NULL)
        return v12n_fail(err, ENOMEM, "vm %s", name);
    if (rmdir(dir) < 0 && errno != ENOENT && errno != ENOTEMPTY)
        return v12n_fail_errno(err, "vm %s: remove %s", name, dir);
    return 0;
}

/* ---- start ---- */

static int choose_accel(const struct vm_def *def, struct vm_start_info *info, v12n_error *err)
{
    if (def->engine == VM_ENGINE_KVM) {
        info->own_vmm = true;
        snprintf(info->accel, sizeof info->accel, "kvm");
        vm_kvm_why(info->why, sizeof info->why);
        return vm_kvm_check(def, err);
    }
    if (def->engine == VM_ENGINE_QEMU) {
        snprintf(info->accel, sizeof info->accel, "tcg");
        snprintf(info->why, sizeof info->why, "engine qemu: software emulation (TCG)");
        return 0;
    }
    struct host_kvm kvm;
    struct host_qemu q;
    host_probe_kvm(&kvm);
    host_probe_qemu_paths(&q, &kvm);
    if (q.kvm) {
        snprintf(info->accel, sizeof info->accel, "kvm");
        snprintf(info->why, sizeof info->why, "KVM is hardware-assisted (%s)", kvm.module);
    } else {
        snprintf(info->accel, sizeof info->accel, "tcg");
        snprintf(info->why, sizeof info->why, "TCG: %s",
                 kvm.kind == HOST_KVM_PVM ? "KVM here is PVM, not hardware-assisted"
                 : kvm.usable             ? "KVM here is not hardware-assisted"
                                          : "no usable KVM");
    }
    return 0;
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static int check_against(const struct vm_def *def, const struct vm_def *other, v12n_error *err)
{
    for (int i = 0; i < def->n_disks; i++) {
        for (int j = 0; j < other->n_disks; j++) {
            if (same_file(def->disks[i].path, other->disks[j].path))
                return v12n_fail(err, 0, "vm %s: disk %s is in use by running vm %s", def->name,
                                 def->disks[i].path, other->name);
        }
    }
    return 0;
}

int vm_check_disks_free(const char *root, const struct vm_def *def, v12n_error *err)
{
    char **names = NULL;
    if (vm_store_list(root, &names, err) < 0)
        return -1;
    int r = 0;
    for (char **n = names; r == 0 && *n != NULL; n++) {
        if (strcmp(*n, def->name) == 0)
            continue;
        struct vm_def other;
        struct vm_status st;
        v12n_error ignored = {0};
        if (vm_store_load(root, *n, &other, &ignored) < 0)
            continue; /* a broken definition runs nothing */
        if (vm_status_get(&other, &st, &ignored) == 0 && st.pid != 0)
            r = check_against(def, &other, err);
        vm_def_free(&other);
    }
    v12n_strv_free(names);
    return r;
}

/* The first line of QEMU's complaint, without the "qemu-system-x86_64: " prefix. */
static void first_line(const char *text, char *out, size_t len)
{
    const char *s = strstr(text, "qemu-system-x86_64: ");
    s = s ? s + strlen("qemu-system-x86_64: ") : text;
    size_t n = strcspn(s, "\n");
    snprintf(out, len, "%.*s", (int)n, s);
}

static int run_qemu(const struct vm_def *def, char **argv, v12n_error *err)
{
    struct qemu_output out = {0};
    if (qemu_run_capture(argv, &out, err) < 0)
        return v12n_error_wrap(err, "vm %s", def->name);
    int r = 0;
    if (out.status != 0) {
        char line[512];
        first_line(out.err ? out.err : "", line, sizeof line);
        r = v12n_fail(err, 0, "vm %s: qemu: %s", def->name,
                      line[0] ? line : "exited with an error");
    }
    qemu_output_free(&out);
    return r;
}

struct run_paths {
    char *dir, *pid, *qmp, *serial, *log;
};

static void run_paths_free(struct run_paths *p)
{
    free(p->dir);
    free(p->pid);
    free(p->qmp);
    free(p->serial);
    free(p->log);
}

static int run_paths_make(const char *name, struct run_paths *p, v12n_error *err)
{
    p->dir = vm_run_path(name, NULL);
    p->pid = vm_run_path(name, "qemu.pid");
    p->qmp = vm_run_path(name, "qmp.sock");
    p->serial = vm_run_path(name, "serial.sock");
    p->log = vm_run_path(name, "console.log");
    if (!p->dir || !p->pid || !p->qmp || !p->serial || !p->log)
        return v12n_fail(err, ENOMEM, "vm %s", name);
    return 0;
}

static void fill_config(const struct vm_def *def, const struct vm_start_info *info,
                        const struct run_paths *p, struct qemu_vm_config *c)
{
    memset(c, 0, sizeof *c);
    c->name = def->name;
    c->accel = strcmp(info->accel, "kvm") == 0 ? QEMU_ACCEL_KVM : QEMU_ACCEL_TCG;
    c->cpus = def->cpus;
    c->memory_mib = def->memory_mib;
    for (int i = 0; i < def->n_disks && i < QEMU_MAX_DRIVES; i++) {
        c->drives[i].path = def->disks[i].path;
        c->drives[i].format = def->disks[i].format;
    }
    c->n_drives = def->n_disks;
    c->cdrom = def->cdrom;
    if (def->boot == VM_BOOT_KERNEL) {
        c->kernel = def->kernel;
        c->initrd = def->initrd;
        c->append = def->cmdline;
    }
    c->boot_order = def->boot == VM_BOOT_CDROM ? "dc" : def->boot == VM_BOOT_DISK ? "cd" : NULL;
    c->net = def->net == VM_NET_USER  ? QEMU_NET_USER
             : def->net == VM_NET_TAP ? QEMU_NET_TAP
                                      : QEMU_NET_NONE;
    c->tap = def->tap;
    c->serial = QEMU_SERIAL_SOCKET;
    c->serial_path = p->serial;
    c->serial_log = p->log;
    c->display = def->display == VM_DISPLAY_VNC ? QEMU_DISPLAY_VNC : QEMU_DISPLAY_NONE;
    c->vnc_display = 1; /* QEMU takes the first free one; query-vnc says which */
    c->vnc_to = 99;
    c->qmp_socket = p->qmp;
    c->pidfile = p->pid;
    c->daemonize = true;
}

/* The other store's QEMU behind this name's run directory is alive. */
static bool foreign_running(const struct vm_def *def)
{
    pid_t pid;
    time_t mtime;
    v12n_error ignored = {0};
    return read_pid(def->name, &pid, &mtime, &ignored) == 0 && pid != 0 && is_qemu(pid);
}

static int start_prepare(const char *root, const struct vm_def *def, v12n_error *err)
{
    struct vm_status st;
    if (vm_status_get(def, &st, err) < 0)
        return -1;
    if (st.pid != 0)
        return v12n_fail(err, 0, "vm %s: already running (pid %d)", def->name, (int)st.pid);
    if (st.foreign && foreign_running(def))
        return v12n_fail(err, 0, "vm %s: a VM of this name from another store is running",
                         def->name);
    for (int i = 0; i < def->n_disks; i++) {
        if (!v12n_path_exists(def->disks[i].path))
            return v12n_fail(err, ENOENT, "vm %s: disk %s", def->name, def->disks[i].path);
    }
    if (def->boot == VM_BOOT_KERNEL && !v12n_path_exists(def->kernel))
        return v12n_fail(err, ENOENT, "vm %s: kernel %s", def->name, def->kernel);
    if (def->cdrom != NULL && !v12n_path_exists(def->cdrom))
        return v12n_fail(err, ENOENT, "vm %s: cdrom %s", def->name, def->cdrom);
    if (vm_check_disks_free(root, def, err) < 0)
        return -1;
    /* a crashed QEMU's leftovers; its log goes, the new boot writes its own */
    return vm_clean_run_dir(def->name, false, err);
}

/* The port QEMU's VNC server took ("127.0.0.1:5901"). */
static int vnc_address(const struct vm_def *def, char *out, size_t len, v12n_error *err)
{
    struct qmp_client *c = NULL;
    json_t *ret = NULL;
    if (qmp_open(def->name, &c, err) < 0)
        return -1;
    int r = qmp_execute(c, "query-vnc", NULL, &ret, QMP_TIMEOUT_MS, err);
    qmp_close(c);
    if (r < 0)
        return v12n_error_wrap(err, "vm %s", def->name);
    const char *host = json_string_value(json_object_get(ret, "host"));
    const char *port = json_string_value(json_object_get(ret, "service"));
    if (host != NULL && port != NULL)
        snprintf(out, len, "%s:%s", host, port);
    else
        r = v12n_fail(err, 0, "vm %s: QEMU reports no VNC server", def->name);
    json_decref(ret);
    return r;
}

int vm_start(const char *root, const struct vm_def *def, struct vm_start_info *info,
             v12n_error *err)
{
    memset(info, 0, sizeof *info);
    if (choose_accel(def, info, err) < 0 || start_prepare(root, def, err) < 0)
        return -1;
    struct run_paths p = {0};
    if (run_paths_make(def->name, &p, err) < 0 || v12n_mkdir_p(p.dir, 0700, err) < 0) {
        run_paths_free(&p);
        return v12n_error_wrap(err, "vm %s", def->name);
    }
    if (write_owner(def, err) < 0) {
        run_paths_free(&p);
        return -1;
    }
    if (def->engine == VM_ENGINE_KVM) {
        snprintf(info->console, sizeof info->console, "%s", p.serial);
        int r = vm_kvm_spawn(def, p.dir, err);
        run_paths_free(&p);
        return r;
    }
    struct qemu_vm_config c;
    fill_config(def, info, &p, &c);
    char **argv = NULL;
    int r = qemu_build_argv(&c, &argv, err);
    if (r == 0)
        r = run_qemu(def, argv, err);
    v12n_strv_free(argv);
    snprintf(info->console, sizeof info->console, "%s", p.serial);
    if (r == 0 && def->display == VM_DISPLAY_VNC)
        r = vnc_address(def, info->vnc, sizeof info->vnc, err);
    run_paths_free(&p);
    return r;
}

/* ---- stop ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Without pidfds (a kernel before 5.3): look every 50 ms. */
static bool poll_gone(pid_t pid, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        if (!is_qemu(pid))
            return true;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return !is_qemu(pid);
}

/* QEMU is daemonized, not our child: a pidfd tells us the moment it exits,
 * where a sleep loop adds up to its period to every stop. */
static bool wait_gone(pid_t pid, int timeout_ms)
{
    auto_close int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0)
        return errno == ESRCH ? true : poll_gone(pid, timeout_ms);
    int64_t deadline = now_ms() + timeout_ms;
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    for (;;) {
        if (!is_qemu(pid))
            return true;
        int64_t left = deadline - now_ms();
        /* readable when QEMU has exited; a signal only makes us wait again */
        if (poll(&p, 1, left > 0 ? (int)left : 0) >= 0 || errno != EINTR)
            return !is_qemu(pid);
    }
}

static int qmp_command(const struct vm_def *def, const char *cmd, v12n_error *err)
{
    struct qmp_client *c = NULL;
    if (qmp_open(def->name, &c, err) < 0)
        return -1;
    int r = qmp_execute(c, cmd, NULL, NULL, QMP_TIMEOUT_MS, err);
    qmp_close(c);
    return r < 0 ? v12n_error_wrap(err, "vm %s", def->name) : 0;
}

static int running_pid(const struct vm_def *def, pid_t *pid, v12n_error *err)
{
    struct vm_status st;
    if (vm_status_get(def, &st, err) < 0)
        return -1;
    if (st.pid == 0)
        return v12n_fail(err, 0, "vm %s: not running (%s)", def->name, vm_state_name(st.state));
    *pid = st.pid;
    return 0;
}

/* quit, then SIGKILL; leaves no pidfile so that the VM reads "shut off". */
static int force_off(const struct vm_def *def, pid_t pid, v12n_error *err)
{
    v12n_error ignored = {0};
    if (qmp_command(def, "quit", &ignored) == 0 && wait_gone(pid, 5000))
        return vm_clean_run_dir(def->name, false, err);
    if (is_qemu(pid) && kill(pid, SIGKILL) < 0 && errno != ESRCH)
        return v12n_fail_errno(err, "vm %s: kill qemu %d", def->name, (int)pid);
    if (!wait_gone(pid, 5000))
        return v12n_fail(err, 0, "vm %s: qemu %d survives SIGKILL", def->name, (int)pid);
    return vm_clean_run_dir(def->name, false, err);
}

int vm_shutdown(const struct vm_def *def, int timeout_s, bool *forced, v12n_error *err)
{
    pid_t pid;
    if (forced != NULL)
        *forced = false;
    if (running_pid(def, &pid, err) < 0)
        return -1;
    if (qmp_command(def, "system_powerdown", err) < 0)
        return -1;
    if (wait_gone(pid, timeout_s * 1000))
        return 0;
    if (forced != NULL)
        *forced = true;
    return force_off(def, pid, err);
}

int vm_destroy(const struct vm_def *def, v12n_error *err)
{
    pid_t pid;
    if (running_pid(def, &pid, err) < 0)
        return -1;
    return force_off(def, pid, err);
}

int vm_reboot(const struct vm_def *def, v12n_error *err)
{
    pid_t pid;
    if (running_pid(def, &pid, err) < 0)
        return -1;
    return qmp_command(def, "system_reset", err);
}

/* ---- inspect ---- */

char *vm_log_tail(const char *name, int n)
{
    auto_free char *path = vm_run_path(name, "console.log");
    v12n_error ignored = {0};
    size_t len = 0;
    char *text = path ? v12n_read_file(path, &len, &ignored) : NULL;
    if (text == NULL)
        return strdup("");
    size_t start = len;
    int lines = 0;
    /* a trailing newline ends the last line, it does not start another */
    if (start > 0 && text[start - 1] == '\n')
        start--;
    while (start > 0 && lines < n) {
        if (text[start - 1] == '\n' && ++lines == n)
            break;
        start--;
    }
    memmove(text, text + start, len - start + 1);
    return text;
}

static json_t *disks_json(const struct vm_def *def)
{
    json_t *a = json_array();
    for (int i = 0; a != NULL && i < def->n_disks; i++) {
        json_t *d = json_pack("{s:s, s:s, s:b}", "path", def->disks[i].path, "format",
                              def->disks[i].format, "owned", def->disks[i].owned);
        if (d != NULL && def->disks[i].base != NULL)
            json_object_set_new(d, "base", json_string(def->disks[i].base));
        json_array_append_new(a, d);
    }
    return a;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *vm_inspect_json(const struct vm_def *def, v12n_error *err)
{
    struct vm_status st;
    if (vm_status_get(def, &st, err) < 0)
        return NULL;
    json_t *o = json_pack("{s:s, s:s, s:I, s:i, s:I, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:s, s:s}",
                          "name", def->name, "state", vm_state_name(st.state), "created",
                          (json_int_t)def->created, "cpus", (int)def->cpus, "memory_mib",
                          (json_int_t)def->memory_mib, "disks", disks_json(def), "cdrom",
                          str_or_null(def->cdrom), "kernel", str_or_null(def->kernel), "initrd",
                          str_or_null(def->initrd), "cmdline", str_or_null(def->cmdline), "boot",
                          vm_boot_name(def->boot), "net", vm_net_name(def->net), "display",
                          vm_display_name(def->display), "engine", vm_engine_name(def->engine));
    if (o == NULL) {
        v12n_fail(err, ENOMEM, "vm %s: inspect", def->name);
        return NULL;
    }
    if (def->tap)
        json_object_set_new(o, "tap", json_string(def->tap));
    if (st.pid != 0) {
        json_object_set_new(o, "pid", json_integer(st.pid));
        json_object_set_new(o, "started", json_integer((json_int_t)st.started));
        json_object_set_new(o, "qemu_status", json_string(st.qemu_status));
    }
    auto_free char *console = vm_run_path(def->name, "serial.sock");
    auto_free char *log = vm_run_path(def->name, "console.log");
    json_object_set_new(o, "console", str_or_null(console));
    json_object_set_new(o, "console_log", str_or_null(log));
    if (st.state == VM_CRASHED) {
        auto_free char *tail = vm_log_tail(def->name, 20);
        json_object_set_new(o, "last_log", str_or_null(tail));
    }
    return o;
}
