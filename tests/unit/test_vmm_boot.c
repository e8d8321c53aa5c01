/* The x86 boot-structure builders and the kernel-image parsers, on plain
 * buffers posing as guest RAM; hostile images must be refused without
 * touching memory outside the guest. */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/guest_mem.h"
#include "vmm/x86/boot.h"

#define RAM_SIZE (4u << 20)

struct fixture {
    struct guest_mem mem;
    uint8_t *ram;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->ram = calloc(1, RAM_SIZE);
    struct guest_mem_region r = {.gpa = 0, .size = RAM_SIZE, .host = f->ram};
    guest_mem_init_static(&f->mem, &r, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    free(f->ram);
    free(f);
    return 0;
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* guest_mem */

static void guest_mem_checks_bounds(void **state)
{
    struct fixture *f = *state;
    assert_non_null(guest_mem_ptr(&f->mem, 0, RAM_SIZE));
    assert_non_null(guest_mem_ptr(&f->mem, RAM_SIZE - 1, 1));
    assert_null(guest_mem_ptr(&f->mem, RAM_SIZE - 1, 2));
    assert_null(guest_mem_ptr(&f->mem, RAM_SIZE + 1, 0));
    assert_null(guest_mem_ptr(&f->mem, UINT64_MAX, 2)); /* wraps around */
    assert_null(guest_mem_ptr(&f->mem, 16, UINT64_MAX));
    v12n_error err = {0};
    uint8_t buf[8] = {0};
    assert_int_equal(guest_mem_read(&f->mem, RAM_SIZE - 4, buf, 8, &err), -1);
    assert_int_equal(guest_mem_write(&f->mem, 0x1000, "abcd", 4, &err), 0);
    assert_memory_equal(f->ram + 0x1000, "abcd", 4);
}

static void guest_mem_refuses_straddling_the_hole(void **state)
{
    (void)state;
    static uint8_t low[4096], high[4096];
    struct guest_mem_region r[2] = {{.gpa = 0, .size = sizeof(low), .host = low},
                                    {.gpa = 8192, .size = sizeof(high), .host = high}};
    struct guest_mem m;
    guest_mem_init_static(&m, r, 2);
    assert_ptr_equal(guest_mem_ptr(&m, 8192, 16), high);
    assert_null(guest_mem_ptr(&m, 4090, 16));
    assert_null(guest_mem_ptr(&m, 4096, 1));
}

/* e820, zero page, PVH */

static void e820_reserves_the_ebda_and_keeps_the_rest(void **state)
{
    struct fixture *f = *state;
    struct boot_e820 map[8];
    unsigned n = boot_e820_build(&f->mem, map, 8);
    assert_int_equal(n, 3);
    assert_true(map[0].addr == 0 && map[0].size == BOOT_EBDA_START && map[0].type == 1);
    assert_true(map[1].addr == BOOT_EBDA_START && map[1].type == 2);
    assert_true(map[2].addr == BOOT_HIGH_ADDR && map[2].size == RAM_SIZE - BOOT_HIGH_ADDR);
    assert_int_equal(boot_e820_build(&f->mem, map, 2), 2); /* never past max */
}

static void e820_covers_both_sides_of_the_hole(void **state)
{
    (void)state;
    static uint8_t low[2 << 20], high[4096];
    struct guest_mem_region r[2] = {{.gpa = 0, .size = sizeof(low), .host = low},
                                    {.gpa = 1ull << 32, .size = sizeof(high), .host = high}};
    struct guest_mem m;
    guest_mem_init_static(&m, r, 2);
    struct boot_e820 map[8];
    assert_int_equal(boot_e820_build(&m, map, 8), 4);
    assert_true(map[3].addr == 1ull << 32 && map[3].size == sizeof(high));
}

static void zeropage_has_e820_cmdline_and_initrd(void **state)
{
    struct fixture *f = *state;
    struct boot_image img = {.mode = BOOT_MODE_LONG64};
    struct boot_params_in in = {
        .cmdline = "console=ttyS0", .initrd_addr = 0x300000, .initrd_size = 0x1234};
    v12n_error err = {0};
    assert_int_equal(boot_zeropage_build(&f->mem, &img, &in, &err), 0);
    const uint8_t *zp = f->ram + BOOT_ZEROPAGE_ADDR;
    assert_int_equal(zp[0x1e8], 3);
    assert_int_equal(get64(zp + 0x2d0 + 2 * 20), BOOT_HIGH_ADDR);
    assert_int_equal(get32(zp + 0x228), BOOT_CMDLINE_ADDR);
    assert_string_equal((const char *)f->ram + BOOT_CMDLINE_ADDR, "console=ttyS0");
    assert_int_equal(get32(zp + 0x218), 0x300000);
    assert_int_equal(get32(zp + 0x21c), 0x1234);
    assert_int_equal(zp[0x210], 0xff);
}

static void cmdline_too_long_is_refused(void **state)
{
    struct fixture *f = *state;
    char *big = malloc(BOOT_CMDLINE_MAX + 1);
    memset(big, 'a', BOOT_CMDLINE_MAX);
    big[BOOT_CMDLINE_MAX] = '\0';
    struct boot_image img = {.mode = BOOT_MODE_LONG64};
    struct boot_params_in in = {.cmdline = big};
    v12n_error err = {0};
    assert_int_equal(boot_zeropage_build(&f->mem, &img, &in, &err), -1);
    assert_int_equal(err.errnum, E2BIG);
    free(big);
}

static void pvh_start_info(void **state)
{
    struct fixture *f = *state;
    struct boot_params_in in = {.cmdline = "x", .initrd_addr = 0x200000, .initrd_size = 99};
    v12n_error err = {0};
    assert_int_equal(boot_pvh_build(&f->mem, &in, &err), 0);
    const uint8_t *si = f->ram + BOOT_ZEROPAGE_ADDR;
    assert_int_equal(get32(si), 0x336ec578);
    assert_int_equal(get32(si + 4), 1);
    assert_int_equal(get32(si + 12), 1);                        /* one module: the initrd */
    assert_int_equal(get64(f->ram + get64(si + 16)), 0x200000); /* its address */
    assert_int_equal(get64(si + 24), BOOT_CMDLINE_ADDR);
    assert_int_equal(get32(si + 48), 3);
    assert_int_equal(get64(f->ram + BOOT_PVH_MEMMAP + 2 * 24), BOOT_HIGH_ADDR);
}

/* paging, GDT, MP table */

static void page_tables_identity_map_4g(void **state)
{
    struct fixture *f = *state;
    v12n_error err = {0};
    assert_int_equal(boot_paging_build(&f->mem, &err), 0);
    const uint64_t *pml4 = (const uint64_t *)(f->ram + BOOT_PML4_ADDR);
    const uint64_t *pdpt = (const uint64_t *)(f->ram + (pml4[0] & ~0xfffull));
    for (uint64_t gb = 0; gb < 4; gb++) {
        const uint64_t *pd = (const uint64_t *)(f->ram + (pdpt[gb] & ~0xfffull));
        for (uint64_t i = 0; i < 512; i += 511)
            assert_int_equal(pd[i], ((gb << 30) + (i << 21)) | 0x83);
    }
    assert_int_equal(pml4[1], 0);
}

static void gdt_descriptors(void **state)
{
    (void)state;
    assert_int_equal(boot_gdt_entry(0), 0);
    assert_int_equal(boot_gdt_entry(1), 0x00af9b000000ffffull);
    assert_int_equal(boot_gdt_entry(2), 0x00cf9b000000ffffull);
    assert_int_equal(boot_gdt_entry(3), 0x00cf93000000ffffull);
}

static void mptable_checksums_and_cpus(void **state)
{
    struct fixture *f = *state;
    v12n_error err = {0};
    assert_int_equal(boot_mptable_build(&f->mem, 5, &err), 0);
    const uint8_t *mpf = f->ram + BOOT_MPTABLE_ADDR;
    assert_memory_equal(mpf, "_MP_", 4);
    assert_int_equal(boot_checksum(mpf, 16), 0);
    const uint8_t *mpc = f->ram + get32(mpf + 4);
    assert_memory_equal(mpc, "PCMP", 4);
    uint16_t len = (uint16_t)(mpc[4] | mpc[5] << 8);
    assert_int_equal(boot_checksum(mpc, len), 0);
    unsigned cpus = 0, bsp = 0;
    const uint8_t *e = mpc + 44;
    for (unsigned i = 0; i < (unsigned)(mpc[34] | mpc[35] << 8); i++) {
        if (e[0] == 0) {
            assert_int_equal(e[1], cpus);
            bsp += (e[3] & 2) != 0;
            cpus++;
            e += 20;
        } else {
            e += 8;
        }
    }
    assert_int_equal(cpus, 5);
    assert_int_equal(bsp, 1);
    assert_ptr_equal(e, mpc + len);
}

static void mptable_refuses_bad_counts(void **state)
{
    struct fixture *f = *state;
    v12n_error err = {0};
    assert_int_equal(boot_mptable_build(&f->mem, 0, &err), -1);
    assert_int_equal(boot_mptable_build(&f->mem, 255, &err), -1);
    assert_int_equal(boot_mptable_build(&f->mem, 254, &err), 0); /* within the reserved area */
}

/* ACPI */

static const uint8_t *acpi_find(const uint8_t *ram, const char *sig)
{
    const uint8_t *rsdp = ram + BOOT_ACPI_RSDP_ADDR;
    const uint8_t *xsdt = ram + get64(rsdp + 24);
    for (uint32_t off = 36; off + 8 <= get32(xsdt + 4); off += 8) {
        const uint8_t *t = ram + get64(xsdt + off);
        if (memcmp(t, sig, 4) == 0)
            return t;
    }
    return NULL;
}

static void acpi_tables_checksum_and_describe_the_vm(void **state)
{
    struct fixture *f = *state;
    struct boot_acpi_virtio dev[2] = {{0xd0000000, 5}, {0xd0001000, 6}};
    v12n_error err = {0};
    assert_int_equal(boot_acpi_build(&f->mem, 3, dev, 2, &err), 0);
    const uint8_t *rsdp = f->ram + BOOT_ACPI_RSDP_ADDR;
    assert_memory_equal(rsdp, "RSD PTR ", 8);
    assert_int_equal(boot_checksum(rsdp, 20), 0);
    assert_int_equal(boot_checksum(rsdp, 36), 0);
    const uint8_t *xsdt = f->ram + get64(rsdp + 24);
    assert_int_equal(boot_checksum(xsdt, get32(xsdt + 4)), 0);
    const uint8_t *fadt = acpi_find(f->ram, "FACP"), *madt = acpi_find(f->ram, "APIC");
    assert_non_null(fadt);
    assert_non_null(madt);
    assert_int_equal(boot_checksum(fadt, get32(fadt + 4)), 0);
    assert_int_equal(boot_checksum(madt, get32(madt + 4)), 0);
    assert_true(get32(fadt + 112) & (1u << 20)); /* hardware-reduced */
    assert_int_equal(get64(fadt + 248), BOOT_ACPI_SLEEP_CTL_PORT);
    const uint8_t *dsdt = f->ram + get64(fadt + 140);
    assert_memory_equal(dsdt, "DSDT", 4);
    assert_int_equal(boot_checksum(dsdt, get32(dsdt + 4)), 0);
    unsigned lapics = 0, ioapics = 0;
    for (uint32_t off = 44; off < get32(madt + 4); off += madt[off + 1]) {
        lapics += madt[off] == 0;
        ioapics += madt[off] == 1;
    }
    assert_int_equal(lapics, 3);
    assert_int_equal(ioapics, 1);
    unsigned devices = 0, ged = 0, button = 0;
    for (uint32_t off = 0; off + 8 <= get32(dsdt + 4); off++) {
        devices += memcmp(dsdt + off, "LNRO0005", 8) == 0;
        ged += memcmp(dsdt + off, "ACPI0013", 8) == 0;
        button += memcmp(dsdt + off, "PNP0C0C", 8) == 0; /* with its NUL */
    }
    assert_int_equal(devices, 2);
    assert_int_equal(ged, 1);
    assert_int_equal(button, 1);
    /* the GED's interrupt: an Extended Interrupt descriptor naming its GSI */
    bool gsi = false;
    for (uint32_t off = 0; off + 9 <= get32(dsdt + 4); off++)
        gsi |=
            dsdt[off] == 0x89 && dsdt[off + 4] == 1 && get32(dsdt + off + 5) == BOOT_ACPI_GED_GSI;
    assert_true(gsi);
    assert_int_equal(boot_acpi_build(&f->mem, 0, dev, 0, &err), -1);
    assert_int_equal(boot_acpi_build(&f->mem, 1, dev, BOOT_ACPI_MAX_VIRTIO + 1, &err), -1);
}

/* ELF */

struct mini_elf {
    Elf64_Ehdr eh;
    Elf64_Phdr ph[2];
    Elf64_Nhdr nh;
    char name[4];
    uint32_t desc;
    uint8_t code[16];
};

static void mini_elf_init(struct mini_elf *e, int with_note)
{
    memset(e, 0, sizeof(*e));
    memcpy(e->eh.e_ident, ELFMAG, SELFMAG);
    e->eh.e_ident[EI_CLASS] = ELFCLASS64;
    e->eh.e_ident[EI_DATA] = ELFDATA2LSB;
    e->eh.e_type = ET_EXEC;
    e->eh.e_machine = EM_X86_64;
    e->eh.e_entry = 0x200004;
    e->eh.e_phoff = offsetof(struct mini_elf, ph);
    e->eh.e_phentsize = sizeof(Elf64_Phdr);
    e->eh.e_phnum = with_note ? 2 : 1;
    e->ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
                            .p_offset = offsetof(struct mini_elf, code),
                            .p_paddr = 0x200000,
                            .p_filesz = 16,
                            .p_memsz = 4096};
    e->ph[1] = (Elf64_Phdr){.p_type = PT_NOTE,
                            .p_offset = offsetof(struct mini_elf, nh),
                            .p_filesz = sizeof(Elf64_Nhdr) + 8};
    e->nh = (Elf64_Nhdr){.n_namesz = 4, .n_descsz = 4, .n_type = 18};
    memcpy(e->name, "Xen", 4);
    e->desc = 0x200008;
    memset(e->code, 0x90, sizeof(e->code));
}

static void elf_loads_segments_and_finds_pvh(void **state)
{
    struct fixture *f = *state;
    struct mini_elf e;
    struct boot_image img;
    v12n_error err = {0};
    mini_elf_init(&e, 1);
    f->ram[0x200000 + 100] = 0xaa; /* the bss part must be cleared */
    assert_int_equal(boot_kernel_load(&f->mem, (uint8_t *)&e, sizeof(e), &img, &err), 0);
    assert_int_equal(img.mode, BOOT_MODE_PVH32);
    assert_int_equal(img.entry, 0x200008);
    assert_int_equal(img.load_end, 0x201000);
    assert_int_equal(f->ram[0x200000], 0x90);
    assert_int_equal(f->ram[0x200000 + 100], 0);
    mini_elf_init(&e, 0);
    assert_int_equal(boot_kernel_load(&f->mem, (uint8_t *)&e, sizeof(e), &img, &err), 0);
    assert_int_equal(img.mode, BOOT_MODE_LONG64);
    assert_int_equal(img.entry, 0x200004);
}

static void elf_refuses_hostile_files(void **state)
{
    struct fixture *f = *state;
    struct mini_elf e;
    struct boot_image img;
    v12n_error err = {0};
    uint8_t *p = (uint8_t *)&e;

    mini_elf_init(&e, 1);
    e.eh.e_phoff = UINT64_MAX - 8; /* headers outside the file, offset wraps */
    assert_int_equal(boot_elf_load(&f->mem, p, sizeof(e), &img, &err), -1);
    mini_elf_init(&e, 1);
    e.eh.e_phnum = 0xffff;
    assert_int_equal(boot_elf_load(&f->mem, p, sizeof(e), &img, &err), -1);
    mini_elf_init(&e, 1);
    e.ph[0].p_filesz = 1 << 20; /* data past the end of the file */
    e.ph[0].p_memsz = 1 << 20;
    assert_int_equal(boot_elf_load(&f->mem, p, sizeof(e), &img, &err), -1);
    mini_elf_init(&e, 1);
    e.ph[0].p_paddr = RAM_SIZE - 8; /* past guest RAM */
    assert_int_equal(boot_elf_load(&f->mem, p, sizeof(e), &img, &err), -1);
    mini_elf_init(&e, 1);
    e.ph[0].p_paddr = 0x1000; /* over the boot structures */
    assert_int_equal(boot_elf_load(&f->mem, p, sizeof(e), &img, &err), -1);
    mini_elf_init(&e, 1);
    e.ph[0].p_filesz = 8192; /* filesz > memsz */
    assert_int_equal(boot_elf_load(&f->mem, p, sizeof(e), &img, &err), -1);
    mini_elf_init(&e, 1);
    e.eh.e_machine = EM_AARCH64;
    assert_int_equal(boot_elf_load(&f->mem, p, sizeof(e), &img, &err), -1);
    mini_elf_init(&e, 1);
    assert_int_equal(boot_elf_load(&f->mem, p, sizeof(Elf64_Ehdr) - 1, &img, &err), -1);

    mini_elf_init(&e, 1);
    e.nh.n_namesz = 0xfffffff0; /* a note running off its segment: ignored, not read */
    assert_int_equal(boot_elf_load(&f->mem, p, sizeof(e), &img, &err), 0);
    assert_int_equal(img.mode, BOOT_MODE_LONG64);
    mini_elf_init(&e, 1);
    e.desc = RAM_SIZE + 16; /* PVH entry outside RAM */
    assert_int_equal(boot_elf_load(&f->mem, p, sizeof(e), &img, &err), -1);
}

/* bzImage */

static uint8_t *mini_bzimage(size_t *len)
{
    *len = 1024 + 0x1000;
    uint8_t *b = calloc(1, *len);
    b[0x1f1] = 1;
    b[0x1fe] = 0x55;
    b[0x1ff] = 0xaa;
    b[0x201] = 0x66;
    memcpy(b + 0x202, "HdrS", 4);
    b[0x206] = 0x0f;
    b[0x207] = 0x02;
    b[0x211] = 1;
    b[0x236] = 1;
    b[1024 + 0x200] = 0xf4;
    return b;
}

static void bzimage_loads_at_1m_and_enters_at_0x200(void **state)
{
    struct fixture *f = *state;
    size_t len;
    uint8_t *b = mini_bzimage(&len);
    struct boot_image img;
    v12n_error err = {0};
    assert_int_equal(boot_kernel_load(&f->mem, b, len, &img, &err), 0);
    assert_int_equal(img.mode, BOOT_MODE_LONG64);
    assert_int_equal(img.entry, 0x100200);
    assert_int_equal(f->ram[0x100200], 0xf4);
    assert_true(img.is_bzimage);
    assert_int_equal(img.setup_header_len, 0x268 - 0x1f1);

    struct boot_params_in in = {.cmdline = ""};
    assert_int_equal(boot_zeropage_build(&f->mem, &img, &in, &err), 0);
    assert_memory_equal(f->ram + BOOT_ZEROPAGE_ADDR + 0x202, "HdrS", 4);
    free(b);
}

static void bzimage_refuses_old_or_32bit_or_truncated(void **state)
{
    struct fixture *f = *state;
    size_t len;
    struct boot_image img;
    v12n_error err = {0};
    uint8_t *b = mini_bzimage(&len);
    b[0x207] = 0x01; /* protocol 1.x */
    assert_int_equal(boot_bzimage_load(&f->mem, b, len, &img, &err), -1);
    free(b);
    b = mini_bzimage(&len);
    b[0x236] = 0; /* no 64-bit entry */
    assert_int_equal(boot_bzimage_load(&f->mem, b, len, &img, &err), -1);
    free(b);
    b = mini_bzimage(&len);
    b[0x1f1] = 200; /* setup sectors beyond the file */
    assert_int_equal(boot_bzimage_load(&f->mem, b, len, &img, &err), -1);
    free(b);
    b = mini_bzimage(&len);
    b[0x201] = 0xff; /* header length beyond the fixed area: bounded */
    assert_int_equal(boot_bzimage_load(&f->mem, b, len, &img, &err), 0);
    assert_true(img.setup_header_len <= sizeof(img.setup_header));
    free(b);
    b = mini_bzimage(&len);
    assert_int_equal(boot_kernel_load(&f->mem, b, 0x300, &img, &err), -1); /* truncated */
    free(b);
    uint8_t junk[64] = "not a kernel";
    assert_int_equal(boot_kernel_load(&f->mem, junk, sizeof(junk), &img, &err), -1);
}

static void initrd_goes_high_but_clears_the_kernel(void **state)
{
    struct fixture *f = *state;
    uint8_t data[5000] = {1, 2, 3};
    uint64_t addr;
    v12n_error err = {0};
    assert_int_equal(boot_initrd_load(&f->mem, data, sizeof(data), 0x200000, &addr, &err), 0);
    assert_int_equal(addr & 0xfff, 0);
    assert_true(addr + sizeof(data) <= RAM_SIZE && addr >= 0x200000);
    assert_int_equal(f->ram[addr + 2], 3);
    assert_int_equal(boot_initrd_load(&f->mem, data, sizeof(data), RAM_SIZE - 4096, &addr, &err),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(guest_mem_checks_bounds, setup, teardown),
        cmocka_unit_test(guest_mem_refuses_straddling_the_hole),
        cmocka_unit_test_setup_teardown(e820_reserves_the_ebda_and_keeps_the_rest, setup, teardown),
        cmocka_unit_test(e820_covers_both_sides_of_the_hole),
        cmocka_unit_test_setup_teardown(zeropage_has_e820_cmdline_and_initrd, setup, teardown),
        cmocka_unit_test_setup_teardown(cmdline_too_long_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(pvh_start_info, setup, teardown),
        cmocka_unit_test_setup_teardown(page_tables_identity_map_4g, setup, teardown),
        cmocka_unit_test(gdt_descriptors),
        cmocka_unit_test_setup_teardown(mptable_checksums_and_cpus, setup, teardown),
        cmocka_unit_test_setup_teardown(mptable_refuses_bad_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(acpi_tables_checksum_and_describe_the_vm, setup, teardown),
        cmocka_unit_test_setup_teardown(elf_loads_segments_and_finds_pvh, setup, teardown),
        cmocka_unit_test_setup_teardown(elf_refuses_hostile_files, setup, teardown),
        cmocka_unit_test_setup_teardown(bzimage_loads_at_1m_and_enters_at_0x200, setup, teardown),
        cmocka_unit_test_setup_teardown(bzimage_refuses_old_or_32bit_or_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(initrd_goes_high_but_clears_the_kernel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
