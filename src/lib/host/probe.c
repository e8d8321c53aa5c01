/* The whole probe and its JSON form. */
#include "host/host.h"

#include <errno.h>
#include <string.h>

#include "qemu/run.h"

void host_probe_qemu_paths(struct host_qemu *q, const struct host_kvm *kvm)
{
    memset(q, 0, sizeof *q);
    v12n_error err = {0};
    qemu_find_binary(QEMU_SYSTEM_BINARY, q->system, sizeof q->system, &err);
    qemu_find_binary(QEMU_IMG_BINARY, q->img, sizeof q->img, &err);
    /* Under PVM, QEMU's -accel kvm would run an ordinary guest through the
     * instruction emulator: not what a user choosing KVM expects. */
    q->kvm = q->system[0] != '\0' && kvm->usable && kvm->kind == HOST_KVM_HARDWARE;
}

void host_probe_qemu(struct host_qemu *q, const struct host_kvm *kvm)
{
    host_probe_qemu_paths(q, kvm);
    v12n_error err = {0};
    if (q->system[0] != '\0' && qemu_version(q->system, q->version, sizeof q->version, &err) < 0)
        q->version[0] = '\0';
}

int host_probe(struct host_info *out, v12n_error *err)
{
    (void)err;
    memset(out, 0, sizeof *out);
    host_probe_cpu(&out->cpu);
    host_probe_kvm(&out->kvm);
    host_probe_features(&out->features);
    host_probe_qemu(&out->qemu, &out->kvm);
    return 0;
}

bool host_qemu_can_use_kvm(const struct host_info *info)
{
    return info->qemu.kvm;
}

static json_t *str_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *tristate(enum host_tristate t)
{
    return t == HOST_UNKNOWN ? json_null() : json_boolean(t == HOST_YES);
}

static json_t *cpu_json(const struct host_cpu *c)
{
    return json_pack("{s:o,s:o,s:b,s:b,s:i,s:{s:b,s:o,s:o}}", "vendor", str_or_null(c->vendor),
                     "model", str_or_null(c->model), "vmx", c->vmx, "svm", c->svm, "cpus", c->cpus,
                     "hypervisor", "present", c->hypervisor, "signature",
                     str_or_null(c->hypervisor_sig), "name", str_or_null(c->hypervisor_name));
}

static json_t *kvm_json(const struct host_kvm *k)
{
    return json_pack("{s:s,s:o,s:b,s:b,s:i,s:o,s:o}", "kind", host_kvm_kind_name(k->kind), "module",
                     str_or_null(k->module), "device", k->device, "usable", k->usable,
                     "api_version", k->api_version, "nested", tristate(k->nested), "reason",
                     str_or_null(k->why));
}

static json_t *features_json(const struct host_features *f)
{
    json_t *ns = json_array();
    for (int i = 0; i < f->n_namespaces; i++)
        json_array_append_new(ns, json_string(f->namespaces[i]));
    return json_pack("{s:o,s:s,s:b,s:b,s:b,s:b}", "namespaces", ns, "cgroup",
                     host_cgroup_mode_name(f->cgroup), "overlayfs", f->overlayfs, "tun", f->tun,
                     "seccomp", f->seccomp, "user_namespaces", f->userns);
}

static json_t *qemu_json(const struct host_qemu *q)
{
    return json_pack("{s:b,s:o,s:o,s:o,s:b,s:b}", "present", q->system[0] != '\0', "system",
                     str_or_null(q->system), "img", str_or_null(q->img), "version",
                     str_or_null(q->version), "tcg", q->system[0] != '\0', "kvm", q->kvm);
}

bool host_can_run_containers(const struct host_info *i)
{
    return i->features.n_namespaces > 0 && i->features.cgroup != HOST_CGROUP_NONE;
}

const char *host_vmm_speed(const struct host_info *i)
{
    if (!i->kvm.usable)
        return "unavailable";
    return i->kvm.kind == HOST_KVM_HARDWARE ? "native" : "emulated";
}

const char *host_qemu_accel(const struct host_info *i)
{
    if (i->qemu.system[0] == '\0')
        return "unavailable";
    return i->qemu.kvm ? "kvm" : "tcg";
}

static json_t *summary_json(const struct host_info *i)
{
    return json_pack("{s:b,s:s,s:s}", "containers", host_can_run_containers(i), "vmm",
                     host_vmm_speed(i), "qemu", host_qemu_accel(i));
}

json_t *host_info_json(const struct host_info *info)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o}", "cpu", cpu_json(&info->cpu), "kvm",
                     kvm_json(&info->kvm), "features", features_json(&info->features), "qemu",
                     qemu_json(&info->qemu), "summary", summary_json(info));
}
