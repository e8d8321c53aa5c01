/* KVM: which module provides /dev/kvm, whether we can open it, nesting. */
#include "host/host.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

bool host_modules_has(const char *modules, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = modules; line != NULL && *line != '\0';) {
        if (strncmp(line, name, n) == 0 && line[n] == ' ')
            return true;
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return false;
}

/* Loaded as a module (/proc/modules) or built in (a /sys/module entry:
 * kernels without module support have no /proc/modules at all). */
static bool module_present(const char *modules, const char *name)
{
    if (modules != NULL && host_modules_has(modules, name))
        return true;
    char path[128];
    snprintf(path, sizeof path, "/sys/module/%s", name);
    return v12n_path_exists(path);
}

static enum host_tristate nested_param(const char *module)
{
    char path[128];
    snprintf(path, sizeof path, "/sys/module/%s/parameters/nested", module);
    v12n_error err = {0};
    auto_free char *v = v12n_read_file(path, NULL, &err);
    if (v == NULL)
        return HOST_UNKNOWN;
    return (v[0] == 'Y' || v[0] == 'y' || v[0] == '1') ? HOST_YES : HOST_NO;
}

static void open_device(struct host_kvm *kvm)
{
    kvm->device = v12n_path_exists("/dev/kvm");
    if (!kvm->device) {
        snprintf(kvm->why, sizeof kvm->why, "/dev/kvm does not exist");
        return;
    }
    auto_close int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(kvm->why, sizeof kvm->why, "open /dev/kvm: %s", strerror(errno));
        return;
    }
    int v = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (v < 0) {
        snprintf(kvm->why, sizeof kvm->why, "KVM_GET_API_VERSION: %s", strerror(errno));
        return;
    }
    kvm->api_version = v;
    kvm->usable = v == KVM_API_VERSION;
    if (!kvm->usable)
        snprintf(kvm->why, sizeof kvm->why, "KVM API version %d, expected %d", v, KVM_API_VERSION);
}

void host_probe_kvm(struct host_kvm *kvm)
{
    memset(kvm, 0, sizeof *kvm);
    kvm->nested = HOST_UNKNOWN;
    v12n_error err = {0};
    auto_free char *modules = v12n_read_file("/proc/modules", NULL, &err);
    static const struct {
        const char *name;
        enum host_kvm_kind kind;
    } vendors[] = {
        {"kvm_intel", HOST_KVM_HARDWARE},
        {"kvm_amd", HOST_KVM_HARDWARE},
        {"kvm_pvm", HOST_KVM_PVM},
    };
    for (size_t i = 0; i < sizeof vendors / sizeof vendors[0]; i++) {
        if (module_present(modules, vendors[i].name)) {
            snprintf(kvm->module, sizeof kvm->module, "%s", vendors[i].name);
            kvm->kind = vendors[i].kind;
            break;
        }
    }
    if (kvm->module[0] == '\0' && module_present(modules, "kvm")) {
        snprintf(kvm->module, sizeof kvm->module, "kvm");
        kvm->kind = HOST_KVM_OTHER;
    }
    if (kvm->kind == HOST_KVM_HARDWARE)
        kvm->nested = nested_param(kvm->module);
    open_device(kvm);
    if (!kvm->device && kvm->kind != HOST_KVM_NONE)
        snprintf(kvm->why, sizeof kvm->why, "module %s is loaded but /dev/kvm is missing",
                 kvm->module);
    if (kvm->kind == HOST_KVM_NONE && kvm->device && kvm->why[0] == '\0')
        kvm->kind = HOST_KVM_OTHER;
}

const char *host_kvm_kind_name(enum host_kvm_kind k)
{
    switch (k) {
    case HOST_KVM_HARDWARE:
        return "hardware";
    case HOST_KVM_PVM:
        return "pvm";
    case HOST_KVM_OTHER:
        return "other";
    case HOST_KVM_NONE:
        break;
    }
    return "none";
}
