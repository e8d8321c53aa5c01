/* Persistent VM definitions: one JSON document per VM (like a libvirt
 * domain) at <root>/vms/<name>/vm.json, next to the disks v12n created for
 * it.  A definition is written to a temporary directory and renamed into
 * place, so an error never leaves half a VM behind. */
#ifndef V12N_ENGINE_VM_STORE_H
#define V12N_ENGINE_VM_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "util/error.h"

#define VM_NAME_MAX  63
#define VM_MAX_DISKS 8

enum vm_boot { VM_BOOT_DISK, VM_BOOT_CDROM, VM_BOOT_KERNEL };
enum vm_net { VM_NET_NONE, VM_NET_USER, VM_NET_TAP };
enum vm_display { VM_DISPLAY_NONE, VM_DISPLAY_VNC };
enum vm_engine { VM_ENGINE_AUTO, VM_ENGINE_QEMU, VM_ENGINE_KVM };

struct vm_disk {
    char *path;   /* absolute */
    char *format; /* "qcow2" or "raw" */
    char *base;   /* the backing image of a linked clone, or NULL */
    bool owned;   /* created by v12n inside the VM's directory */
};

/* Every string is malloc'd (vm_def_free) or NULL. */
struct vm_def {
    char name[VM_NAME_MAX + 1];
    time_t created;
    unsigned cpus;
    uint64_t memory_mib;
    struct vm_disk disks[VM_MAX_DISKS];
    int n_disks;
    char *cdrom, *kernel, *initrd, *cmdline;
    enum vm_boot boot;
    enum vm_net net;
    char *tap;
    enum vm_display display;
    enum vm_engine engine;
    char *store_dir; /* <root>/vms/<name>, absolute: set by load, not stored */
};

void vm_def_free(struct vm_def *def);

/* [A-Za-z0-9][A-Za-z0-9_.-]*, at most VM_NAME_MAX: it becomes a directory
 * and part of socket paths. */
int vm_name_check(const char *name, v12n_error *err);

/* <root>/vms and <root>/vms/<name> (malloc'd). */
char *vm_store_dir(const char *root);
char *vm_dir(const char *root, const char *name);

/* How a disk is asked for at create time (`--disk`). */
struct vm_disk_request {
    const char *path;   /* an existing image, or NULL */
    const char *format; /* with path: "qcow2"/"raw", NULL: guessed from the image */
    uint64_t size;      /* a new qcow2 of this size (bytes) when path and base are NULL */
    const char *base;   /* a linked clone on this image */
};

/* Parse one --disk value: SIZE, PATH[,format] or base=PATH; text is split
 * in place and borrowed by out. */
int vm_disk_request_parse(char *text, struct vm_disk_request *out, v12n_error *err);

/* Create the VM: check the definition (files exist, name free), create its
 * disks with qemu-img and write vm.json, all or nothing.  The disks in def
 * are ignored: they come from reqs. */
int vm_store_create(const char *root, struct vm_def *def, const struct vm_disk_request *reqs,
                    int n_reqs, v12n_error *err);

int vm_store_load(const char *root, const char *name, struct vm_def *def, v12n_error *err);
int vm_store_save(const char *root, const struct vm_def *def, v12n_error *err);

/* Check a changed definition as create does (files exist, boot has what it
 * needs) and save it. */
int vm_store_update(const char *root, struct vm_def *def, v12n_error *err);

/* The names of the defined VMs, sorted, NULL-terminated (v12n_strv_free). */
int vm_store_list(const char *root, char ***names, v12n_error *err);

/* Remove the definition (and the disks it owns, and with remove_disks the
 * other disks it uses too). */
int vm_store_remove(const char *root, const struct vm_def *def, bool remove_disks, v12n_error *err);

const char *vm_boot_name(enum vm_boot b);
const char *vm_net_name(enum vm_net n);
const char *vm_display_name(enum vm_display d);
const char *vm_engine_name(enum vm_engine e);
int vm_boot_parse(const char *s, enum vm_boot *out, v12n_error *err);
int vm_net_parse(const char *s, enum vm_net *out, char **tap, v12n_error *err);
int vm_display_parse(const char *s, enum vm_display *out, v12n_error *err);
int vm_engine_parse(const char *s, enum vm_engine *out, v12n_error *err);

#endif
