/* The processor: vendor, virtualization flags and the hypervisor we run in. */
#include "host/host.h"

#include <cpuid.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

/* The "flags" line of the first processor, as [start, end). */
static const char *flags_line(const char *cpuinfo, const char **end)
{
    for (const char *line = cpuinfo; line != NULL && *line != '\0';) {
        const char *eol = strchr(line, '\n');
        if (eol == NULL)
            eol = line + strlen(line);
        if (strncmp(line, "flags", 5) == 0) {
            const char *colon = memchr(line, ':', (size_t)(eol - line));
            if (colon != NULL) {
                *end = eol;
                return colon + 1;
            }
        }
        line = *eol != '\0' ? eol + 1 : NULL;
    }
    return NULL;
}

bool host_cpuinfo_has_flag(const char *cpuinfo, const char *flag)
{
    const char *end = NULL;
    const char *p = flags_line(cpuinfo, &end);
    size_t want = strlen(flag);
    while (p != NULL && p < end) {
        p += strspn(p, " \t");
        size_t n = strcspn(p, " \t\n");
        if (p + n > end)
            n = (size_t)(end - p);
        if (n == want && n > 0 && strncmp(p, flag, n) == 0)
            return true;
        if (n == 0)
            break;
        p += n;
    }
    return false;
}

bool host_cpuinfo_value(const char *cpuinfo, const char *key, char *out, size_t len)
{
    size_t klen = strlen(key);
    for (const char *line = cpuinfo; line != NULL && *line != '\0';) {
        const char *eol = strchr(line, '\n');
        if (eol == NULL)
            eol = line + strlen(line);
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon != NULL && strncmp(line, key, klen) == 0 &&
            strspn(line + klen, " \t") == (size_t)(colon - line - (ptrdiff_t)klen)) {
            const char *v = colon + 1 + strspn(colon + 1, " \t");
            size_t n = (size_t)(eol - v);
            if (len == 0)
                return true;
            if (n >= len)
                n = len - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
        line = *eol != '\0' ? eol + 1 : NULL;
    }
    return false;
}

const char *host_hypervisor_name(const char *signature)
{
    static const struct {
        const char *sig, *name;
    } known[] = {
        {"KVMKVMKVM", "KVM"},         {"Microsoft Hv", "Microsoft Hyper-V"},
        {"VMwareVMware", "VMware"},   {"XenVMMXenVMM", "Xen"},
        {"TCGTCGTCGTCG", "QEMU TCG"}, {" lrpepyh  vr", "Parallels"},
        {"bhyve bhyve ", "bhyve"},    {"ACRNACRNACRN", "ACRN"},
        {"QNXQVMBSQG", "QNX"},        {"VBoxVBoxVBox", "VirtualBox"},
        {"Jailhouse", "Jailhouse"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(signature, known[i].sig) == 0)
            return known[i].name;
    return NULL;
}

static void cpuid_probe(struct host_cpu *cpu)
{
    unsigned a, b, c, d;
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        memcpy(cpu->vendor, &b, 4);
        memcpy(cpu->vendor + 4, &d, 4);
        memcpy(cpu->vendor + 8, &c, 4);
        cpu->vendor[12] = '\0';
    }
    if (__get_cpuid(1, &a, &b, &c, &d))
        cpu->hypervisor = (c >> 31) & 1;
    if (!cpu->hypervisor)
        return;
    /* The hypervisor leaves are outside __get_cpuid's basic range. */
    __cpuid(0x40000000, a, b, c, d);
    char sig[13];
    memcpy(sig, &b, 4);
    memcpy(sig + 4, &c, 4);
    memcpy(sig + 8, &d, 4);
    sig[12] = '\0';
    /* keep printable bytes only: the signature is the hypervisor's to choose */
    size_t n = strlen(sig);
    for (size_t i = 0; i < n; i++)
        if (sig[i] < 0x20 || sig[i] > 0x7e)
            sig[i] = '?';
    memcpy(cpu->hypervisor_sig, sig, sizeof sig);
    cpu->hypervisor_name = host_hypervisor_name(sig);
}

void host_probe_cpu(struct host_cpu *cpu)
{
    memset(cpu, 0, sizeof *cpu);
    cpuid_probe(cpu);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cpu->cpus = n > 0 ? (int)n : 0;
    v12n_error err = {0};
    auto_free char *info = v12n_read_file("/proc/cpuinfo", NULL, &err);
    if (info == NULL)
        return;
    cpu->vmx = host_cpuinfo_has_flag(info, "vmx");
    cpu->svm = host_cpuinfo_has_flag(info, "svm");
    /* the kernel's view agrees with CPUID, but take either */
    cpu->hypervisor = cpu->hypervisor || host_cpuinfo_has_flag(info, "hypervisor");
    host_cpuinfo_value(info, "model name", cpu->model, sizeof cpu->model);
}
