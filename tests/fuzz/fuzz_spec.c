/* config.json comes from whoever made the bundle: parsing any bytes must
 * fail cleanly or succeed, never crash or leak. */
#include <stddef.h>
#include <stdint.h>

#include "container/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, size, 0, &jerr);
    if (j == NULL)
        return 0;
    struct oci_spec *spec = NULL;
    v12n_error err = {0};
    if (oci_spec_parse(j, "/bundle", NULL, &spec, &err) == 0)
        oci_spec_free(spec);
    json_decref(j);
    return 0;
}
