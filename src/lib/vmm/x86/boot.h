/* x86 boot: parsing kernel images and building the structures a kernel
 * finds at entry.  Every function here works on guest memory through
 * guest_mem only and never touches KVM, so tests and fuzzers run them on
 * plain buffers.  Kernel images are untrusted input: every offset and size
 * read from a file is checked against the file and against guest RAM. */
#ifndef V12N_VMM_X86_BOOT_H
#define V12N_VMM_X86_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/guest_mem.h"

/* The fixed guest-physical layout the VMM uses below 1 MiB. */
#define BOOT_GDT_ADDR      0x500ull
#define BOOT_ZEROPAGE_ADDR 0x7000ull /* boot_params, or the PVH start info */
#define BOOT_PVH_MEMMAP    0x8000ull /* PVH e820-style memory map */
#define BOOT_PML4_ADDR     0x9000ull /* PML4, PDPT, then four page directories */
#define BOOT_STACK_TOP     0x8ff0ull
#define BOOT_CMDLINE_ADDR  0x20000ull
#define BOOT_CMDLINE_MAX   4096u
#define BOOT_MPTABLE_ADDR  0x9fc00ull /* the EBDA's place: reserved in e820 */
#define BOOT_HIGH_ADDR     0x100000ull
#define BOOT_EBDA_START    0x9fc00ull

/* How the vCPU enters the kernel. */
enum boot_mode {
    BOOT_MODE_LONG64, /* bzImage 64-bit protocol or vmlinux: long mode, rsi = zero page */
    BOOT_MODE_PVH32,  /* PVH: 32-bit protected mode, paging off, ebx = start info */
};

struct boot_image {
    enum boot_mode mode;
    uint64_t entry;    /* guest physical entry point */
    uint64_t load_end; /* first byte after the loaded kernel */
    /* bzImage only: the setup header copied into the zero page. */
    uint8_t setup_header[0x290 - 0x1f1];
    size_t setup_header_len;
    int is_bzimage;
};

/* ELF64 vmlinux (PT_LOAD at their physical addresses; PVH entry from the
 * XEN_ELFNOTE_PHYS32_ENTRY note when present).  -1 when the file is no
 * ELF kernel or does not fit guest RAM. */
int boot_elf_load(struct guest_mem *m, const uint8_t *file, size_t len, struct boot_image *out,
                  v12n_error *err);
/* bzImage (setup header "HdrS", protocol >= 2.06 with a 64-bit entry). */
int boot_bzimage_load(struct guest_mem *m, const uint8_t *file, size_t len, struct boot_image *out,
                      v12n_error *err);
/* Either format, by magic; "no kernel" otherwise. */
int boot_kernel_load(struct guest_mem *m, const uint8_t *file, size_t len, struct boot_image *out,
                     v12n_error *err);

/* Put the initrd at the highest page-aligned address below the end of low
 * RAM that clears the kernel; its guest address in *addr. */
int boot_initrd_load(struct guest_mem *m, const uint8_t *data, size_t len, uint64_t kernel_end,
                     uint64_t *addr, v12n_error *err);

struct boot_params_in {
    const char *cmdline;
    uint64_t initrd_addr, initrd_size;
    uint64_t rsdp_addr; /* 0: no ACPI */
};

/* e820 map of the guest RAM: usable [0, EBDA), reserved [EBDA, 1 MiB),
 * usable from 1 MiB in each region.  Returns the entry count (at most max). */
struct boot_e820 {
    uint64_t addr, size;
    uint32_t type;
};
#define BOOT_E820_RAM      1
#define BOOT_E820_RESERVED 2
unsigned boot_e820_build(const struct guest_mem *m, struct boot_e820 *out, unsigned max);

/* Zero page (struct boot_params) for the 64-bit protocol and vmlinux. */
int boot_zeropage_build(struct guest_mem *m, const struct boot_image *img,
                        const struct boot_params_in *in, v12n_error *err);
/* hvm_start_info and its memory map for the PVH entry. */
int boot_pvh_build(struct guest_mem *m, const struct boot_params_in *in, v12n_error *err);

/* Identity-mapped page tables for the first 4 GiB (2 MiB pages) and a
 * flat GDT (null, code64, code32, data) for both entries. */
int boot_paging_build(struct guest_mem *m, v12n_error *err);
int boot_gdt_build(struct guest_mem *m, v12n_error *err);
#define BOOT_GDT_ENTRIES 4
#define BOOT_SEL_CODE64  0x08
#define BOOT_SEL_CODE32  0x10
#define BOOT_SEL_DATA    0x18
uint64_t boot_gdt_entry(unsigned index);

/* MP table (Intel MP spec 1.4) announcing `cpus` processors, the ISA bus
 * and the IOAPIC, at BOOT_MPTABLE_ADDR. */
int boot_mptable_build(struct guest_mem *m, unsigned cpus, v12n_error *err);
#define BOOT_IOAPIC_ADDR 0xfec00000u
#define BOOT_LAPIC_ADDR  0xfee00000u

/* ACPI (x86/acpi.c): RSDP, XSDT, FADT (hardware-reduced), MADT with
 * `cpus` local APICs and the IOAPIC, DSDT with \_S5, the power button
 * (GED) and the virtio-mmio devices, all in [0xe0000, 0xe2000) (e820-reserved). */
#define BOOT_ACPI_RSDP_ADDR      0xe0000ull
#define BOOT_ACPI_SLEEP_CTL_PORT 0x600
#define BOOT_ACPI_SLEEP_STS_PORT 0x601
#define BOOT_ACPI_RESET_PORT     0xcf9
#define BOOT_ACPI_RESET_VALUE    0x06
#define BOOT_ACPI_SLP_TYP_S5     5
#define BOOT_ACPI_MAX_VIRTIO     8
#define BOOT_ACPI_GED_GSI        16 /* the power button's event: an IOAPIC-only line */
struct boot_acpi_virtio {
    uint32_t base, gsi;
};
int boot_acpi_build(struct guest_mem *m, unsigned cpus, const struct boot_acpi_virtio *dev,
                    unsigned n_dev, v12n_error *err);

/* Sum of bytes: tables are valid when their checksum makes it 0 mod 256. */
uint8_t boot_checksum(const uint8_t *p, size_t len);

#endif
