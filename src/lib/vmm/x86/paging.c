/* Long mode needs paging: identity-map the first 4 GiB with 2 MiB pages
 * (one PML4 entry, one PDPT with four entries, four page directories), so
 * the kernel and everything the VMM placed are reachable at entry.  The
 * same flat GDT serves the 64-bit and the 32-bit (PVH) entries. */
#include "vmm/x86/boot.h"

#include <errno.h>
#include <string.h>

#define PAGE        4096ull
#define PTE_PRESENT 0x1ull
#define PTE_WRITE   0x2ull
#define PTE_LARGE   0x80ull

int boot_paging_build(struct guest_mem *m, v12n_error *err)
{
    uint64_t *pml4 = guest_mem_ptr(m, BOOT_PML4_ADDR, 6 * PAGE);
    if (pml4 == NULL)
        return v12n_fail(err, ENOMEM, "page tables: guest RAM too small");
    memset(pml4, 0, 6 * PAGE);
    uint64_t *pdpt = pml4 + 512, *pd = pml4 + 1024;
    pml4[0] = (BOOT_PML4_ADDR + PAGE) | PTE_PRESENT | PTE_WRITE;
    for (uint64_t i = 0; i < 4; i++)
        pdpt[i] = (BOOT_PML4_ADDR + (2 + i) * PAGE) | PTE_PRESENT | PTE_WRITE;
    for (uint64_t i = 0; i < 4 * 512; i++)
        pd[i] = (i << 21) | PTE_PRESENT | PTE_WRITE | PTE_LARGE;
    return 0;
}

/* Descriptor: base 0, limit 0xfffff pages, with the given access byte and
 * flags nibble (G, D/B, L). */
static uint64_t flat_descriptor(uint8_t access, uint8_t flags)
{
    return 0xffffull | (uint64_t)access << 40 | 0xfull << 48 | (uint64_t)flags << 52;
}

uint64_t boot_gdt_entry(unsigned index)
{
    switch (index) {
    case 1:
        return flat_descriptor(0x9b, 0xa); /* code, 64-bit: G + L */
    case 2:
        return flat_descriptor(0x9b, 0xc); /* code, 32-bit: G + D */
    case 3:
        return flat_descriptor(0x93, 0xc); /* data: G + B */
    default:
        return 0;
    }
}

int boot_gdt_build(struct guest_mem *m, v12n_error *err)
{
    uint64_t gdt[BOOT_GDT_ENTRIES];
    for (unsigned i = 0; i < BOOT_GDT_ENTRIES; i++)
        gdt[i] = boot_gdt_entry(i);
    return guest_mem_write(m, BOOT_GDT_ADDR, gdt, sizeof(gdt), err);
}
