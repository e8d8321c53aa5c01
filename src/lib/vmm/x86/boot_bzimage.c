/* bzImage, 64-bit boot protocol (Documentation/arch/x86/boot.rst): the
 * protected-mode kernel after the setup sectors loads at 1 MiB and is
 * entered in long mode at +0x200 with rsi pointing at the zero page, whose
 * setup header is the one from the file. */
#include "vmm/x86/boot.h"

#include <errno.h>
#include <string.h>

#define HDR_START      0x1f1 /* setup_sects: the header's first byte */
#define HDR_END_OFFSET 0x201 /* jump(2) ends the fixed part; its length byte follows */
#define OFF_SETUP_SECT 0x1f1
#define OFF_BOOT_FLAG  0x1fe
#define OFF_HEADER     0x202
#define OFF_VERSION    0x206
#define OFF_LOADFLAGS  0x211
#define OFF_XLOADFLAGS 0x236
#define LOADED_HIGH    0x01
#define XLF_KERNEL_64  0x01
#define ENTRY64_OFFSET 0x200

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

int boot_bzimage_load(struct guest_mem *m, const uint8_t *file, size_t len, struct boot_image *out,
                      v12n_error *err)
{
    if (len < 0x290 || le16(file + OFF_BOOT_FLAG) != 0xaa55 ||
        memcmp(file + OFF_HEADER, "HdrS", 4) != 0)
        return v12n_fail(err, EINVAL, "kernel: not a bzImage (no HdrS setup header)");
    uint16_t version = le16(file + OFF_VERSION);
    if (version < 0x206 || !(file[OFF_LOADFLAGS] & LOADED_HIGH) ||
        !(le16(file + OFF_XLOADFLAGS) & XLF_KERNEL_64))
        return v12n_fail(err, EINVAL,
                         "kernel: bzImage protocol %u.%02x has no 64-bit entry (2.06+ needed)",
                         version >> 8, version & 0xff);
    unsigned setup_sects = file[OFF_SETUP_SECT] ? file[OFF_SETUP_SECT] : 4;
    size_t kernel_off = (size_t)(setup_sects + 1) * 512;
    if (kernel_off >= len)
        return v12n_fail(err, EINVAL, "kernel: bzImage has no protected-mode kernel");
    size_t kernel_len = len - kernel_off;
    if (kernel_len <= ENTRY64_OFFSET ||
        guest_mem_write(m, BOOT_HIGH_ADDR, file + kernel_off, kernel_len, err) < 0)
        return v12n_fail(err, EINVAL, "kernel: bzImage kernel of %zu bytes does not fit guest RAM",
                         kernel_len);
    memset(out, 0, sizeof(*out));
    out->mode = BOOT_MODE_LONG64;
    out->entry = BOOT_HIGH_ADDR + ENTRY64_OFFSET;
    out->load_end = BOOT_HIGH_ADDR + kernel_len;
    out->is_bzimage = 1;
    /* The header's length: 0x202 + the byte at 0x201, bounded by 0x290. */
    size_t hdr_end = HDR_END_OFFSET + 1 + file[HDR_END_OFFSET];
    if (hdr_end > 0x290)
        hdr_end = 0x290;
    out->setup_header_len = hdr_end - HDR_START;
    memcpy(out->setup_header, file + HDR_START, out->setup_header_len);
    return 0;
}

int boot_kernel_load(struct guest_mem *m, const uint8_t *file, size_t len, struct boot_image *out,
                     v12n_error *err)
{
    if (len >= 4 && memcmp(file,
                           "\x7f"
                           "ELF",
                           4) == 0)
        return boot_elf_load(m, file, len, out, err);
    if (len >= 0x206 && memcmp(file + OFF_HEADER, "HdrS", 4) == 0)
        return boot_bzimage_load(m, file, len, out, err);
    return v12n_fail(err, EINVAL, "kernel: neither an ELF vmlinux nor a bzImage");
}
