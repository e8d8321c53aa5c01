#include "image/platform.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "image/manifest.h"

void image_platform_default(struct image_platform *p)
{
    memset(p, 0, sizeof *p);
    strcpy(p->os, "linux");
    strcpy(p->arch, "amd64");
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static void set_arch(struct image_platform *p, const char *arch, const char *variant)
{
    strcpy(p->arch, arch);
    if (variant != NULL)
        strcpy(p->variant, variant);
}

void image_platform_normalize(struct image_platform *p)
{
    lower(p->os);
    lower(p->arch);
    lower(p->variant);
    if (strcmp(p->arch, "x86_64") == 0 || strcmp(p->arch, "x86-64") == 0)
        set_arch(p, "amd64", NULL);
    else if (strcmp(p->arch, "aarch64") == 0)
        set_arch(p, "arm64", NULL);
    else if (strcmp(p->arch, "armhf") == 0)
        set_arch(p, "arm", "v7");
    else if (strcmp(p->arch, "armel") == 0)
        set_arch(p, "arm", "v6");
    else if (strcmp(p->arch, "i386") == 0 || strcmp(p->arch, "i686") == 0)
        set_arch(p, "386", NULL);

    if (strcmp(p->arch, "arm64") == 0 && strcmp(p->variant, "v8") == 0)
        p->variant[0] = '\0';
    else if (strcmp(p->arch, "amd64") == 0 && strcmp(p->variant, "v1") == 0)
        p->variant[0] = '\0';
    else if (strcmp(p->arch, "arm") == 0 && p->variant[0] == '\0')
        strcpy(p->variant, "v7");
}

static bool valid_field(const char *s, size_t len)
{
    if (len == 0 || len > IMAGE_PLATFORM_FIELD_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_' ||
              s[i] == '.' || s[i] == '-'))
            return false;
    return true;
}

int image_platform_parse(const char *s, struct image_platform *out, v12n_error *err)
{
    memset(out, 0, sizeof *out);
    char *fields[3] = {out->os, out->arch, out->variant};
    const char *p = s;
    size_t n = 0;
    for (;;) {
        size_t len = strcspn(p, "/");
        if (n == 3 || !valid_field(p, len))
            return v12n_fail(err, 0,
                             "platform \"%.*s\": expected os/arch[/variant] in lower case "
                             "(e.g. linux/arm64 or linux/arm/v7)",
                             100, s);
        memcpy(fields[n++], p, len);
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    if (n < 2)
        return v12n_fail(err, 0, "platform \"%.*s\": expected os/arch[/variant]", 100, s);
    image_platform_normalize(out);
    return 0;
}

const char *image_platform_string(const struct image_platform *p, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s%s%s", p->os, p->arch, p->variant[0] ? "/" : "", p->variant);
    return buf;
}

static bool selectable(const struct image_descriptor *d)
{
    /* an entry without mediaType is taken for an image (old Docker lists) */
    return d->media_type[0] == '\0' || image_media_type_kind(d->media_type) != IMAGE_KIND_UNKNOWN;
}

static bool same_os_arch(const struct image_platform *a, const struct image_platform *b)
{
    return strcmp(a->os, b->os) == 0 && strcmp(a->arch, b->arch) == 0;
}

static const struct image_descriptor *find(const struct image_manifest *idx,
                                           const struct image_platform *want, bool any_variant)
{
    for (size_t i = 0; i < idx->n_manifests; i++) {
        const struct image_descriptor *d = &idx->manifests[i];
        if (!selectable(d) || !d->has_platform || !same_os_arch(&d->platform, want))
            continue;
        if (any_variant || strcmp(d->platform.variant, want->variant) == 0)
            return d;
    }
    return NULL;
}

/* arm/vN runs the images of older arm variants: try v(N-1) .. v5. */
static const struct image_descriptor *find_older_arm(const struct image_manifest *idx,
                                                     const struct image_platform *want)
{
    int v = 0;
    if (strcmp(want->arch, "arm") != 0 || sscanf(want->variant, "v%d", &v) != 1)
        return NULL;
    struct image_platform older = *want;
    /* arm variants stop at v8 (arm64 is another arch): bound the loop */
    for (int k = (v > 9 ? 9 : v) - 1; k >= 5; k--) {
        snprintf(older.variant, sizeof older.variant, "v%d", k);
        const struct image_descriptor *d = find(idx, &older, false);
        if (d != NULL)
            return d;
    }
    return NULL;
}

static const struct image_descriptor *find_unlabelled(const struct image_manifest *idx)
{
    for (size_t i = 0; i < idx->n_manifests; i++)
        if (selectable(&idx->manifests[i]) && !idx->manifests[i].has_platform)
            return &idx->manifests[i];
    return NULL;
}

static int no_match(const struct image_manifest *idx, const struct image_platform *want,
                    v12n_error *err)
{
    char offered[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < idx->n_manifests && used < sizeof offered - 1; i++) {
        const struct image_descriptor *d = &idx->manifests[i];
        if (!selectable(d) || !d->has_platform || d->platform.os[0] == '\0')
            continue;
        char one[3 * IMAGE_PLATFORM_FIELD_MAX + 4];
        image_platform_string(&d->platform, one, sizeof one);
        int n = snprintf(offered + used, sizeof offered - used, "%s%s", used ? ", " : "", one);
        used += n < 0 ? 0 : (size_t)n;
    }
    if (used >= sizeof offered - 1)
        strcpy(offered + sizeof offered - 4, "...");
    char name[3 * IMAGE_PLATFORM_FIELD_MAX + 4];
    image_platform_string(want, name, sizeof name);
    if (used == 0)
        return v12n_fail(err, 0, "no image for %s (the index lists no platform)", name);
    return v12n_fail(err, 0, "no image for %s (the index has %s)", name, offered);
}

int image_index_select(const struct image_manifest *index, const struct image_platform *want,
                       const struct image_descriptor **out, v12n_error *err)
{
    if (index->kind != IMAGE_KIND_INDEX)
        return v12n_fail(err, 0, "platform selection: not an index");
    struct image_platform w = *want;
    image_platform_normalize(&w);
    if (w.os[0] == '\0' || w.arch[0] == '\0')
        return v12n_fail(err, 0, "platform selection: no os/arch wanted");
    const struct image_descriptor *d = find(index, &w, false);
    if (d == NULL && w.variant[0] == '\0')
        d = find(index, &w, true);
    if (d == NULL)
        d = find_older_arm(index, &w);
    if (d == NULL)
        d = find_unlabelled(index);
    if (d == NULL)
        return no_match(index, &w, err);
    *out = d;
    return 0;
}

void image_platform_host(struct image_platform *p)
{
    struct utsname u;
    memset(p, 0, sizeof *p);
    snprintf(p->os, sizeof p->os, "linux");
    snprintf(p->arch, sizeof p->arch, "%s", uname(&u) == 0 ? u.machine : "amd64");
    image_platform_normalize(p);
}
