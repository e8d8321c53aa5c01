/* ACPI tables (hardware-reduced, ACPI 6): RSDP -> XSDT -> FADT (-> DSDT)
 * and MADT.  The MADT lists every vCPU's local APIC and the IOAPIC; the
 * DSDT carries \_S5 (poweroff through the sleep-control port), the power
 * button (a Generic Event Device on BOOT_ACPI_GED_GSI) and one
 * LNRO0005 device per virtio-mmio slot, which is how a kernel without
 * virtio_mmio command-line support finds them.  The guest finds the RSDP
 * by scanning 0xe0000-0xfffff, from the zero page or the PVH start info. */
#include "vmm/x86/boot.h"

#include <errno.h>
#include <string.h>

#define HDR_LEN            36
#define XSDT_ADDR          (BOOT_ACPI_RSDP_ADDR + 0x40)
#define FADT_ADDR          (BOOT_ACPI_RSDP_ADDR + 0x100)
#define MADT_ADDR          (BOOT_ACPI_RSDP_ADDR + 0x300)
#define DSDT_ADDR          (BOOT_ACPI_RSDP_ADDR + 0x1000)
#define ACPI_AREA_END      (BOOT_ACPI_RSDP_ADDR + 0x2000)
#define FADT_LEN           276
#define FADT_HW_REDUCED    (1u << 20)
#define FADT_RESET_REG_SUP (1u << 10)
#define GAS_SYSTEM_IO      1

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    put32(t + 4, len);
    t[8] = rev;
    memcpy(t + 10, "V12N  ", 6);
    memcpy(t + 16, "V12NVM  ", 8);
    put32(t + 24, 1);
    memcpy(t + 28, "V12N", 4);
    put32(t + 32, 1);
    t[9] = (uint8_t)-boot_checksum(t, len);
}

/* Generic address structure: one byte-wide I/O port. */
static void gas_port(uint8_t *g, uint16_t port)
{
    g[0] = GAS_SYSTEM_IO;
    g[1] = 8;
    g[2] = 0;
    g[3] = 1; /* byte access */
    put64(g + 4, port);
}

static void build_fadt(uint8_t *f)
{
    memset(f, 0, FADT_LEN);
    put32(f + 40, (uint32_t)DSDT_ADDR);
    put32(f + 112, FADT_HW_REDUCED | FADT_RESET_REG_SUP);
    gas_port(f + 116, BOOT_ACPI_RESET_PORT);
    f[128] = BOOT_ACPI_RESET_VALUE;
    f[131] = 3; /* FADT minor version: 6.3 */
    put64(f + 140, DSDT_ADDR);
    gas_port(f + 244, BOOT_ACPI_SLEEP_CTL_PORT);
    gas_port(f + 256, BOOT_ACPI_SLEEP_STS_PORT);
    memcpy(f + 268, "KVMKVMKV", 8); /* hypervisor vendor identity */
    header(f, "FACP", FADT_LEN, 6);
}

static uint32_t build_madt(uint8_t *m, unsigned cpus)
{
    uint32_t len = HDR_LEN + 8;
    memset(m, 0, HDR_LEN + 8);
    put32(m + HDR_LEN, BOOT_LAPIC_ADDR);
    put32(m + HDR_LEN + 4, 1); /* PCAT_COMPAT: KVM has the 8259s */
    for (unsigned i = 0; i < cpus; i++, len += 8) {
        uint8_t *e = m + len;
        memset(e, 0, 8);
        e[0] = 0; /* processor local APIC */
        e[1] = 8;
        e[2] = (uint8_t)i; /* processor UID */
        e[3] = (uint8_t)i; /* APIC id */
        put32(e + 4, 1);   /* enabled */
    }
    uint8_t *io = m + len;
    memset(io, 0, 12);
    io[0] = 1; /* IOAPIC */
    io[1] = 12;
    io[2] = (uint8_t)cpus; /* id, after the processors' */
    put32(io + 4, BOOT_IOAPIC_ADDR);
    put32(io + 8, 0); /* GSI base */
    len += 12;
    header(m, "APIC", len, 5);
    return len;
}

/* AML package length for a body of n bytes (the encoding counts itself). */
static size_t pkg_length(uint8_t *out, size_t n)
{
    if (n + 1 <= 0x3f) {
        out[0] = (uint8_t)(n + 1);
        return 1;
    }
    size_t total = n + 2;
    out[0] = (uint8_t)(0x40 | (total & 0xf));
    out[1] = (uint8_t)(total >> 4);
    return 2;
}

/* Device (VRnn) { _HID "LNRO0005", _UID n, _CRS { Memory32Fixed, Interrupt } } */
static size_t aml_virtio_device(uint8_t *out, unsigned n, uint32_t base, uint32_t gsi)
{
    uint8_t body[64], crs[32];
    size_t b = 0, c = 0;
    crs[c++] = 0x86; /* Memory32Fixed, read-write */
    crs[c++] = 9;
    crs[c++] = 0;
    crs[c++] = 1;
    put32(crs + c, base);
    put32(crs + c + 4, 0x1000);
    c += 8;
    crs[c++] = 0x89; /* Extended Interrupt: consumer, edge, active high, exclusive */
    crs[c++] = 6;
    crs[c++] = 0;
    crs[c++] = 0x03;
    crs[c++] = 1;
    put32(crs + c, gsi);
    c += 4;
    crs[c++] = 0x79; /* end tag */
    crs[c++] = 0;

    body[b++] = 'V';
    body[b++] = 'R';
    body[b++] = (uint8_t)('0' + n / 10);
    body[b++] = (uint8_t)('0' + n % 10);
    memcpy(body + b, "\x08_HID\x0dLNRO0005\x00", 15);
    b += 15;
    memcpy(body + b, "\x08_UID\x0a", 6);
    b += 6;
    body[b++] = (uint8_t)n;
    memcpy(body + b, "\x08_CRS\x11", 6);
    b += 6;
    b += pkg_length(body + b, 2 + c);
    body[b++] = 0x0a;
    body[b++] = (uint8_t)c;
    memcpy(body + b, crs, c);
    b += c;

    size_t o = 0;
    out[o++] = 0x5b; /* DeviceOp */
    out[o++] = 0x82;
    o += pkg_length(out + o, b);
    memcpy(out + o, body, b);
    return o + b;
}

/* The power button of a hardware-reduced platform: Device (PWRB) { _HID
 * "PNP0C0C" } and a Generic Event Device, Device (GED0) { _HID "ACPI0013",
 * _CRS { Interrupt (edge, active high) { BOOT_ACPI_GED_GSI } }, Method
 * (_EVT, 1) { Notify (PWRB, 0x80) } }: the VMM pulses the GSI, the guest's
 * GED driver runs _EVT, its button driver sees a press. */
static size_t aml_power_button(uint8_t *out)
{
    static const uint8_t pwrb[] = {0x5b, 0x82, 19,  'P', 'W', 'R', 'B', 0x08, '_', 'H', 'I',
                                   'D',  0x0d, 'P', 'N', 'P', '0', 'C', '0',  'C', 0x00};
    static const uint8_t ged_head[] = {'G', 'E', 'D', '0', 0x08, '_', 'H', 'I', 'D', 0x0d,
                                       'A', 'C', 'P', 'I', '0',  '0', '1', '3', 0x00};
    static const uint8_t evt[] = {0x14, 13,  '_', 'E', 'V', 'T',  0x01,
                                  0x86, 'P', 'W', 'R', 'B', 0x0a, 0x80};
    uint8_t body[96];
    size_t b = 0;
    memcpy(body, ged_head, sizeof ged_head);
    b += sizeof ged_head;
    /* _CRS: Buffer (11) { Extended Interrupt (consumer, edge, high, exclusive), end tag } */
    static const uint8_t crs_head[] = {0x08, '_', 'C',  'R', 'S', 0x11, 14,
                                       0x0a, 11,  0x89, 6,   0,   0x03, 1};
    memcpy(body + b, crs_head, sizeof crs_head);
    b += sizeof crs_head;
    put32(body + b, BOOT_ACPI_GED_GSI);
    b += 4;
    body[b++] = 0x79;
    body[b++] = 0;
    memcpy(body + b, evt, sizeof evt);
    b += sizeof evt;
    size_t o = 0;
    memcpy(out, pwrb, sizeof pwrb);
    o += sizeof pwrb;
    out[o++] = 0x5b; /* DeviceOp */
    out[o++] = 0x82;
    o += pkg_length(out + o, b);
    memcpy(out + o, body, b);
    return o + b;
}

static size_t build_dsdt(uint8_t *d, const struct boot_acpi_virtio *dev, unsigned n_dev)
{
    static const uint8_t s5[] = {
        0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a, BOOT_ACPI_SLP_TYP_S5, 0x00, 0x00, 0x00};
    size_t o = HDR_LEN;
    memcpy(d + o, s5, sizeof(s5));
    o += sizeof(s5);
    uint8_t devices[BOOT_ACPI_MAX_VIRTIO * 64 + 128];
    size_t dl = aml_power_button(devices);
    for (unsigned i = 0; i < n_dev; i++)
        dl += aml_virtio_device(devices + dl, i, dev[i].base, dev[i].gsi);
    d[o++] = 0x10; /* Scope (\_SB) */
    o += pkg_length(d + o, 5 + dl);
    memcpy(d + o, "\\_SB_", 5);
    o += 5;
    memcpy(d + o, devices, dl);
    o += dl;
    header(d, "DSDT", (uint32_t)o, 2);
    return o;
}

int boot_acpi_build(struct guest_mem *m, unsigned cpus, const struct boot_acpi_virtio *dev,
                    unsigned n_dev, v12n_error *err)
{
    if (cpus == 0 || cpus > 254 || n_dev > BOOT_ACPI_MAX_VIRTIO)
        return v12n_fail(err, EINVAL, "ACPI: %u processors and %u devices not supported", cpus,
                         n_dev);
    uint8_t *area = guest_mem_ptr(m, BOOT_ACPI_RSDP_ADDR, ACPI_AREA_END - BOOT_ACPI_RSDP_ADDR);
    if (area == NULL)
        return v12n_fail(err, ENOMEM, "ACPI: guest RAM too small");
    memset(area, 0, ACPI_AREA_END - BOOT_ACPI_RSDP_ADDR);
    uint8_t *rsdp = area, *xsdt = area + (XSDT_ADDR - BOOT_ACPI_RSDP_ADDR);
    build_fadt(area + (FADT_ADDR - BOOT_ACPI_RSDP_ADDR));
    build_madt(area + (MADT_ADDR - BOOT_ACPI_RSDP_ADDR), cpus);
    build_dsdt(area + (DSDT_ADDR - BOOT_ACPI_RSDP_ADDR), dev, n_dev);
    put64(xsdt + HDR_LEN, FADT_ADDR);
    put64(xsdt + HDR_LEN + 8, MADT_ADDR);
    header(xsdt, "XSDT", HDR_LEN + 16, 1);
    memcpy(rsdp, "RSD PTR ", 8);
    memcpy(rsdp + 9, "V12N  ", 6);
    rsdp[15] = 2; /* ACPI 2.0+: the XSDT */
    put32(rsdp + 20, 36);
    put64(rsdp + 24, XSDT_ADDR);
    rsdp[8] = (uint8_t)-boot_checksum(rsdp, 20);
    rsdp[32] = (uint8_t)-boot_checksum(rsdp, 36);
    return 0;
}
