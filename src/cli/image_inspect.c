/* `image inspect IMAGE...`: a JSON array as Docker prints it (Id, RepoTags,
 * RepoDigests, Created, Architecture, Variant, Os, Config, RootFS, Size),
 * read from the store's index entry and the image's config blob.  An
 * unknown image: its error, the others still printed, exit 1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_image.h"
#include "util/cleanup.h"
#include "util/json.h"

static json_t *repo_names(const struct store_image *img, bool digests)
{
    json_t *arr = json_array();
    for (char **n = img->names; arr != NULL && n != NULL && *n != NULL; n++) {
        char buf[IMAGE_REF_STRING_MAX * 2];
        struct image_ref r;
        v12n_error e = {0};
        if (image_ref_parse(*n, &r, &e) < 0)
            continue;
        if (!digests) {
            if (r.tag[0] != '\0')
                json_array_append_new(arr, json_string(image_ref_familiar(&r, buf, sizeof buf)));
            continue;
        }
        if (img->manifest == NULL)
            continue;
        r.tag[0] = '\0';
        snprintf(r.digest, sizeof r.digest, "%s", img->manifest);
        json_t *s = json_string(image_ref_familiar(&r, buf, sizeof buf));
        /* one digest per repository */
        size_t i;
        json_t *v;
        bool dup = false;
        json_array_foreach(arr, i, v) dup = dup || json_equal(v, s);
        if (dup)
            json_decref(s);
        else
            json_array_append_new(arr, s);
    }
    return arr;
}

static json_t *rootfs_of(json_t *cfg)
{
    json_t *ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
    return json_pack("{s:s, s:O}", "Type", "layers", "Layers",
                     json_is_array(ids) ? ids : json_array());
}

static json_t *copy_or(json_t *cfg, const char *key, json_t *fallback)
{
    json_t *v = json_object_get(cfg, key);
    if (v == NULL) {
        return fallback;
    }
    json_decref(fallback);
    return json_incref(v);
}

static int inspect_one(struct store *s, const char *ref, json_t *out, v12n_error *err)
{
    struct store_image img;
    char name[IMAGE_REF_STRING_MAX];
    if (cli_image_find(s, ref, &img, name, err) < 0)
        return -1;
    size_t len;
    auto_free char *text = store_blob_read(s, img.id, &len, err);
    json_error_t jerr;
    auto_json json_t *cfg = text != NULL ? json_loadb(text, len, 0, &jerr) : NULL;
    if (!json_is_object(cfg)) {
        if (text != NULL)
            v12n_fail(err, EINVAL, "image %s: config is not a JSON object", img.id);
        store_image_clear(&img);
        return -1;
    }
    json_t *j = json_object();
    json_object_set_new(j, "Id", json_string(img.id));
    json_object_set_new(j, "RepoTags", repo_names(&img, false));
    json_object_set_new(j, "RepoDigests", repo_names(&img, true));
    json_object_set_new(j, "Parent", json_string(""));
    json_object_set_new(j, "Comment", copy_or(cfg, "comment", json_string("")));
    json_object_set_new(j, "Created", copy_or(cfg, "created", json_string("")));
    json_object_set_new(j, "Author", copy_or(cfg, "author", json_string("")));
    json_object_set_new(j, "Config", copy_or(cfg, "config", json_object()));
    json_object_set_new(j, "Architecture", copy_or(cfg, "architecture", json_string("")));
    if (json_object_get(cfg, "variant") != NULL)
        json_object_set_new(j, "Variant", copy_or(cfg, "variant", json_null()));
    json_object_set_new(j, "Os", copy_or(cfg, "os", json_string("")));
    json_object_set_new(j, "Size", json_integer((json_int_t)img.size));
    json_object_set_new(j, "RootFS", rootfs_of(cfg));
    store_image_clear(&img);
    return json_array_append_new(out, j) == 0 ? 0 : v12n_fail(err, ENOMEM, "inspect");
}

int cli_image_inspect(int argc, char **argv)
{
    struct cli_image_opts o = {0};
    int rc = cli_image_common_opts_only("image inspect", &o, argc, argv);
    if (rc != 0)
        return rc;
    if (argc - optind < 1)
        return cli_usage_error("image inspect", "expects at least one image");
    v12n_error err = {0};
    struct store *s = NULL;
    if (cli_image_store_open(&o, &s, &err) < 0)
        return cli_error(&err);
    auto_json json_t *out = json_array();
    rc = 0;
    for (int i = optind; i < argc; i++) {
        if (inspect_one(s, argv[i], out, &err) < 0)
            rc = cli_error(&err);
    }
    store_close(s);
    char *text = json_dumps(out, JSON_INDENT(4));
    if (text != NULL)
        puts(text);
    free(text);
    return rc;
}
