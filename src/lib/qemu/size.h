/* Sizes as users write them: "512M", "10G", "1.5G" is refused. */
#ifndef V12N_QEMU_SIZE_H
#define V12N_QEMU_SIZE_H

#include <stdint.h>

#include "util/error.h"

/* Bytes from "N[KMGT][iB|B]" (binary units; no suffix: bytes).  Refuses
 * negatives, fractions, unknown suffixes and overflow, naming `what`. */
int qemu_parse_size(const char *text, uint64_t *bytes, const char *what, v12n_error *err);

#endif
