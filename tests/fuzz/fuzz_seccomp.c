/* libFuzzer: any bytes -> JSON -> linux.seccomp parser.  It must never crash,
 * leak or trip UBSan, whatever the document holds. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "container/seccomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *json = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (json == NULL)
        return 0;
    struct seccomp_profile *profile = NULL;
    v12n_error err = {0};
    if (seccomp_profile_parse(json, &profile, &err) == 0)
        seccomp_profile_free(profile);
    json_decref(json);
    return 0;
}
