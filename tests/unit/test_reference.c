/* Image references (Docker's normalisation and grammar) and digests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "image/digest.h"
#include "image/reference.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct good {
    const char *in, *canonical, *familiar, *api_host, *manifest_ref;
};

static void normalises_like_docker(void **state)
{
    (void)state;
    static const struct good cases[] = {
        {"alpine", "docker.io/library/alpine:latest", "alpine:latest", "registry-1.docker.io",
         "latest"},
        {"alpine:3.19", "docker.io/library/alpine:3.19", "alpine:3.19", "registry-1.docker.io",
         "3.19"},
        {"user/app", "docker.io/user/app:latest", "user/app:latest", "registry-1.docker.io",
         "latest"},
        {"docker.io/alpine", "docker.io/library/alpine:latest", "alpine:latest",
         "registry-1.docker.io", "latest"},
        {"index.docker.io/user/app:v1", "docker.io/user/app:v1", "user/app:v1",
         "registry-1.docker.io", "v1"},
        {"docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest",
         "registry-1.docker.io", "latest"},
        {"kalilinux/kali-rolling", "docker.io/kalilinux/kali-rolling:latest",
         "kalilinux/kali-rolling:latest", "registry-1.docker.io", "latest"},
        {"localhost/x", "localhost/x:latest", "localhost/x:latest", "localhost", "latest"},
        {"localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest", "localhost:5000",
         "latest"},
        {"127.0.0.1:5000/x:tag", "127.0.0.1:5000/x:tag", "127.0.0.1:5000/x:tag", "127.0.0.1:5000",
         "tag"},
        {"reg.example/ns/x@sha256:" HEX64, "reg.example/ns/x@sha256:" HEX64,
         "reg.example/ns/x@sha256:" HEX64, "reg.example", "sha256:" HEX64},
        {"reg.example/ns/x:v2@sha256:" HEX64, "reg.example/ns/x:v2@sha256:" HEX64,
         "reg.example/ns/x:v2@sha256:" HEX64, "reg.example", "sha256:" HEX64},
        {"[::1]:5000/a/b:v1", "[::1]:5000/a/b:v1", "[::1]:5000/a/b:v1", "[::1]:5000", "v1"},
        {"ghcr.io/o-r_g/re.po__x/y-z:V_1.0-rc", "ghcr.io/o-r_g/re.po__x/y-z:V_1.0-rc",
         "ghcr.io/o-r_g/re.po__x/y-z:V_1.0-rc", "ghcr.io", "V_1.0-rc"},
        /* Docker's quirks: "localhost:5000" alone is a Hub image with a tag,
         * an upper-case first component names a registry */
        {"localhost:5000", "docker.io/library/localhost:5000", "localhost:5000",
         "registry-1.docker.io", "5000"},
        {"Reg/x", "Reg/x:latest", "Reg/x:latest", "Reg", "latest"},
        /* the short form must not read as a registry */
        {"docker.io/foo.bar/x", "docker.io/foo.bar/x:latest", "docker.io/foo.bar/x:latest",
         "registry-1.docker.io", "latest"},
        {"docker.io/localhost/x", "docker.io/localhost/x:latest", "docker.io/localhost/x:latest",
         "registry-1.docker.io", "latest"},
        {"a---b", "docker.io/library/a---b:latest", "a---b:latest", "registry-1.docker.io",
         "latest"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct image_ref r;
        v12n_error err = {0};
        if (image_ref_parse(cases[i].in, &r, &err) != 0)
            fail_msg("%s: %s", cases[i].in, err.msg);
        char buf[IMAGE_REF_STRING_MAX];
        assert_string_equal(image_ref_string(&r, buf, sizeof buf), cases[i].canonical);
        assert_string_equal(image_ref_familiar(&r, buf, sizeof buf), cases[i].familiar);
        assert_string_equal(image_ref_api_host(&r), cases[i].api_host);
        assert_string_equal(image_ref_manifest_ref(&r), cases[i].manifest_ref);
        /* the canonical form parses back to itself */
        struct image_ref again;
        assert_int_equal(image_ref_parse(cases[i].familiar, &again, &err), 0);
        assert_string_equal(r.domain, again.domain);
        assert_string_equal(r.path, again.path);
        assert_int_equal(image_ref_parse(cases[i].canonical, &again, &err), 0);
        assert_string_equal(r.domain, again.domain);
        assert_string_equal(r.path, again.path);
        assert_string_equal(r.tag, again.tag);
        assert_string_equal(r.digest, again.digest);
    }
}

struct bad {
    const char *in, *msg;
};

static void malformed_references_say_what_is_wrong(void **state)
{
    (void)state;
    static const struct bad cases[] = {
        {"", "invalid reference \"\": empty"},
        {"Alpine", "invalid reference \"Alpine\": repository name must be lowercase"},
        {"docker.io/User/app", "invalid reference \"docker.io/User/app\": repository name must be "
                               "lowercase"},
        {"alpine:", "invalid reference \"alpine:\": invalid tag \"\" (1 to 128 of "
                    "[A-Za-z0-9_.-], not starting with '.' or '-')"},
        {"alpine:-x", "invalid reference \"alpine:-x\": invalid tag \"-x\" (1 to 128 of "
                      "[A-Za-z0-9_.-], not starting with '.' or '-')"},
        {"alpine:a/b", "invalid reference \"alpine:a/b\": invalid registry host \"alpine:a\""},
        {"a//b", "invalid reference \"a//b\": invalid repository path component \"\" (lowercase "
                 "letters and digits, separated by '.', '_', '__' or '-')"},
        {"a/b/", "invalid reference \"a/b/\": invalid repository path component \"\" (lowercase "
                 "letters and digits, separated by '.', '_', '__' or '-')"},
        {"x_", "invalid reference \"x_\": invalid repository path component \"x_\" (lowercase "
               "letters and digits, separated by '.', '_', '__' or '-')"},
        {"a___b", "invalid reference \"a___b\": invalid repository path component \"a___b\" "
                  "(lowercase letters and digits, separated by '.', '_', '__' or '-')"},
        {"-a.io/x", "invalid reference \"-a.io/x\": invalid registry host \"-a.io\""},
        {"a.io:port/x", "invalid reference \"a.io:port/x\": invalid registry host \"a.io:port\""},
        {"a.io:/x", "invalid reference \"a.io:/x\": invalid registry host \"a.io:\""},
        {"[zz]:1/x", "invalid reference \"[zz]:1/x\": invalid registry host \"[zz]:1\""},
        {"x@sha256:abc", "invalid reference \"x@sha256:abc\": digest \"sha256:abc\": 64 "
                         "lowercase hex digits expected after sha256:"},
        {"x@sha256:" HEX64 "0", "invalid reference \"x@sha256:" HEX64 "0\": digest \"sha256:" HEX64
                                "0\": 64 lowercase hex digits "
                                "expected after sha256:"},
        {"x@sha512:abc", "invalid reference \"x@sha512:abc\": digest \"sha512:abc\": only "
                         "sha256:<hex> digests are supported"},
        {"x@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
         "invalid reference \"x@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef01234567"
         "89abcdef\": digest \"sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789"
         "abcdef\": 64 lowercase hex digits expected after sha256:"},
        {"@sha256:" HEX64, "invalid reference \"@sha256:" HEX64 "\": no repository name"},
        {":tag", "invalid reference \":tag\": no repository name"},
        {HEX64,
         "invalid reference \"" HEX64 "\": a 64-digit hex string is an image ID, not a reference"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct image_ref r;
        v12n_error err = {0};
        if (image_ref_parse(cases[i].in, &r, &err) != -1)
            fail_msg("%s: accepted", cases[i].in);
        assert_string_equal(err.msg, cases[i].msg);
        assert_int_equal(err.errnum, 0);
    }
}

static void lengths_are_bounded(void **state)
{
    (void)state;
    char name[600], tag[200], in[900];
    struct image_ref r;
    v12n_error err = {0};
    /* exactly 255 characters of domain/path is fine, 256 is not */
    memset(name, 'a', sizeof name);
    snprintf(in, sizeof in, "reg.io/%.*s", 255 - 7, name);
    assert_int_equal(image_ref_parse(in, &r, &err), 0);
    snprintf(in, sizeof in, "reg.io/%.*s", 256 - 7, name);
    assert_int_equal(image_ref_parse(in, &r, &err), -1);
    assert_non_null(strstr(err.msg, "name longer than 255 characters"));
    /* a huge domain, and a huge name, fail without overflowing anything */
    snprintf(in, sizeof in, "%.*s.io/x", 400, name);
    assert_int_equal(image_ref_parse(in, &r, &err), -1);
    snprintf(in, sizeof in, "%.*s", 800, name);
    assert_int_equal(image_ref_parse(in, &r, &err), -1);
    /* the library/ prefix counts */
    snprintf(in, sizeof in, "%.*s", 255 - 18, name);
    assert_int_equal(image_ref_parse(in, &r, &err), 0);
    snprintf(in, sizeof in, "%.*s", 255 - 17, name);
    assert_int_equal(image_ref_parse(in, &r, &err), -1);
    /* tags: 128 characters */
    memset(tag, 'T', sizeof tag);
    snprintf(in, sizeof in, "x:%.*s", 128, tag);
    assert_int_equal(image_ref_parse(in, &r, &err), 0);
    assert_int_equal(strlen(r.tag), 128);
    snprintf(in, sizeof in, "x:%.*s", 129, tag);
    assert_int_equal(image_ref_parse(in, &r, &err), -1);
    /* the message quotes a bounded part of a huge input */
    assert_true(strlen(err.msg) < 600);
}

static void digests_validate_strictly(void **state)
{
    (void)state;
    assert_true(image_digest_valid("sha256:" HEX64));
    assert_false(image_digest_valid(NULL));
    assert_false(image_digest_valid(""));
    assert_false(image_digest_valid("sha256:"));
    assert_false(image_digest_valid("sha256:" HEX64 "0"));
    assert_false(image_digest_valid("SHA256:" HEX64));
    assert_false(image_digest_valid("sha256:0123456789abcdef0123456789abcdef0123456789abcdef"
                                    "0123456789abcdeF"));
    assert_false(image_digest_valid("sha256:0123456789abcdef0123456789abcdef0123456789abcdef"
                                    "0123456789abcdeg"));
    assert_false(image_digest_valid("sha256 " HEX64));
    assert_false(image_digest_valid("sha512:" HEX64 HEX64));
    assert_string_equal(image_digest_hex("sha256:" HEX64), HEX64);
    v12n_error err = {0};
    assert_int_equal(image_digest_check("", &err), -1);
    assert_string_equal(err.msg, "empty digest");
    assert_int_equal(image_digest_check("md5:x", &err), -1);
    assert_string_equal(err.msg, "digest \"md5:x\": only sha256:<hex> digests are supported");
}

static void sha256_streams_and_matches_known_vectors(void **state)
{
    (void)state;
    char out[IMAGE_DIGEST_SIZE];
    v12n_error err = {0};
    assert_int_equal(image_digest_of("", 0, out, &err), 0);
    assert_string_equal(out,
                        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(image_digest_of("abc", 3, out, &err), 0);
    assert_string_equal(out,
                        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* one million 'a's, fed in uneven pieces */
    struct image_sha256 *h = image_sha256_new();
    assert_non_null(h);
    char chunk[997];
    memset(chunk, 'a', sizeof chunk);
    size_t left = 1000000;
    while (left > 0) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        image_sha256_update(h, chunk, n);
        left -= n;
    }
    image_sha256_final(h, out);
    assert_string_equal(out,
                        "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* final resets: the same context hashes again from scratch */
    image_sha256_update(h, "abc", 3);
    image_sha256_final(h, out);
    assert_string_equal(out,
                        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* reset drops what was fed so far */
    image_sha256_update(h, "xyz", 3);
    image_sha256_reset(h);
    image_sha256_update(h, "abc", 3);
    image_sha256_final(h, out);
    assert_string_equal(out,
                        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    image_sha256_free(h);
    assert_true(image_digest_valid(out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normalises_like_docker),
        cmocka_unit_test(malformed_references_say_what_is_wrong),
        cmocka_unit_test(lengths_are_bounded),
        cmocka_unit_test(digests_validate_strictly),
        cmocka_unit_test(sha256_streams_and_matches_known_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
