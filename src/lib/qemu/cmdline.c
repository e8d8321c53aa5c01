/* qemu_vm_config -> argv.  Only options that every QEMU since 6.2 accepts,
 * with -nodefaults so that the guest sees exactly the devices we list. */
#include "qemu/cmdline.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu/run.h"
#include "util/cleanup.h"
#include "util/json.h"

char *qemu_escape_opt(const char *value)
{
    size_t n = strlen(value), commas = 0;
    for (size_t i = 0; i < n; i++)
        commas += value[i] == ',';
    char *out = malloc(n + commas + 1);
    if (out == NULL)
        return NULL;
    char *o = out;
    for (size_t i = 0; i < n; i++) {
        *o++ = value[i];
        if (value[i] == ',')
            *o++ = ',';
    }
    *o = '\0';
    return out;
}

struct argv_builder {
    char **v;
    size_t len, cap;
    bool oom;
};

static void add(struct argv_builder *b, const char *s)
{
    if (b->oom)
        return;
    if (b->len + 2 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 32;
        char **v = realloc(b->v, cap * sizeof *v);
        if (v == NULL) {
            b->oom = true;
            return;
        }
        b->v = v;
        b->cap = cap;
    }
    char *copy = strdup(s);
    if (copy == NULL) {
        b->oom = true;
        return;
    }
    b->v[b->len++] = copy;
    b->v[b->len] = NULL;
}

static void addf(struct argv_builder *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void addf(struct argv_builder *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0) {
        b->oom = true;
        return;
    }
    add(b, s);
    free(s);
}

/* An option whose value holds a path: escaped. */
static void add_path_opt(struct argv_builder *b, const char *opt, const char *prefix,
                         const char *path, const char *tail)
{
    auto_free char *esc = qemu_escape_opt(path);
    if (esc == NULL) {
        b->oom = true;
        return;
    }
    add(b, opt);
    addf(b, "%s%s%s", prefix, esc, tail ? tail : "");
}

static bool bad_format(const char *f)
{
    return f == NULL || (strcmp(f, "qcow2") != 0 && strcmp(f, "raw") != 0);
}

static int validate(const struct qemu_vm_config *c, const char *vm, v12n_error *err)
{
    if (c->memory_mib == 0)
        return v12n_fail(err, 0, "vm %s: memory: must be at least 1 MiB", vm);
    if (c->cpus == 0 || c->cpus > 255)
        return v12n_fail(err, 0, "vm %s: cpus: %u is not between 1 and 255", vm, c->cpus);
    if (c->n_drives < 0 || c->n_drives > QEMU_MAX_DRIVES)
        return v12n_fail(err, 0, "vm %s: at most %d drives", vm, QEMU_MAX_DRIVES);
    for (int i = 0; i < c->n_drives; i++) {
        if (c->drives[i].path == NULL || c->drives[i].path[0] == '\0')
            return v12n_fail(err, 0, "vm %s: drive %d: no path", vm, i);
        if (bad_format(c->drives[i].format))
            return v12n_fail(err, 0, "vm %s: drive %s: format must be qcow2 or raw", vm,
                             c->drives[i].path);
    }
    if (c->machine == QEMU_MACHINE_MICROVM && c->kernel == NULL)
        return v12n_fail(err, 0, "vm %s: microvm has no firmware boot: needs a kernel", vm);
    if (c->machine == QEMU_MACHINE_MICROVM && c->cdrom != NULL)
        return v12n_fail(err, 0, "vm %s: microvm has no cdrom drive", vm);
    if ((c->initrd != NULL || c->append != NULL) && c->kernel == NULL)
        return v12n_fail(err, 0, "vm %s: initrd and append need a kernel", vm);
    if (c->net == QEMU_NET_TAP && (c->tap == NULL || c->tap[0] == '\0'))
        return v12n_fail(err, 0, "vm %s: net tap: no interface name", vm);
    if (c->serial != QEMU_SERIAL_NONE && (c->serial_path == NULL || c->serial_path[0] == '\0'))
        return v12n_fail(err, 0, "vm %s: serial: no path", vm);
    if (c->display == QEMU_DISPLAY_VNC && (c->vnc_display > 99 || c->vnc_to > 99))
        return v12n_fail(err, 0, "vm %s: vnc display %u out of range", vm, c->vnc_display);
    if (c->daemonize && c->pidfile == NULL)
        return v12n_fail(err, 0, "vm %s: daemonize needs a pidfile to find QEMU again", vm);
    if (c->boot_order != NULL && strspn(c->boot_order, "acdn") != strlen(c->boot_order))
        return v12n_fail(err, 0, "vm %s: boot order \"%s\" is not made of a, c, d, n", vm,
                         c->boot_order);
    if (c->mac != NULL && strspn(c->mac, "0123456789abcdefABCDEF:") != strlen(c->mac))
        return v12n_fail(err, 0, "vm %s: mac \"%s\" is not an address", vm, c->mac);
    return 0;
}

static void add_machine(struct argv_builder *b, const struct qemu_vm_config *c)
{
    bool kvm = c->accel == QEMU_ACCEL_KVM;
    add(b, "-machine");
    add(b, c->machine == QEMU_MACHINE_MICROVM ? "microvm" : "q35");
    add(b, "-accel");
    add(b, kvm ? "kvm" : "tcg");
    add(b, "-cpu");
    add(b, c->cpu ? c->cpu : kvm ? "host" : "max");
    add(b, "-smp");
    addf(b, "%u", c->cpus);
    add(b, "-m");
    addf(b, "%lluM", (unsigned long long)c->memory_mib);
}

/* q35 puts virtio on PCI (if=virtio); microvm has virtio-mmio only. */
static void add_drives(struct argv_builder *b, const struct qemu_vm_config *c)
{
    bool mmio = c->machine == QEMU_MACHINE_MICROVM;
    for (int i = 0; i < c->n_drives; i++) {
        const struct qemu_drive *d = &c->drives[i];
        char tail[96];
        snprintf(tail, sizeof tail, ",format=%s,if=%s,id=drive%d%s", d->format,
                 mmio ? "none" : "virtio", i, d->readonly ? ",readonly=on" : "");
        add_path_opt(b, "-drive", "file=", d->path, tail);
        if (mmio) {
            add(b, "-device");
            addf(b, "virtio-blk-device,drive=drive%d", i);
        }
    }
    if (c->cdrom != NULL)
        add_path_opt(b, "-drive", "file=", c->cdrom, ",media=cdrom,readonly=on");
}

static void add_kernel(struct argv_builder *b, const struct qemu_vm_config *c)
{
    if (c->boot_order != NULL) {
        add(b, "-boot");
        addf(b, "order=%s", c->boot_order);
    }
    if (c->kernel == NULL)
        return;
    add(b, "-kernel");
    add(b, c->kernel);
    if (c->initrd != NULL) {
        add(b, "-initrd");
        add(b, c->initrd);
    }
    if (c->append != NULL) {
        add(b, "-append");
        add(b, c->append);
    }
}

static void add_net(struct argv_builder *b, const struct qemu_vm_config *c)
{
    if (c->net == QEMU_NET_NONE)
        return;
    const char *model = c->machine == QEMU_MACHINE_MICROVM ? "virtio-net-device" : "virtio-net-pci";
    char mac[64] = "";
    if (c->mac != NULL)
        snprintf(mac, sizeof mac, ",mac=%s", c->mac);
    if (c->net == QEMU_NET_USER) {
        add(b, "-netdev");
        add(b, "user,id=net0");
    } else {
        auto_free char *tap = qemu_escape_opt(c->tap);
        if (tap == NULL) {
            b->oom = true;
            return;
        }
        add(b, "-netdev");
        addf(b, "tap,id=net0,ifname=%s,script=no,downscript=no", tap);
    }
    add(b, "-device");
    addf(b, "%s,netdev=net0%s", model, mac);
}

static void add_serial(struct argv_builder *b, const struct qemu_vm_config *c)
{
    if (c->serial == QEMU_SERIAL_FILE) {
        add_path_opt(b, "-chardev", "file,id=serial0,path=", c->serial_path, NULL);
    } else if (c->serial == QEMU_SERIAL_SOCKET) {
        /* the log records the guest's output whether or not a client is connected */
        auto_free char *log = c->serial_log ? qemu_escape_opt(c->serial_log) : NULL;
        auto_free char *tail = NULL;
        if ((c->serial_log != NULL && log == NULL) ||
            asprintf(&tail, ",server=on,wait=off%s%s", log ? ",logfile=" : "", log ? log : "") <
                0) {
            b->oom = true;
            return;
        }
        add_path_opt(b, "-chardev", "socket,id=serial0,path=", c->serial_path, tail);
    } else {
        return;
    }
    add(b, "-serial");
    add(b, "chardev:serial0");
}

static void add_control(struct argv_builder *b, const struct qemu_vm_config *c)
{
    if (c->display == QEMU_DISPLAY_VNC) {
        add(b, "-vga");
        add(b, "std");
        add(b, "-vnc");
        if (c->vnc_to > c->vnc_display)
            addf(b, "127.0.0.1:%u,to=%u", c->vnc_display, c->vnc_to);
        else
            addf(b, "127.0.0.1:%u", c->vnc_display);
    } else {
        add(b, "-display");
        add(b, "none");
    }
    if (c->qmp_socket != NULL)
        add_path_opt(b, "-qmp", "unix:", c->qmp_socket, ",server=on,wait=off");
    if (c->pidfile != NULL) {
        add(b, "-pidfile");
        add(b, c->pidfile);
    }
    if (c->daemonize)
        add(b, "-daemonize");
    if (c->no_shutdown)
        add(b, "-no-shutdown");
}

int qemu_build_argv(const struct qemu_vm_config *c, char ***argv, v12n_error *err)
{
    const char *vm = c->name ? c->name : "(unnamed)";
    if (validate(c, vm, err) < 0)
        return -1;
    char binary[PATH_MAX];
    if (c->binary == NULL && qemu_find_binary(QEMU_SYSTEM_BINARY, binary, sizeof binary, err) < 0)
        return v12n_error_wrap(err, "vm %s", vm);
    struct argv_builder b = {0};
    add(&b, c->binary ? c->binary : binary);
    if (c->name != NULL) {
        auto_free char *name = qemu_escape_opt(c->name);
        add(&b, "-name");
        add(&b, name ? name : "");
    }
    add(&b, "-nodefaults");
    add(&b, "-no-user-config");
    add_machine(&b, c);
    add_drives(&b, c);
    add_kernel(&b, c);
    add_net(&b, c);
    add_serial(&b, c);
    add_control(&b, c);
    if (b.oom) {
        v12n_strv_free(b.v);
        return v12n_fail(err, ENOMEM, "vm %s: command line", vm);
    }
    *argv = b.v;
    return 0;
}
