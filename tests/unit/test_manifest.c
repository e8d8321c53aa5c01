/* Manifest and index parsing, platforms and choosing one from an index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "image/manifest.h"
#include "image/platform.h"

#define D(c)                                                                                       \
    "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
        c c c c c c c c c c c c c c c c c c c c c c
#define DA D("a")
#define DB D("b")
#define DC D("c")
#define DD D("d")
#define DE D("e")

static struct image_manifest *parse_ok(const char *json, const char *content_type)
{
    struct image_manifest *m = NULL;
    v12n_error err = {0};
    if (image_manifest_parse(json, strlen(json), content_type, &m, &err) != 0)
        fail_msg("%s", err.msg);
    return m;
}

static const char *parse_err(const char *json, const char *content_type)
{
    static v12n_error err;
    struct image_manifest *m = NULL;
    v12n_error_clear(&err);
    if (image_manifest_parse(json, strlen(json), content_type, &m, &err) == 0)
        fail_msg("accepted: %s", json);
    assert_null(m);
    return err.msg;
}

static const char oci_manifest[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST "\","
    "\"config\":{\"mediaType\":\"" IMAGE_MT_OCI_CONFIG "\",\"digest\":\"" DA "\",\"size\":7},"
    "\"layers\":[{\"mediaType\":\"" IMAGE_MT_OCI_LAYER_GZIP "\",\"digest\":\"" DB
    "\",\"size\":100},"
    "{\"mediaType\":\"" IMAGE_MT_OCI_LAYER_ZSTD "\",\"digest\":\"" DC "\",\"size\":0}]}";

static void parses_an_oci_manifest(void **state)
{
    (void)state;
    struct image_manifest *m = parse_ok(oci_manifest, NULL);
    assert_int_equal(m->kind, IMAGE_KIND_MANIFEST);
    assert_string_equal(m->media_type, IMAGE_MT_OCI_MANIFEST);
    assert_string_equal(m->config.digest, DA);
    assert_int_equal(m->config.size, 7);
    assert_int_equal(m->n_layers, 2);
    assert_string_equal(m->layers[0].digest, DB);
    assert_string_equal(m->layers[0].media_type, IMAGE_MT_OCI_LAYER_GZIP);
    assert_int_equal(m->layers[0].size, 100);
    assert_string_equal(m->layers[1].media_type, IMAGE_MT_OCI_LAYER_ZSTD);
    image_manifest_free(m);
}

static void kind_from_content_type_or_shape(void **state)
{
    (void)state;
    /* Docker schema 2 without mediaType in the body: the header decides */
    const char *docker = "{\"schemaVersion\":2,\"config\":{\"digest\":\"" DA "\",\"size\":1},"
                         "\"layers\":[]}";
    struct image_manifest *m = parse_ok(docker, IMAGE_MT_DOCKER_V2 "; charset=utf-8");
    assert_int_equal(m->kind, IMAGE_KIND_MANIFEST);
    assert_string_equal(m->media_type, IMAGE_MT_DOCKER_V2);
    assert_int_equal(m->n_layers, 0);
    image_manifest_free(m);
    /* no hint at all: the shape */
    m = parse_ok(docker, "application/json");
    assert_int_equal(m->kind, IMAGE_KIND_MANIFEST);
    image_manifest_free(m);
    m = parse_ok("{\"schemaVersion\":2,\"manifests\":[]}", NULL);
    assert_int_equal(m->kind, IMAGE_KIND_INDEX);
    assert_int_equal(m->n_manifests, 0);
    image_manifest_free(m);
    /* the document's own mediaType wins over the header */
    m = parse_ok(oci_manifest, IMAGE_MT_OCI_INDEX);
    assert_int_equal(m->kind, IMAGE_KIND_MANIFEST);
    image_manifest_free(m);
}

static void rejects_what_is_not_a_v2_manifest(void **state)
{
    (void)state;
    assert_string_equal(parse_err("{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}", NULL),
                        "manifest: Docker schema 1 is not supported");
    assert_string_equal(
        parse_err("{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_DOCKER_V1_JWS "\"}", NULL),
        "manifest: Docker schema 1 is not supported");
    assert_string_equal(parse_err("{\"manifests\":[]}", NULL),
                        "manifest: schemaVersion: expected 2");
    assert_string_equal(parse_err("[]", NULL), "manifest: expected a JSON object");
    assert_string_equal(parse_err("{\"schemaVersion\":2}", NULL),
                        "manifest: neither an image manifest nor an index");
    assert_string_equal(parse_err("{\"schemaVersion\":2,\"manifests\":[],\"layers\":[]}", NULL),
                        "manifest: neither an image manifest nor an index");
    assert_string_equal(
        parse_err("{\"schemaVersion\":2,\"mediaType\":\"text/plain\",\"layers\":[]}", NULL),
        "manifest: unsupported media type \"text/plain\"");
    assert_string_equal(parse_err("{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST
                                  "\",\"layers\":[]}",
                                  NULL),
                        "manifest.config: missing");
    assert_string_equal(
        parse_err("{\"schemaVersion\":2,\"config\":{\"digest\":\"" DA "\",\"size\":1}}", NULL),
        "manifest.layers: missing");
    assert_string_equal(parse_err("{\"schemaVersion\":2,\"config\":{\"digest\":\"" DA
                                  "\",\"size\":1},\"layers\":[{\"digest\":\"sha256:AB\","
                                  "\"size\":1}]}",
                                  NULL),
                        "manifest.layers[0].digest: digest \"sha256:AB\": 64 lowercase hex "
                        "digits expected after sha256:");
    assert_string_equal(parse_err("{\"schemaVersion\":2,\"config\":{\"digest\":\"" DA
                                  "\",\"size\":-1},\"layers\":[]}",
                                  NULL),
                        "manifest.config.size: expected a non-negative integer");
    assert_string_equal(
        parse_err("{\"schemaVersion\":2,\"config\":{\"digest\":\"" DA "\"},\"layers\":[]}", NULL),
        "manifest.config.size: missing");
    assert_string_equal(parse_err("{\"schemaVersion\":2,\"manifests\":[{\"size\":1}]}", NULL),
                        "index.manifests[0].digest: missing");
    assert_string_equal(parse_err("{\"schemaVersion\":2,\"manifests\":[7]}", NULL),
                        "index.manifests[0]: expected an object");
    assert_string_equal(parse_err("{\"schemaVersion\":2, \"schemaVersion\":2}", NULL),
                        "manifest: invalid JSON at line 1 column 35: duplicate object key near "
                        "'\"schemaVersion\"'");
}

static void refuses_more_than_4_mib(void **state)
{
    (void)state;
    static char big[IMAGE_MANIFEST_MAX + 2];
    memset(big, ' ', sizeof big);
    struct image_manifest *m = NULL;
    v12n_error err = {0};
    assert_int_equal(image_manifest_parse(big, sizeof big, NULL, &m, &err), -1);
    assert_string_equal(err.msg, "manifest: larger than 4 MiB");
}

static const char index_json[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_OCI_INDEX "\",\"manifests\":["
    "{\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST "\",\"digest\":\"" DA "\",\"size\":1,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
    "{\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST "\",\"digest\":\"" DB "\",\"size\":1,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
    "{\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST "\",\"digest\":\"" DC "\",\"size\":1,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
    /* a BuildKit attestation: never an image */
    "{\"mediaType\":\"application/vnd.in-toto+json\",\"digest\":\"" DD "\",\"size\":1,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"s390x\"}},"
    "{\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST "\",\"digest\":\"" DE "\",\"size\":1,"
    "\"platform\":{\"os\":\"windows\",\"architecture\":\"amd64\"}}]}";

static const char *select_digest(const char *json, const char *platform)
{
    static char digest[IMAGE_DIGEST_SIZE];
    struct image_manifest *m = parse_ok(json, NULL);
    struct image_platform want;
    v12n_error err = {0};
    if (platform != NULL)
        assert_int_equal(image_platform_parse(platform, &want, &err), 0);
    else
        image_platform_default(&want);
    const struct image_descriptor *d = NULL;
    if (image_index_select(m, &want, &d, &err) == 0)
        snprintf(digest, sizeof digest, "%s", d->digest);
    else
        snprintf(digest, sizeof digest, "error: %.60s", err.msg);
    image_manifest_free(m);
    return digest;
}

static void selects_the_platform(void **state)
{
    (void)state;
    assert_string_equal(select_digest(index_json, NULL), DA);
    assert_string_equal(select_digest(index_json, "linux/amd64"), DA);
    assert_string_equal(select_digest(index_json, "linux/x86_64"), DA);
    assert_string_equal(select_digest(index_json, "linux/arm64"), DB);
    assert_string_equal(select_digest(index_json, "linux/arm64/v8"), DB);
    assert_string_equal(select_digest(index_json, "linux/aarch64"), DB);
    assert_string_equal(select_digest(index_json, "linux/arm/v6"), DC);
    /* arm/v7 runs v6 images; arm alone means v7 */
    assert_string_equal(select_digest(index_json, "linux/arm/v7"), DC);
    assert_string_equal(select_digest(index_json, "linux/arm"), DC);
    assert_string_equal(select_digest(index_json, "windows/amd64"), DE);

    struct image_manifest *m = parse_ok(index_json, NULL);
    struct image_platform want;
    v12n_error err = {0};
    assert_int_equal(image_platform_parse("linux/s390x", &want, &err), 0);
    const struct image_descriptor *d = NULL;
    assert_int_equal(image_index_select(m, &want, &d, &err), -1);
    assert_string_equal(err.msg, "no image for linux/s390x (the index has linux/amd64, "
                                 "linux/arm64, linux/arm/v6, windows/amd64)");
    assert_int_equal(image_platform_parse("linux/arm/v5", &want, &err), 0);
    assert_int_equal(image_index_select(m, &want, &d, &err), -1);
    image_manifest_free(m);
}

static void variants_and_unlabelled_entries(void **state)
{
    (void)state;
    /* only amd64/v3 offered: a plain amd64 request takes it */
    const char *v3 = "{\"schemaVersion\":2,\"manifests\":["
                     "{\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST "\",\"digest\":\"" DA "\","
                     "\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\","
                     "\"variant\":\"v3\"}}]}";
    assert_string_equal(select_digest(v3, "linux/amd64"), DA);
    /* an entry without platform is the last resort */
    const char *bare =
        "{\"schemaVersion\":2,\"manifests\":["
        "{\"mediaType\":\"" IMAGE_MT_DOCKER_V2 "\",\"digest\":\"" DB "\",\"size\":1}]}";
    assert_string_equal(select_digest(bare, "linux/riscv64"), DB);
    /* a platform with absurd fields never matches, and does not break the rest */
    const char *odd = "{\"schemaVersion\":2,\"manifests\":["
                      "{\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST "\",\"digest\":\"" DA "\","
                      "\"size\":1,\"platform\":{\"os\":7,\"architecture\":\"amd64\"}},"
                      "{\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST "\",\"digest\":\"" DC "\","
                      "\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\","
                      "\"variant\":\"v99999999999\"}},"
                      "{\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST "\",\"digest\":\"" DB "\","
                      "\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
    assert_string_equal(select_digest(odd, "linux/amd64"), DB);
    assert_string_equal(select_digest(odd, "linux/arm/v99999"),
                        "error: no image for linux/arm/v99999 (the index has linux/amd64/v99");
}

static void platform_strings(void **state)
{
    (void)state;
    struct image_platform p;
    v12n_error err = {0};
    char buf[256];
    assert_int_equal(image_platform_parse("linux/armhf", &p, &err), 0);
    assert_string_equal(image_platform_string(&p, buf, sizeof buf), "linux/arm/v7");
    assert_int_equal(image_platform_parse("linux/amd64/v1", &p, &err), 0);
    assert_string_equal(image_platform_string(&p, buf, sizeof buf), "linux/amd64");
    assert_int_equal(image_platform_parse("linux/i386", &p, &err), 0);
    assert_string_equal(image_platform_string(&p, buf, sizeof buf), "linux/386");
    image_platform_default(&p);
    assert_string_equal(image_platform_string(&p, buf, sizeof buf), "linux/amd64");
    const char *bad[] = {"linux",       "linux/",       "/amd64", "linux/amd64/v8/x",
                         "Linux/amd64", "linux/am d64", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (image_platform_parse(bad[i], &p, &err) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_non_null(strstr(err.msg, "expected os/arch[/variant]"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_an_oci_manifest),
        cmocka_unit_test(kind_from_content_type_or_shape),
        cmocka_unit_test(rejects_what_is_not_a_v2_manifest),
        cmocka_unit_test(refuses_more_than_4_mib),
        cmocka_unit_test(selects_the_platform),
        cmocka_unit_test(variants_and_unlabelled_entries),
        cmocka_unit_test(platform_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
