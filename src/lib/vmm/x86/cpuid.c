/* CPUID for the guest: what KVM says it supports, plus the KVM signature
 * leaf (so Linux finds kvmclock), with each vCPU's APIC id patched in.
 * On a PVM host the instruction emulator lacks cmpxchg16b and
 * xsave/xrstor (and so AVX): those bits go, so guests take safe paths. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/vm_internal.h"

#define CPUID_MAX_ENTRIES  256
#define LEAF1_ECX_CX16     (1u << 13)
#define LEAF1_ECX_XSAVE    (1u << 26)
#define LEAF1_ECX_OSXSAVE  (1u << 27)
#define LEAF1_ECX_AVX      (1u << 28)
#define LEAF1_ECX_FMA      (1u << 12)
#define LEAF1_ECX_F16C     (1u << 29)
#define LEAF1_ECX_HV       (1u << 31)
#define LEAF7_EBX_AVX2     (1u << 5)
#define LEAF7_EBX_AVX512   0xd0230000u /* F, DQ, IFMA, CD, BW, VL */
#define KVM_SIGNATURE_LEAF 0x40000000u

static void hide_for_pvm(struct kvm_cpuid_entry2 *e)
{
    if (e->function == 1)
        e->ecx &= ~(LEAF1_ECX_CX16 | LEAF1_ECX_XSAVE | LEAF1_ECX_OSXSAVE | LEAF1_ECX_AVX |
                    LEAF1_ECX_FMA | LEAF1_ECX_F16C);
    if (e->function == 7 && e->index == 0)
        e->ebx &= ~(LEAF7_EBX_AVX2 | LEAF7_EBX_AVX512);
    if (e->function == 0xd)
        e->eax = e->ebx = e->ecx = e->edx = 0;
}

static void adjust(struct vm *vm, struct kvm_cpuid_entry2 *e)
{
    if (e->function == 1)
        e->ecx |= LEAF1_ECX_HV;
    if (e->function == KVM_SIGNATURE_LEAF) {
        memcpy(&e->ebx, "KVMK", 4);
        memcpy(&e->ecx, "VMKV", 4);
        memcpy(&e->edx, "M\0\0\0", 4);
    }
    if (vm->is_pvm)
        hide_for_pvm(e);
}

int cpuid_init(struct vm *vm, v12n_error *err)
{
    size_t size = sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
    vm->cpuid = calloc(1, size);
    if (vm->cpuid == NULL)
        return v12n_fail_errno(err, "cpuid: allocate");
    vm->cpuid->nent = CPUID_MAX_ENTRIES;
    if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0)
        return v12n_fail_errno(err, "cpuid: KVM_GET_SUPPORTED_CPUID");
    for (unsigned i = 0; i < vm->cpuid->nent; i++)
        adjust(vm, &vm->cpuid->entries[i]);
    return 0;
}

int cpuid_set_vcpu(struct vm *vm, int vcpu_fd, unsigned index, v12n_error *err)
{
    for (unsigned i = 0; i < vm->cpuid->nent; i++) {
        struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];
        if (e->function == 1)
            e->ebx = (e->ebx & 0x00ffffffu) | index << 24; /* initial APIC id */
        if (e->function == 0xb || e->function == 0x1f)
            e->edx = index; /* x2APIC id */
    }
    if (ioctl(vcpu_fd, KVM_SET_CPUID2, vm->cpuid) < 0)
        return v12n_fail_errno(err, "vcpu %u: KVM_SET_CPUID2", index);
    return 0;
}
