/* VM definitions on disk: <root>/vms/<name>/vm.json and owned disks. */
#include "engine/vm_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/vm_kvm.h"
#include "qemu/img.h"
#include "qemu/size.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

#define VM_JSON "vm.json"

void vm_def_free(struct vm_def *def)
{
    for (int i = 0; i < def->n_disks; i++) {
        free(def->disks[i].path);
        free(def->disks[i].format);
        free(def->disks[i].base);
    }
    free(def->cdrom);
    free(def->kernel);
    free(def->initrd);
    free(def->cmdline);
    free(def->tap);
    free(def->store_dir);
    memset(def, 0, sizeof *def);
}

int vm_name_check(const char *name, v12n_error *err)
{
    size_t n = strlen(name);
    if (n == 0)
        return v12n_fail(err, 0, "vm: the name is empty");
    if (n > VM_NAME_MAX)
        return v12n_fail(err, 0, "vm %.20s...: the name is longer than %d characters", name,
                         VM_NAME_MAX);
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    if (strchr(alnum, name[0]) == NULL ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
        return v12n_fail(err, 0,
                         "vm \"%s\": a name is letters, digits, '_', '.' and '-', starting "
                         "with a letter or digit",
                         name);
    return 0;
}

char *vm_store_dir(const char *root)
{
    char *s = NULL;
    return asprintf(&s, "%s/vms", root) < 0 ? NULL : s;
}

char *vm_dir(const char *root, const char *name)
{
    char *s = NULL;
    return asprintf(&s, "%s/vms/%s", root, name) < 0 ? NULL : s;
}

/* ---- enum names ---- */

static const char *const boot_names[] = {"disk", "cdrom", "kernel"};
static const char *const net_names[] = {"none", "user", "tap"};
static const char *const display_names[] = {"none", "vnc"};
static const char *const engine_names[] = {"auto", "qemu", "kvm"};

const char *vm_boot_name(enum vm_boot b)
{
    return boot_names[b];
}
const char *vm_net_name(enum vm_net n)
{
    return net_names[n];
}
const char *vm_display_name(enum vm_display d)
{
    return display_names[d];
}
const char *vm_engine_name(enum vm_engine e)
{
    return engine_names[e];
}

static int parse_enum(const char *s, const char *const *names, int n, int *out, const char *what,
                      const char *choices, v12n_error *err)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return v12n_fail(err, 0, "%s \"%s\": must be %s", what, s, choices);
}

int vm_boot_parse(const char *s, enum vm_boot *out, v12n_error *err)
{
    int v = 0;
    if (parse_enum(s, boot_names, 3, &v, "boot", "disk, cdrom or kernel", err) < 0)
        return -1;
    *out = (enum vm_boot)v;
    return 0;
}

int vm_net_parse(const char *s, enum vm_net *out, char **tap, v12n_error *err)
{
    if (strncmp(s, "tap=", 4) == 0) {
        if (s[4] == '\0' || strlen(s + 4) >= 16)
            return v12n_fail(err, 0, "net \"%s\": a tap interface name is 1 to 15 characters", s);
        *tap = strdup(s + 4);
        if (*tap == NULL)
            return v12n_fail(err, ENOMEM, "net");
        *out = VM_NET_TAP;
        return 0;
    }
    int v = 0;
    if (parse_enum(s, net_names, 2, &v, "net", "user, none or tap=NAME", err) < 0)
        return -1;
    *out = (enum vm_net)v;
    return 0;
}

int vm_display_parse(const char *s, enum vm_display *out, v12n_error *err)
{
    int v = 0;
    if (parse_enum(s, display_names, 2, &v, "display", "none or vnc", err) < 0)
        return -1;
    *out = (enum vm_display)v;
    return 0;
}

int vm_engine_parse(const char *s, enum vm_engine *out, v12n_error *err)
{
    int v = 0;
    if (parse_enum(s, engine_names, 3, &v, "engine", "auto, qemu or kvm", err) < 0)
        return -1;
    *out = (enum vm_engine)v;
    return 0;
}

/* ---- --disk ---- */

static bool is_format(const char *f)
{
    return strcmp(f, "qcow2") == 0 || strcmp(f, "raw") == 0;
}

/* A value that starts with a digit is a size ("10G"); anything else a path
 * (write ./10G for a file called that). */
int vm_disk_request_parse(char *text, struct vm_disk_request *out, v12n_error *err)
{
    memset(out, 0, sizeof *out);
    if (text[0] == '\0')
        return v12n_fail(err, 0, "disk: empty");
    if (strncmp(text, "base=", 5) == 0) {
        out->base = text + 5;
        if (out->base[0] == '\0')
            return v12n_fail(err, 0, "disk \"%s\": no base image", text);
        return 0;
    }
    if (text[0] >= '0' && text[0] <= '9') {
        if (qemu_parse_size(text, &out->size, "disk size", err) < 0)
            return -1;
        if (out->size < 1024 * 1024)
            return v12n_fail(err, 0, "disk size \"%s\": at least 1M", text);
        return 0;
    }
    out->path = text;
    char *comma = strrchr(text, ',');
    if (comma != NULL && is_format(comma + 1)) {
        *comma = '\0';
        out->format = comma + 1;
    }
    return 0;
}

/* ---- JSON ---- */

static int set_str(json_t *o, const char *key, const char *v)
{
    return v == NULL ? 0 : json_object_set_new(o, key, json_string(v));
}

static json_t *def_to_json(const struct vm_def *d)
{
    json_t *o = json_object();
    json_t *disks = json_array();
    if (o == NULL || disks == NULL) {
        json_decref(o);
        json_decref(disks);
        return NULL;
    }
    for (int i = 0; i < d->n_disks; i++) {
        json_t *disk = json_pack("{s:s, s:s, s:b}", "path", d->disks[i].path, "format",
                                 d->disks[i].format, "owned", d->disks[i].owned);
        if (disk == NULL || set_str(disk, "base", d->disks[i].base) < 0 ||
            json_array_append_new(disks, disk) < 0) {
            json_decref(o);
            json_decref(disks);
            return NULL;
        }
    }
    int r = json_object_set_new(o, "name", json_string(d->name));
    r |= json_object_set_new(o, "created", json_integer((json_int_t)d->created));
    r |= json_object_set_new(o, "cpus", json_integer(d->cpus));
    r |= json_object_set_new(o, "memory_mib", json_integer((json_int_t)d->memory_mib));
    r |= json_object_set_new(o, "disks", disks);
    r |= set_str(o, "cdrom", d->cdrom);
    r |= set_str(o, "kernel", d->kernel);
    r |= set_str(o, "initrd", d->initrd);
    r |= set_str(o, "cmdline", d->cmdline);
    r |= json_object_set_new(o, "boot", json_string(vm_boot_name(d->boot)));
    r |= json_object_set_new(o, "net", json_string(vm_net_name(d->net)));
    r |= set_str(o, "tap", d->tap);
    r |= json_object_set_new(o, "display", json_string(vm_display_name(d->display)));
    r |= json_object_set_new(o, "engine", json_string(vm_engine_name(d->engine)));
    if (r != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int dup_str(json_t *o, const char *key, char **out, const char *where, v12n_error *err)
{
    const char *s = NULL;
    if (v12n_json_get_string(o, key, &s, where, err) < 0)
        return -1;
    if (s != NULL && (*out = strdup(s)) == NULL)
        return v12n_fail(err, ENOMEM, "%s", where);
    return 0;
}

static int disks_from_json(json_t *arr, struct vm_def *d, const char *where, v12n_error *err)
{
    if (arr == NULL)
        return 0;
    if (json_array_size(arr) > VM_MAX_DISKS)
        return v12n_fail(err, 0, "%s: more than %d disks", where, VM_MAX_DISKS);
    size_t i;
    json_t *disk;
    json_array_foreach(arr, i, disk)
    {
        struct vm_disk *k = &d->disks[d->n_disks++];
        if (dup_str(disk, "path", &k->path, where, err) < 0 ||
            dup_str(disk, "format", &k->format, where, err) < 0 ||
            dup_str(disk, "base", &k->base, where, err) < 0 ||
            v12n_json_get_bool(disk, "owned", &k->owned, where, err) < 0)
            return -1;
        if (k->path == NULL || k->path[0] != '/' || k->format == NULL || !is_format(k->format))
            return v12n_fail(err, 0, "%s: disk %zu: needs an absolute path and qcow2 or raw", where,
                             i);
    }
    return 0;
}

static int enum_from_json(json_t *o, const char *key,
                          int (*parse)(const char *, void *, v12n_error *), void *out,
                          const char *where, v12n_error *err)
{
    const char *s = NULL;
    if (v12n_json_get_string(o, key, &s, where, err) < 0)
        return -1;
    if (s != NULL && parse(s, out, err) < 0)
        return v12n_error_wrap(err, "%s", where);
    return 0;
}

static int parse_boot_v(const char *s, void *o, v12n_error *e)
{
    return vm_boot_parse(s, o, e);
}
static int parse_display_v(const char *s, void *o, v12n_error *e)
{
    return vm_display_parse(s, o, e);
}
static int parse_engine_v(const char *s, void *o, v12n_error *e)
{
    return vm_engine_parse(s, o, e);
}

static int def_from_json(json_t *o, struct vm_def *d, const char *where, v12n_error *err)
{
    const char *name = NULL, *net = NULL;
    int64_t created = 0;
    uint32_t cpus = 1;
    uint64_t mem = 0;
    json_t *disks = NULL;
    if (v12n_json_get_string(o, "name", &name, where, err) < 0 ||
        v12n_json_get_int64(o, "created", &created, where, err) < 0 ||
        v12n_json_get_uint32(o, "cpus", &cpus, where, err) < 0 ||
        v12n_json_get_uint64(o, "memory_mib", &mem, where, err) < 0 ||
        v12n_json_get_array(o, "disks", &disks, where, err) < 0 ||
        v12n_json_get_string(o, "net", &net, where, err) < 0)
        return -1;
    if (name == NULL || vm_name_check(name, err) < 0)
        return v12n_fail(err, 0, "%s: no valid name", where);
    snprintf(d->name, sizeof d->name, "%s", name);
    d->created = (time_t)created;
    d->cpus = cpus;
    d->memory_mib = mem;
    if (disks_from_json(disks, d, where, err) < 0 ||
        dup_str(o, "cdrom", &d->cdrom, where, err) < 0 ||
        dup_str(o, "kernel", &d->kernel, where, err) < 0 ||
        dup_str(o, "initrd", &d->initrd, where, err) < 0 ||
        dup_str(o, "cmdline", &d->cmdline, where, err) < 0 ||
        enum_from_json(o, "boot", parse_boot_v, &d->boot, where, err) < 0 ||
        enum_from_json(o, "display", parse_display_v, &d->display, where, err) < 0 ||
        enum_from_json(o, "engine", parse_engine_v, &d->engine, where, err) < 0)
        return -1;
    if (net != NULL && strcmp(net, "tap") == 0) {
        d->net = VM_NET_TAP;
        if (dup_str(o, "tap", &d->tap, where, err) < 0)
            return -1;
        if (d->tap == NULL)
            return v12n_fail(err, 0, "%s: net tap without an interface", where);
    } else if (net != NULL && vm_net_parse(net, &d->net, &d->tap, err) < 0) {
        return v12n_error_wrap(err, "%s", where);
    }
    return 0;
}

int vm_store_load(const char *root, const char *name, struct vm_def *def, v12n_error *err)
{
    memset(def, 0, sizeof *def);
    if (vm_name_check(name, err) < 0)
        return -1;
    auto_free char *dir = vm_dir(root, name);
    auto_free char *path = NULL;
    if (dir == NULL || asprintf(&path, "%s/" VM_JSON, dir) < 0)
        return v12n_fail(err, ENOMEM, "vm %s", name);
    if (!v12n_path_exists(path))
        return v12n_fail(err, 0, "vm %s: no such VM", name);
    auto_json json_t *o = v12n_json_load(path, err);
    if (o == NULL)
        return v12n_error_wrap(err, "vm %s", name);
    char where[VM_NAME_MAX + 16];
    snprintf(where, sizeof where, "vm %s", name);
    if (def_from_json(o, def, where, err) < 0) {
        vm_def_free(def);
        return -1;
    }
    if (strcmp(def->name, name) != 0) {
        vm_def_free(def);
        return v12n_fail(err, 0, "vm %s: vm.json names another VM", name);
    }
    def->store_dir = realpath(dir, NULL);
    if (def->store_dir == NULL) {
        vm_def_free(def);
        return v12n_fail_errno(err, "vm %s: %s", name, dir);
    }
    return 0;
}

static int write_def(const char *dir, const struct vm_def *def, v12n_error *err)
{
    auto_json json_t *o = def_to_json(def);
    auto_free char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    auto_free char *path = NULL;
    if (text == NULL || asprintf(&path, "%s/" VM_JSON, dir) < 0)
        return v12n_fail(err, ENOMEM, "vm %s: definition", def->name);
    if (v12n_write_file_atomic(path, text, strlen(text), 0644, err) < 0)
        return v12n_error_wrap(err, "vm %s", def->name);
    return 0;
}

int vm_store_save(const char *root, const struct vm_def *def, v12n_error *err)
{
    auto_free char *dir = vm_dir(root, def->name);
    if (dir == NULL)
        return v12n_fail(err, ENOMEM, "vm %s", def->name);
    return write_def(dir, def, err);
}

/* ---- create ---- */

/* An absolute, existing regular file (or block device) for what. */
static int resolve_file(const char *vm, const char *what, char **path, v12n_error *err)
{
    if (*path == NULL)
        return 0;
    char buf[PATH_MAX];
    struct stat st;
    if (realpath(*path, buf) == NULL || stat(buf, &st) < 0)
        return v12n_fail_errno(err, "vm %s: %s %s", vm, what, *path);
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return v12n_fail(err, 0, "vm %s: %s %s: not a file", vm, what, *path);
    char *copy = strdup(buf);
    if (copy == NULL)
        return v12n_fail(err, ENOMEM, "vm %s", vm);
    free(*path);
    *path = copy;
    return 0;
}

static int check_boot(struct vm_def *d, v12n_error *err)
{
    if ((d->initrd != NULL || d->cmdline != NULL) && d->kernel == NULL)
        return v12n_fail(err, 0, "vm %s: --initrd and --cmdline need --kernel", d->name);
    if (d->boot == VM_BOOT_KERNEL && d->kernel == NULL)
        return v12n_fail(err, 0, "vm %s: boot kernel needs --kernel", d->name);
    if (d->boot == VM_BOOT_CDROM && d->cdrom == NULL)
        return v12n_fail(err, 0, "vm %s: boot cdrom needs --cdrom", d->name);
    if (d->cpus == 0 || d->cpus > 255)
        return v12n_fail(err, 0, "vm %s: cpus: %u is not between 1 and 255", d->name, d->cpus);
    if (d->memory_mib < 16)
        return v12n_fail(err, 0, "vm %s: memory: at least 16M", d->name);
    if (resolve_file(d->name, "kernel", &d->kernel, err) < 0 ||
        resolve_file(d->name, "initrd", &d->initrd, err) < 0 ||
        resolve_file(d->name, "cdrom", &d->cdrom, err) < 0)
        return -1;
    return vm_kvm_check(d, err); /* create: checks the disks again once they are made */
}

/* qcow2 by its magic, anything else raw.  Not `qemu-img info`: that needs
 * the image's lock, and defining a VM on a disk another VM runs on is fine
 * (starting both is refused). */
static int image_format(const char *vm, const char *path, char **out, v12n_error *err)
{
    auto_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return v12n_fail_errno(err, "vm %s: disk %s", vm, path);
    unsigned char magic[4] = {0};
    ssize_t n = read(fd, magic, sizeof magic);
    if (n < 0)
        return v12n_fail_errno(err, "vm %s: disk %s", vm, path);
    bool qcow2 = n == 4 && memcmp(magic, "QFI\xfb", 4) == 0;
    *out = strdup(qcow2 ? "qcow2" : "raw");
    return *out == NULL ? v12n_fail(err, ENOMEM, "vm %s", vm) : 0;
}

/* Make disk i of def from req: the new image goes into tmpdir, under the
 * name it will have in final_dir after the rename. */
static int make_disk(struct vm_def *d, int i, const struct vm_disk_request *req, const char *tmpdir,
                     const char *final_dir, v12n_error *err)
{
    struct vm_disk *k = &d->disks[i];
    if (req->path != NULL) {
        k->path = strdup(req->path);
        if (k->path == NULL)
            return v12n_fail(err, ENOMEM, "vm %s", d->name);
        if (resolve_file(d->name, "disk", &k->path, err) < 0)
            return -1;
        if (req->format != NULL)
            return (k->format = strdup(req->format)) ? 0 : v12n_fail(err, ENOMEM, "vm");
        return image_format(d->name, k->path, &k->format, err);
    }
    auto_free char *tmp = NULL;
    if (asprintf(&tmp, "%s/disk%d.qcow2", tmpdir, i) < 0 ||
        asprintf(&k->path, "%s/disk%d.qcow2", final_dir, i) < 0 ||
        (k->format = strdup("qcow2")) == NULL)
        return v12n_fail(err, ENOMEM, "vm %s", d->name);
    k->owned = true;
    struct qemu_img_create opts = {.format = "qcow2", .size = req->size};
    auto_free char *base_format = NULL;
    if (req->base != NULL) {
        k->base = strdup(req->base);
        if (k->base == NULL)
            return v12n_fail(err, ENOMEM, "vm %s", d->name);
        if (resolve_file(d->name, "base image", &k->base, err) < 0 ||
            image_format(d->name, k->base, &base_format, err) < 0)
            return -1;
        opts.backing = k->base;
        opts.backing_format = base_format;
    }
    if (qemu_img_create(tmp, &opts, err) < 0)
        return v12n_error_wrap(err, "vm %s", d->name);
    return 0;
}

static int make_tmpdir(const char *root, const char *name, char **tmp, v12n_error *err)
{
    auto_free char *store = vm_store_dir(root);
    if (store == NULL)
        return v12n_fail(err, ENOMEM, "vm %s", name);
    if (v12n_mkdir_p(store, 0700, err) < 0)
        return v12n_error_wrap(err, "vm %s", name);
    if (asprintf(tmp, "%s/.tmp-%s-XXXXXX", store, name) < 0)
        return v12n_fail(err, ENOMEM, "vm %s", name);
    if (mkdtemp(*tmp) == NULL) {
        int e = errno;
        free(*tmp);
        *tmp = NULL;
        return v12n_fail(err, e, "vm %s: create a directory in %s", name, store);
    }
    return 0;
}

static int create_in(const char *tmp, const char *final, struct vm_def *def,
                     const struct vm_disk_request *reqs, int n_reqs, v12n_error *err)
{
    for (int i = 0; i < n_reqs; i++) {
        def->n_disks = i + 1;
        if (make_disk(def, i, &reqs[i], tmp, final, err) < 0)
            return -1;
    }
    if (vm_kvm_check(def, err) < 0 || write_def(tmp, def, err) < 0)
        return -1;
    if (rename(tmp, final) < 0) {
        if (errno == EEXIST || errno == ENOTEMPTY)
            return v12n_fail(err, 0, "vm %s: the name is in use", def->name);
        return v12n_fail_errno(err, "vm %s: rename into %s", def->name, final);
    }
    return 0;
}

int vm_store_create(const char *root, struct vm_def *def, const struct vm_disk_request *reqs,
                    int n_reqs, v12n_error *err)
{
    if (vm_name_check(def->name, err) < 0)
        return -1;
    if (n_reqs > VM_MAX_DISKS)
        return v12n_fail(err, 0, "vm %s: at most %d disks", def->name, VM_MAX_DISKS);
    auto_free char *final = vm_dir(root, def->name);
    if (final == NULL)
        return v12n_fail(err, ENOMEM, "vm %s", def->name);
    if (v12n_path_exists(final))
        return v12n_fail(err, 0, "vm %s: the name is in use", def->name);
    if (check_boot(def, err) < 0)
        return -1;
    def->created = time(NULL);
    auto_free char *tmp = NULL;
    if (make_tmpdir(root, def->name, &tmp, err) < 0)
        return -1;
    if (create_in(tmp, final, def, reqs, n_reqs, err) < 0) {
        v12n_error ignored = {0};
        v12n_rm_rf(tmp, &ignored);
        return -1;
    }
    return 0;
}

int vm_store_update(const char *root, struct vm_def *def, v12n_error *err)
{
    if (check_boot(def, err) < 0)
        return -1;
    return vm_store_save(root, def, err);
}

/* ---- list and remove ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int vm_store_list(const char *root, char ***names, v12n_error *err)
{
    auto_free char *store = vm_store_dir(root);
    if (store == NULL)
        return v12n_fail(err, ENOMEM, "vms");
    char **v = calloc(1, sizeof *v);
    if (v == NULL)
        return v12n_fail(err, ENOMEM, "vms");
    auto_closedir DIR *d = opendir(store);
    if (d == NULL) {
        if (errno == ENOENT) {
            *names = v;
            return 0;
        }
        free(v);
        return v12n_fail_errno(err, "vms: open %s", store);
    }
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ".", ".." and half-created .tmp- directories */
        v12n_error ignored = {0};
        if (vm_name_check(e->d_name, &ignored) < 0)
            continue;
        char **nv = realloc(v, (n + 2) * sizeof *v);
        if (nv == NULL || (nv[n] = strdup(e->d_name)) == NULL) {
            v12n_strv_free(nv ? nv : v);
            return v12n_fail(err, ENOMEM, "vms");
        }
        v = nv;
        v[++n] = NULL;
    }
    qsort(v, n, sizeof *v, cmp_str);
    *names = v;
    return 0;
}

int vm_store_remove(const char *root, const struct vm_def *def, bool remove_disks, v12n_error *err)
{
    if (remove_disks) {
        for (int i = 0; i < def->n_disks; i++) {
            if (!def->disks[i].owned && unlink(def->disks[i].path) < 0 && errno != ENOENT)
                return v12n_fail_errno(err, "vm %s: remove disk %s", def->name, def->disks[i].path);
        }
    }
    auto_free char *dir = vm_dir(root, def->name);
    if (dir == NULL)
        return v12n_fail(err, ENOMEM, "vm %s", def->name);
    if (v12n_rm_rf(dir, err) < 0)
        return v12n_error_wrap(err, "vm %s", def->name);
    return 0;
}
