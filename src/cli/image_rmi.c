/* `rmi [-f] IMAGE...` (also `image rm`): as Docker.  A name of an image
 * with other names is untagged; the last name, or an id, removes the image
 * and gc frees what no image uses any more.  An image a container uses (a
 * store pin) is refused, naming the container; with -f its names go but
 * the image stays until the container does.  An id with several names
 * needs -f.  Each IMAGE is tried; exit 1 when one failed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_image.h"
#include "engine/engine.h"
#include "util/json.h"

static void print_untagged(char **names)
{
    char familiar[IMAGE_REF_STRING_MAX];
    for (char **n = names; n != NULL && *n != NULL; n++)
        printf("Untagged: %s\n", cli_image_familiar(*n, familiar, sizeof familiar));
}

static int untag_all(struct store *s, char **names, v12n_error *err)
{
    for (char **n = names; n != NULL && *n != NULL; n++) {
        if (store_image_untag(s, *n, err) < 0)
            return -1;
    }
    print_untagged(names);
    return 0;
}

/* Pins of containers that are gone (see engine_pin_stale): dropped. */
static bool drop_stale_pins(struct store *s, const struct store_image *img)
{
    bool dropped = false;
    for (char **p = img->pins; p != NULL && *p != NULL; p++) {
        v12n_error ignored = {0};
        if (engine_pin_stale(store_root(s), *p) && store_image_unpin(s, img->id, *p, &ignored) == 0)
            dropped = true;
    }
    return dropped;
}

/* Remove the whole image, or with force only its names when it is in use. */
static int remove_image(struct store *s, const char *ref, const struct store_image *img, bool force,
                        v12n_error *err)
{
    int r = store_image_delete(s, img->id, err);
    if (r < 0 && err->errnum == EBUSY && drop_stale_pins(s, img))
        r = store_image_delete(s, img->id, err);
    if (r == 0) {
        print_untagged(img->names);
        printf("Deleted: %s\n", img->id);
        return 0;
    }
    if (err->errnum != EBUSY)
        return -1;
    if (force)
        return untag_all(s, img->names, err);
    const char *owner = "a container";
    for (char **p = img->pins; p != NULL && *p != NULL; p++)
        if (!engine_pin_stale(store_root(s), *p)) {
            owner = *p;
            break;
        }
    return v12n_fail(err, 0,
                     "conflict: unable to remove image %.256s (must force): %.256s is using it",
                     ref, owner);
}

static int rmi_one(struct store *s, const char *ref, bool force, v12n_error *err)
{
    struct store_image img;
    char name[IMAGE_REF_STRING_MAX];
    if (cli_image_find(s, ref, &img, name, err) < 0)
        return -1;
    int r;
    size_t names = v12n_strv_len(img.names);
    char one[IMAGE_REF_STRING_MAX];
    if (name[0] != '\0' && names > 1) {
        r = store_image_untag(s, name, err);
        if (r == 0)
            printf("Untagged: %s\n", cli_image_familiar(name, one, sizeof one));
    } else if (name[0] == '\0' && names > 1 && !force) {
        char id[13];
        r = v12n_fail(err, 0,
                      "conflict: unable to delete %s (must be forced): image is referenced in "
                      "%zu names",
                      cli_short_id(img.id, id), names);
    } else {
        r = remove_image(s, ref, &img, force, err);
    }
    store_image_clear(&img);
    return r;
}

int cli_rmi(int argc, char **argv)
{
    static const struct option opts[] = {
        {"force", no_argument, NULL, 'f'}, CLI_IMAGE_LONGOPTS, {0}};
    struct cli_image_opts o = {0};
    bool force = false;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
        if (c == 'f')
            force = true;
        else if (!cli_image_common_opt(&o, c, optarg))
            return cli_image_bad_option("rmi", argc, argv);
    }
    if (argc - optind < 1)
        return cli_usage_error("rmi", "expects at least one image");
    v12n_error err = {0};
    struct store *s = NULL;
    if (cli_image_store_open(&o, &s, &err) < 0)
        return cli_error(&err);
    int rc = 0;
    for (int i = optind; i < argc; i++) {
        if (rmi_one(s, argv[i], force, &err) < 0)
            rc = cli_error(&err);
    }
    struct store_gc_result gc;
    if (store_gc(s, &gc, &err) < 0)
        rc = cli_error(&err);
    store_close(s);
    return rc;
}
