/* SMP discovery through an MP table (Intel MultiProcessor Specification
 * 1.4): the floating pointer and the configuration table in the EBDA,
 * listing every vCPU (local APIC id = vCPU index, as KVM assigns them),
 * the ISA bus, the IOAPIC and the ISA interrupts routed 1:1 to its pins
 * (KVM's default GSI routing). */
#include "vmm/x86/boot.h"

#include <errno.h>
#include <string.h>

#define MPF_SIZE       16
#define MPC_HDR_SIZE   44
#define MPC_CPU_SIZE   20
#define MPC_SMALL_SIZE 8
#define ISA_IRQS       16
#define MP_MAX_CPUS    254 /* APIC ids 0..253; the IOAPIC takes the next */

uint8_t boot_checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return sum;
}

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static uint8_t *put_cpu(uint8_t *p, unsigned id)
{
    memset(p, 0, MPC_CPU_SIZE);
    p[0] = 0;                          /* processor */
    p[1] = (uint8_t)id;                /* local APIC id */
    p[2] = 0x14;                       /* local APIC version */
    p[3] = (uint8_t)(id == 0 ? 3 : 1); /* enabled, bootstrap for 0 */
    put32(p + 4, 0x600);               /* family 6 */
    put32(p + 8, 0x201);               /* FPU, APIC */
    return p + MPC_CPU_SIZE;
}

static uint8_t *put_small(uint8_t *p, uint8_t type, uint8_t a, uint8_t b, uint8_t c, uint8_t d,
                          uint8_t e, uint8_t f, uint8_t g)
{
    uint8_t e8[MPC_SMALL_SIZE] = {type, a, b, c, d, e, f, g};
    memcpy(p, e8, MPC_SMALL_SIZE);
    return p + MPC_SMALL_SIZE;
}

static size_t mptable_size(unsigned cpus)
{
    return MPF_SIZE + MPC_HDR_SIZE + cpus * MPC_CPU_SIZE + (2 + ISA_IRQS + 2) * MPC_SMALL_SIZE;
}

int boot_mptable_build(struct guest_mem *m, unsigned cpus, v12n_error *err)
{
    if (cpus == 0 || cpus > MP_MAX_CPUS)
        return v12n_fail(err, EINVAL, "MP table: %u processors, 1 to %u supported", cpus,
                         MP_MAX_CPUS);
    size_t size = mptable_size(cpus);
    uint8_t *mpf = guest_mem_ptr(m, BOOT_MPTABLE_ADDR, size);
    if (mpf == NULL || BOOT_MPTABLE_ADDR + size > BOOT_HIGH_ADDR)
        return v12n_fail(err, ENOMEM, "MP table: %zu bytes do not fit the EBDA", size);
    memset(mpf, 0, size);
    uint8_t *mpc = mpf + MPF_SIZE, *p = mpc + MPC_HDR_SIZE;
    uint8_t ioapic_id = (uint8_t)cpus;
    for (unsigned i = 0; i < cpus; i++)
        p = put_cpu(p, i);
    p = put_small(p, 1, 0, 'I', 'S', 'A', ' ', ' ', ' '); /* bus 0: ISA */
    p = put_small(p, 2, ioapic_id, 0x11, 1, 0, 0, 0, 0);  /* IOAPIC, enabled */
    put32(p - 4, BOOT_IOAPIC_ADDR);
    for (uint8_t irq = 0; irq < ISA_IRQS; irq++)
        p = put_small(p, 3, 0, 0, 0, 0, irq, ioapic_id, irq); /* INT, bus 0 irq -> pin */
    p = put_small(p, 4, 3, 0, 0, 0, 0, 0xff, 0);              /* ExtINT -> LINT0 */
    p = put_small(p, 4, 1, 0, 0, 0, 0, 0xff, 1);              /* NMI -> LINT1 */

    memcpy(mpc, "PCMP", 4);
    put16(mpc + 4, (uint16_t)(p - mpc));
    mpc[6] = 4; /* spec 1.4 */
    memcpy(mpc + 8, "V12N    ", 8);
    memcpy(mpc + 16, "VM          ", 12);
    put16(mpc + 34, (uint16_t)(cpus + 2 + ISA_IRQS + 2));
    put32(mpc + 36, BOOT_LAPIC_ADDR);
    mpc[7] = (uint8_t)-boot_checksum(mpc, (size_t)(p - mpc));

    memcpy(mpf, "_MP_", 4);
    put32(mpf + 4, (uint32_t)(BOOT_MPTABLE_ADDR + MPF_SIZE));
    mpf[8] = 1; /* length in 16-byte units */
    mpf[9] = 4;
    mpf[10] = (uint8_t)-boot_checksum(mpf, MPF_SIZE);
    return 0;
}
