/* Image references come from users and from files (tags in archives):
 * parsing any bytes must fail cleanly or succeed, and what parses must
 * print to a canonical form that parses back to the same reference. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct image_ref ref, again;
    v12n_error err = {0};
    if (image_ref_parse(s, &ref, &err) == 0) {
        char canonical[IMAGE_REF_STRING_MAX], familiar[IMAGE_REF_STRING_MAX];
        image_ref_string(&ref, canonical, sizeof canonical);
        image_ref_familiar(&ref, familiar, sizeof familiar);
        if (image_ref_parse(canonical, &again, &err) != 0 || strcmp(ref.domain, again.domain) ||
            strcmp(ref.path, again.path) || strcmp(ref.tag, again.tag) ||
            strcmp(ref.digest, again.digest))
            abort();
        if (image_ref_parse(familiar, &again, &err) != 0 || strcmp(ref.path, again.path))
            abort();
        (void)image_ref_api_host(&ref);
        (void)image_ref_manifest_ref(&ref);
    } else if (err.msg[0] == '\0') {
        abort(); /* every failure says why */
    }
    free(s);
    return 0;
}
