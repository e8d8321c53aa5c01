/* ELF64 vmlinux: each PT_LOAD goes to its physical address; the PVH entry
 * (32-bit, from the Xen PHYS32_ENTRY note) is preferred when present, as
 * it needs no zero page and is what QEMU and Firecracker also use. */
#include "vmm/x86/boot.h"

#include <elf.h>
#include <errno.h>
#include <string.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* [off, off+len) within a file of file_len bytes, without overflow. */
static int in_file(uint64_t off, uint64_t len, size_t file_len)
{
    return off <= file_len && len <= file_len - off;
}

static uint64_t align4(uint64_t v)
{
    return (v + 3) & ~3ull;
}

/* Walk one PT_NOTE segment for the PVH entry; 0 when absent. */
static uint64_t find_pvh_entry(const uint8_t *note, uint64_t len)
{
    uint64_t pos = 0;
    while (len - pos >= sizeof(Elf64_Nhdr)) {
        Elf64_Nhdr nh;
        memcpy(&nh, note + pos, sizeof(nh));
        pos += sizeof(nh);
        uint64_t namesz = align4(nh.n_namesz), descsz = align4(nh.n_descsz);
        if (namesz > len - pos || descsz > len - pos - namesz)
            return 0;
        const uint8_t *name = note + pos, *desc = note + pos + namesz;
        if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
            memcmp(name, "Xen", 4) == 0) {
            if (nh.n_descsz == 4) {
                uint32_t e;
                memcpy(&e, desc, 4);
                return e;
            }
            if (nh.n_descsz == 8) {
                uint64_t e;
                memcpy(&e, desc, 8);
                return e;
            }
            return 0;
        }
        pos += namesz + descsz;
    }
    return 0;
}

static int load_segment(struct guest_mem *m, const uint8_t *file, size_t len, const Elf64_Phdr *ph,
                        uint64_t *end, v12n_error *err)
{
    if (ph->p_filesz > ph->p_memsz || !in_file(ph->p_offset, ph->p_filesz, len))
        return v12n_fail(err, EINVAL, "kernel: ELF segment at offset 0x%llx lies outside the file",
                         (unsigned long long)ph->p_offset);
    uint8_t *dst = guest_mem_ptr(m, ph->p_paddr, ph->p_memsz);
    if (dst == NULL || ph->p_paddr < BOOT_HIGH_ADDR)
        return v12n_fail(err, EINVAL,
                         "kernel: ELF segment [0x%llx, +0x%llx) does not fit guest RAM above 1 MiB",
                         (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz);
    memcpy(dst, file + ph->p_offset, ph->p_filesz);
    memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
    if (ph->p_paddr + ph->p_memsz > *end)
        *end = ph->p_paddr + ph->p_memsz;
    return 0;
}

static int check_header(const Elf64_Ehdr *eh, size_t len, v12n_error *err)
{
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
        eh->e_machine != EM_X86_64 || (eh->e_type != ET_EXEC && eh->e_type != ET_DYN))
        return v12n_fail(err, EINVAL, "kernel: ELF file is not a 64-bit x86 executable");
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
        !in_file(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), len))
        return v12n_fail(err, EINVAL, "kernel: ELF program headers lie outside the file");
    return 0;
}

int boot_elf_load(struct guest_mem *m, const uint8_t *file, size_t len, struct boot_image *out,
                  v12n_error *err)
{
    Elf64_Ehdr eh;
    if (len < sizeof(eh) || memcmp(file, ELFMAG, SELFMAG) != 0)
        return v12n_fail(err, EINVAL, "kernel: not an ELF file");
    memcpy(&eh, file, sizeof(eh));
    if (check_header(&eh, len, err) < 0)
        return -1;
    memset(out, 0, sizeof(*out));
    uint64_t end = 0, pvh = 0;
    unsigned loaded = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, file + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type == PT_LOAD && ph.p_memsz > 0) {
            if (load_segment(m, file, len, &ph, &end, err) < 0)
                return -1;
            loaded++;
        } else if (ph.p_type == PT_NOTE && pvh == 0 && in_file(ph.p_offset, ph.p_filesz, len)) {
            pvh = find_pvh_entry(file + ph.p_offset, ph.p_filesz);
        }
    }
    if (loaded == 0)
        return v12n_fail(err, EINVAL, "kernel: ELF file has nothing to load");
    out->mode = pvh != 0 ? BOOT_MODE_PVH32 : BOOT_MODE_LONG64;
    out->entry = pvh != 0 ? pvh : eh.e_entry;
    out->load_end = end;
    /* A vmlinux's e_entry is its virtual address: the physical entry is
     * startup_64's load address, which is where the first segment lies. */
    if (pvh == 0 && !guest_mem_valid(m, out->entry, 1))
        out->entry &= 0x3fffffffull;
    if (!guest_mem_valid(m, out->entry, 1))
        return v12n_fail(err, EINVAL, "kernel: ELF entry 0x%llx lies outside guest RAM",
                         (unsigned long long)out->entry);
    return 0;
}
