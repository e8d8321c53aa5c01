/* Size strings with binary suffixes, checked for overflow. */
#include "qemu/size.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

static int suffix_shift(const char *s)
{
    static const char units[] = "KMGTPE";
    if (*s == '\0' || strcmp(s, "B") == 0)
        return 0;
    const char *u = strchr(units, toupper((unsigned char)s[0]));
    if (u == NULL)
        return -1;
    const char *rest = s + 1;
    if (*rest != '\0' && strcmp(rest, "B") != 0 && strcmp(rest, "iB") != 0)
        return -1;
    return 10 * (int)(u - units + 1);
}

int qemu_parse_size(const char *text, uint64_t *bytes, const char *what, v12n_error *err)
{
    if (text == NULL || !isdigit((unsigned char)text[0]))
        return v12n_fail(err, 0, "%s: invalid size \"%s\" (e.g. 512M, 10G)", what,
                         text ? text : "");
    uint64_t n = 0;
    const char *p = text;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (n > (UINT64_MAX - d) / 10)
            return v12n_fail(err, 0, "%s: size \"%s\" is too large", what, text);
        n = n * 10 + d;
    }
    if (*p == '.')
        return v12n_fail(err, 0, "%s: size \"%s\": use a smaller unit, not a fraction", what, text);
    int shift = suffix_shift(p);
    if (shift < 0)
        return v12n_fail(err, 0, "%s: invalid size \"%s\" (units: K, M, G, T)", what, text);
    if (shift > 0 && n > (UINT64_MAX >> shift))
        return v12n_fail(err, 0, "%s: size \"%s\" is too large", what, text);
    *bytes = n << shift;
    return 0;
}
