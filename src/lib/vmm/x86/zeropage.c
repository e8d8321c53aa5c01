/* What the kernel finds at entry: the e820 map, the command line and the
 * initrd, as a zero page (boot_params, zero-page.rst) for the 64-bit
 * protocol or as an hvm_start_info (Xen's arch-x86/hvm/start_info.h) for
 * PVH.  Offsets are the documented ABI's; written byte by byte so that
 * no host struct layout leaks into the guest. */
#include "vmm/x86/boot.h"

#include <errno.h>
#include <string.h>

/* boot_params */
#define ZP_ACPI_RSDP_ADDR    0x070
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE  0x0c4
#define ZP_EXT_CMD_LINE_PTR  0x0c8
#define ZP_E820_ENTRIES      0x1e8
#define ZP_HDR               0x1f1
#define ZP_TYPE_OF_LOADER    0x210
#define ZP_LOADFLAGS         0x211
#define ZP_RAMDISK_IMAGE     0x218
#define ZP_RAMDISK_SIZE      0x21c
#define ZP_HEAP_END_PTR      0x224
#define ZP_CMD_LINE_PTR      0x228
#define ZP_E820_TABLE        0x2d0
#define ZP_E820_MAX          128
#define ZP_SIZE              4096
#define CAN_USE_HEAP         0x80

/* hvm_start_info */
#define PVH_MAGIC        0x336ec578u
#define PVH_INFO_SIZE    56
#define PVH_MODLIST_ADDR (BOOT_ZEROPAGE_ADDR + 64)
#define PVH_MEMMAP_MAX   32

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static void add_e820(struct boot_e820 *out, unsigned max, unsigned *n, uint64_t addr, uint64_t size,
                     uint32_t type)
{
    if (*n < max && size > 0)
        out[(*n)++] = (struct boot_e820){.addr = addr, .size = size, .type = type};
}

unsigned boot_e820_build(const struct guest_mem *m, struct boot_e820 *out, unsigned max)
{
    unsigned n = 0;
    for (unsigned i = 0; i < m->n_regions; i++) {
        const struct guest_mem_region *r = &m->regions[i];
        if (r->gpa == 0 && r->size > BOOT_HIGH_ADDR) {
            add_e820(out, max, &n, 0, BOOT_EBDA_START, BOOT_E820_RAM);
            add_e820(out, max, &n, BOOT_EBDA_START, BOOT_HIGH_ADDR - BOOT_EBDA_START,
                     BOOT_E820_RESERVED);
            add_e820(out, max, &n, BOOT_HIGH_ADDR, r->size - BOOT_HIGH_ADDR, BOOT_E820_RAM);
        } else {
            add_e820(out, max, &n, r->gpa, r->size, BOOT_E820_RAM);
        }
    }
    return n;
}

static int write_cmdline(struct guest_mem *m, const char *cmdline, uint32_t *len, v12n_error *err)
{
    const char *s = cmdline ? cmdline : "";
    size_t n = strlen(s) + 1;
    if (n > BOOT_CMDLINE_MAX)
        return v12n_fail(err, E2BIG, "kernel command line: %zu bytes, at most %u", n - 1,
                         BOOT_CMDLINE_MAX - 1);
    *len = (uint32_t)n;
    return guest_mem_write(m, BOOT_CMDLINE_ADDR, s, n, err);
}

int boot_zeropage_build(struct guest_mem *m, const struct boot_image *img,
                        const struct boot_params_in *in, v12n_error *err)
{
    uint8_t *zp = guest_mem_ptr(m, BOOT_ZEROPAGE_ADDR, ZP_SIZE);
    uint32_t cmdlen;
    if (zp == NULL)
        return v12n_fail(err, ENOMEM, "zero page: guest RAM too small");
    if (write_cmdline(m, in->cmdline, &cmdlen, err) < 0)
        return -1;
    memset(zp, 0, ZP_SIZE);
    if (img->is_bzimage)
        memcpy(zp + ZP_HDR, img->setup_header, img->setup_header_len);
    zp[ZP_TYPE_OF_LOADER] = 0xff; /* "undefined" loader, as other VMMs */
    zp[ZP_LOADFLAGS] |= CAN_USE_HEAP;
    put32(zp + ZP_HEAP_END_PTR - 0, 0xfe00);
    put32(zp + ZP_CMD_LINE_PTR, (uint32_t)BOOT_CMDLINE_ADDR);
    put32(zp + ZP_EXT_CMD_LINE_PTR, 0);
    put32(zp + ZP_RAMDISK_IMAGE, (uint32_t)in->initrd_addr);
    put32(zp + ZP_RAMDISK_SIZE, (uint32_t)in->initrd_size);
    put32(zp + ZP_EXT_RAMDISK_IMAGE, (uint32_t)(in->initrd_addr >> 32));
    put32(zp + ZP_EXT_RAMDISK_SIZE, (uint32_t)(in->initrd_size >> 32));
    put64(zp + ZP_ACPI_RSDP_ADDR, in->rsdp_addr);
    struct boot_e820 map[ZP_E820_MAX];
    unsigned n = boot_e820_build(m, map, ZP_E820_MAX);
    zp[ZP_E820_ENTRIES] = (uint8_t)n;
    for (unsigned i = 0; i < n; i++) {
        uint8_t *e = zp + ZP_E820_TABLE + i * 20;
        put64(e, map[i].addr);
        put64(e + 8, map[i].size);
        put32(e + 16, map[i].type);
    }
    return 0;
}

int boot_pvh_build(struct guest_mem *m, const struct boot_params_in *in, v12n_error *err)
{
    uint8_t *si = guest_mem_ptr(m, BOOT_ZEROPAGE_ADDR, PVH_INFO_SIZE + 32);
    uint8_t *mm = guest_mem_ptr(m, BOOT_PVH_MEMMAP, PVH_MEMMAP_MAX * 24);
    uint32_t cmdlen;
    if (si == NULL || mm == NULL)
        return v12n_fail(err, ENOMEM, "PVH start info: guest RAM too small");
    if (write_cmdline(m, in->cmdline, &cmdlen, err) < 0)
        return -1;
    memset(si, 0, PVH_INFO_SIZE + 32);
    struct boot_e820 map[PVH_MEMMAP_MAX];
    unsigned n = boot_e820_build(m, map, PVH_MEMMAP_MAX);
    memset(mm, 0, PVH_MEMMAP_MAX * 24);
    for (unsigned i = 0; i < n; i++) {
        put64(mm + i * 24, map[i].addr);
        put64(mm + i * 24 + 8, map[i].size);
        put32(mm + i * 24 + 16, map[i].type);
    }
    put32(si, PVH_MAGIC);
    put32(si + 4, 1); /* version 1: has the memory map */
    if (in->initrd_size > 0) {
        put32(si + 12, 1); /* nr_modules */
        put64(si + 16, PVH_MODLIST_ADDR);
        put64(si + 64, in->initrd_addr);
        put64(si + 72, in->initrd_size);
    }
    put64(si + 24, BOOT_CMDLINE_ADDR);
    put64(si + 32, in->rsdp_addr);
    put64(si + 40, BOOT_PVH_MEMMAP);
    put32(si + 48, n);
    return 0;
}

int boot_initrd_load(struct guest_mem *m, const uint8_t *data, size_t len, uint64_t kernel_end,
                     uint64_t *addr, v12n_error *err)
{
    const struct guest_mem_region *low = &m->regions[0];
    uint64_t top = low->gpa + low->size;
    if (len == 0 || len > top || ((top - len) & ~0xfffull) < ((kernel_end + 0xfff) & ~0xfffull))
        return v12n_fail(err, ENOMEM, "initrd: %zu bytes do not fit guest RAM below 4 GiB", len);
    *addr = (top - len) & ~0xfffull;
    return guest_mem_write(m, *addr, data, len, err);
}
