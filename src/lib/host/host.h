/* What kinds of virtualization this host offers (`v12n info`).
 *
 * host_probe() fills a struct host_info from /proc, /sys, CPUID and /dev;
 * it never fails for a missing feature (that is an answer), only for
 * out-of-memory.  Other modules use it to choose: the QEMU engine's `auto`
 * accelerator (host_qemu_can_use_kvm), the VMM's CPUID policy (kvm_kind).
 * The parsers are exposed for the unit tests: they take the text of the
 * /proc file, so they run on any machine. */
#ifndef V12N_HOST_HOST_H
#define V12N_HOST_HOST_H

#include <limits.h>
#include <stdbool.h>

#include <jansson.h>

#include "util/error.h"

enum host_kvm_kind {
    HOST_KVM_NONE,     /* no /dev/kvm or no KVM module */
    HOST_KVM_HARDWARE, /* kvm_intel or kvm_amd: VT-x/AMD-V, guests at native speed */
    HOST_KVM_PVM,      /* kvm_pvm: PVM guests at speed, others instruction-emulated */
    HOST_KVM_OTHER,    /* a KVM module we do not know */
};

enum host_cgroup_mode {
    HOST_CGROUP_NONE,
    HOST_CGROUP_V1,     /* only v1 hierarchies */
    HOST_CGROUP_V2,     /* the unified hierarchy alone */
    HOST_CGROUP_HYBRID, /* v1 controllers plus a cgroup2 mount */
};

enum host_tristate { HOST_NO = 0, HOST_YES = 1, HOST_UNKNOWN = -1 };

struct host_cpu {
    char vendor[13];             /* CPUID 0 vendor string, "GenuineIntel" */
    char model[128];             /* /proc/cpuinfo "model name" */
    bool vmx, svm;               /* hardware virtualization flags */
    bool hypervisor;             /* CPUID 1 ECX bit 31: we run in a VM */
    char hypervisor_sig[13];     /* CPUID 0x40000000 signature, "" when none */
    const char *hypervisor_name; /* "KVM", "Microsoft Hyper-V", ... or NULL */
    int cpus;                    /* online CPUs */
};

struct host_kvm {
    enum host_kvm_kind kind;
    char module[32]; /* "kvm_intel", "kvm_amd", "kvm_pvm", "" */
    bool device;     /* /dev/kvm exists */
    bool usable;     /* opened it and KVM_GET_API_VERSION == 12 */
    int api_version;
    enum host_tristate nested; /* the module's `nested` parameter */
    char why[160];             /* one line when not usable */
};

#define HOST_NS_MAX 10
struct host_features {
    int n_namespaces;
    char namespaces[HOST_NS_MAX][24]; /* entries of /proc/self/ns */
    enum host_cgroup_mode cgroup;
    bool overlayfs; /* in /proc/filesystems */
    bool tun;       /* /dev/net/tun */
    bool seccomp;   /* seccomp filter mode available */
    bool userns;    /* user.max_user_namespaces > 0 */
};

struct host_qemu {
    char system[PATH_MAX]; /* qemu-system-x86_64 path, "" when absent */
    char img[PATH_MAX];    /* qemu-img path, "" when absent */
    char version[64];      /* "7.2.19", "" when unknown */
    bool kvm;              /* QEMU can use -accel kvm (hardware-assisted KVM) */
};

struct host_info {
    struct host_cpu cpu;
    struct host_kvm kvm;
    struct host_features features;
    struct host_qemu qemu;
};

/* Probe everything; -1 only on resource errors. */
int host_probe(struct host_info *out, v12n_error *err);

void host_probe_cpu(struct host_cpu *cpu);
void host_probe_kvm(struct host_kvm *kvm);
void host_probe_features(struct host_features *f);
void host_probe_qemu(struct host_qemu *q, const struct host_kvm *kvm);
/* The same without running `qemu-system-x86_64 --version` (version stays ""):
 * enough to choose the accelerator, and ~40 ms cheaper on every `vm start`. */
void host_probe_qemu_paths(struct host_qemu *q, const struct host_kvm *kvm);

/* True when QEMU's -accel kvm runs ordinary guests at native speed here. */
bool host_qemu_can_use_kvm(const struct host_info *info);

/* The summary: what v12n can run here. */
bool host_can_run_containers(const struct host_info *info);
/* Our VMM: "native" (hardware-assisted KVM), "emulated" (PVM or another KVM
 * without VT-x/AMD-V: ordinary guests instruction-emulated), "unavailable". */
const char *host_vmm_speed(const struct host_info *info);
/* QEMU's best accelerator here: "kvm", "tcg" or "unavailable" (not installed). */
const char *host_qemu_accel(const struct host_info *info);

/* The whole report as JSON (`v12n info --format json`); new reference. */
json_t *host_info_json(const struct host_info *info);

const char *host_kvm_kind_name(enum host_kvm_kind k);
const char *host_cgroup_mode_name(enum host_cgroup_mode m);

/* Parsers over file contents (unit-tested). */
bool host_cpuinfo_has_flag(const char *cpuinfo, const char *flag);
/* Copy the first "key : value" of cpuinfo into out; false when absent. */
bool host_cpuinfo_value(const char *cpuinfo, const char *key, char *out, size_t len);
bool host_modules_has(const char *modules, const char *name);
enum host_cgroup_mode host_cgroup_mode_from_mountinfo(const char *mountinfo);
/* A CPUID 0x40000000 signature to a hypervisor's name, NULL when unknown. */
const char *host_hypervisor_name(const char *signature);

#endif
