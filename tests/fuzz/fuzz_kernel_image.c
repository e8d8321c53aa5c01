/* Kernel images are untrusted files: the bzImage and ELF/PVH parsers must
 * refuse or load any bytes without reading outside the file or writing
 * outside guest RAM (a small RAM here, so large segments hit the bounds).
 * A successful load must give an entry inside guest RAM. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/guest_mem.h"
#include "vmm/x86/boot.h"

#define FUZZ_RAM (3u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *ram;
    if (ram == NULL && (ram = malloc(FUZZ_RAM)) == NULL)
        return 0;
    struct guest_mem_region r = {.gpa = 0, .size = FUZZ_RAM, .host = ram};
    struct guest_mem m;
    guest_mem_init_static(&m, &r, 1);
    struct boot_image img;
    v12n_error err = {0};
    /* A private copy: the parsers must not depend on bytes past size. */
    uint8_t *file = malloc(size ? size : 1);
    if (file == NULL)
        return 0;
    memcpy(file, data, size);
    if (boot_kernel_load(&m, file, size, &img, &err) == 0) {
        if (!guest_mem_valid(&m, img.entry, 1) || img.setup_header_len > sizeof(img.setup_header))
            abort();
        struct boot_params_in in = {.cmdline = "console=ttyS0"};
        if (img.mode == BOOT_MODE_PVH32 ? boot_pvh_build(&m, &in, &err)
                                        : boot_zeropage_build(&m, &img, &in, &err))
            abort();
    }
    free(file);
    return 0;
}
