/* `v12n info [--format text|json]`: what kinds of virtualization this host
 * offers. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "host/host.h"

static const char *yes_no(bool b)
{
    return b ? "yes" : "no";
}

static void print_cpu(const struct host_cpu *c)
{
    printf("CPU\n");
    printf("  model:        %s (%s, %d online)\n", c->model[0] ? c->model : "unknown",
           c->vendor[0] ? c->vendor : "unknown vendor", c->cpus);
    printf("  VT-x/AMD-V:   %s\n", c->vmx   ? "vmx (Intel VT-x): hardware-assisted virtualization"
                                   : c->svm ? "svm (AMD-V): hardware-assisted virtualization"
                                            : "no: this CPU offers no hardware virtualization");
    if (c->hypervisor)
        printf("  hypervisor:   %s (signature \"%s\"): this host is itself a virtual machine\n",
               c->hypervisor_name ? c->hypervisor_name : "unknown", c->hypervisor_sig);
    else
        printf("  hypervisor:   none: running on bare metal\n");
}

static void print_kvm(const struct host_kvm *k)
{
    static const char *explain[] = {
        [HOST_KVM_NONE] = "no KVM: virtual machines only through QEMU's TCG emulation",
        [HOST_KVM_HARDWARE] = "hardware-assisted: guests run at native speed",
        [HOST_KVM_PVM] = ("PVM, KVM without hardware support: only PVM guests run at speed, "
                          "others are instruction-emulated"),
        [HOST_KVM_OTHER] = "a KVM of unknown kind",
    };
    printf("KVM\n");
    printf("  kind:         %s (%s)\n", explain[k->kind], k->module[0] ? k->module : "no module");
    if (k->usable)
        printf("  /dev/kvm:     usable (API version %d)\n", k->api_version);
    else
        printf("  /dev/kvm:     not usable: %s\n", k->why);
    if (k->kind == HOST_KVM_HARDWARE)
        printf("  nested:       %s\n", k->nested == HOST_UNKNOWN ? "unknown"
                                       : k->nested == HOST_YES   ? "yes: guests may run KVM"
                                                                 : "no: guests cannot run KVM");
}

static void print_features(const struct host_features *f)
{
    printf("Containers\n");
    printf("  namespaces:   ");
    for (int i = 0; i < f->n_namespaces; i++)
        printf("%s%s", i ? " " : "", f->namespaces[i]);
    printf("%s\n", f->n_namespaces ? "" : "none");
    printf("  cgroups:      %s\n",
           f->cgroup == HOST_CGROUP_HYBRID ? "hybrid: v1 controllers, plus a cgroup2 mount"
           : f->cgroup == HOST_CGROUP_V2   ? "v2: the unified hierarchy"
           : f->cgroup == HOST_CGROUP_V1   ? "v1: one hierarchy per controller"
                                           : "none mounted");
    printf("  overlayfs:    %s\n", f->overlayfs ? "yes: image layers are mounted, not copied"
                                                : "no: image layers must be copied");
    printf("  TAP:          %s\n",
           f->tun ? "yes (/dev/net/tun): VMs can have bridged networks" : "no /dev/net/tun");
    printf("  seccomp:      %s\n", yes_no(f->seccomp));
    printf("  user ns:      %s\n", f->userns ? "allowed: rootless containers possible" : "no");
}

static void print_qemu(const struct host_qemu *q)
{
    printf("QEMU\n");
    if (q->system[0] == '\0') {
        printf("  present:      no (install Debian packages qemu-system-x86 qemu-utils)\n");
        return;
    }
    printf("  system:       %s (version %s)\n", q->system, q->version[0] ? q->version : "unknown");
    printf("  qemu-img:     %s\n", q->img[0] ? q->img : "missing (Debian package qemu-utils)");
    printf("  accelerators: tcg%s\n", q->kvm ? ", kvm" : " (kvm needs hardware-assisted KVM)");
}

static void print_summary(const struct host_info *i)
{
    const char *vmm = host_vmm_speed(i);
    printf("Summary: what v12n can run here\n");
    printf("  containers:   %s\n", yes_no(host_can_run_containers(i)));
    printf("  v12n VMM:     %s\n", strcmp(vmm, "native") == 0 ? "yes, at native speed"
                                   : strcmp(vmm, "emulated") == 0
                                       ? "yes, but ordinary guests are instruction-emulated (slow)"
                                       : "no (needs a usable /dev/kvm)");
    printf("  QEMU VMs:     %s\n", strcmp(host_qemu_accel(i), "kvm") == 0 ? "yes, with KVM"
                                   : strcmp(host_qemu_accel(i), "tcg") == 0
                                       ? "yes, with TCG (software emulation)"
                                       : "no (QEMU is not installed)");
}

int cli_info(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
        if (c == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "text") == 0)) {
            json = strcmp(optarg, "json") == 0;
        } else if (c == 'h') {
            printf("usage: v12n info [--format text|json]\n");
            return 0;
        } else {
            return cli_usage_error("info", "usage: v12n info [--format text|json]");
        }
    }
    if (optind != argc)
        return cli_usage_error("info", "takes no arguments");
    struct host_info info;
    v12n_error err = {0};
    if (host_probe(&info, &err) < 0)
        return cli_error(&err);
    if (json) {
        json_t *j = host_info_json(&info);
        int r = cli_print_json(j, true);
        json_decref(j);
        return r;
    }
    print_cpu(&info.cpu);
    print_kvm(&info.kvm);
    print_features(&info.features);
    print_qemu(&info.qemu);
    print_summary(&info);
    return 0;
}
