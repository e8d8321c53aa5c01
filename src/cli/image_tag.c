/* `tag SOURCE TARGET` (also `image tag`): TARGET, normalised as a
 * reference, becomes a name of SOURCE's image (moved from any other). */
#include <stdio.h>

#include "cli.h"
#include "cli_image.h"

int cli_tag(int argc, char **argv)
{
    struct cli_image_opts o = {0};
    int rc = cli_image_common_opts_only("tag", &o, argc, argv);
    if (rc != 0)
        return rc;
    if (argc - optind != 2)
        return cli_usage_error("tag", "expects SOURCE_IMAGE and TARGET_IMAGE");
    v12n_error err = {0};
    struct image_ref target;
    if (image_ref_parse(argv[optind + 1], &target, &err) < 0)
        return cli_error(&err);
    if (target.tag[0] == '\0')
        return cli_usage_error("tag", "%s: a target needs a tag, not a digest", argv[optind + 1]);
    char name[IMAGE_REF_STRING_MAX], found[IMAGE_REF_STRING_MAX];
    image_ref_string(&target, name, sizeof name);
    struct store *s = NULL;
    struct store_image img = {0};
    int r = cli_image_store_open(&o, &s, &err);
    if (r == 0)
        r = cli_image_find(s, argv[optind], &img, found, &err);
    if (r == 0)
        r = store_image_tag(s, img.id, name, &err);
    store_image_clear(&img);
    store_close(s);
    return r < 0 ? cli_error(&err) : 0;
}
