/* `image builtin busybox [--busybox PATH] [NAME]`: build the built-in
 * busybox image from the host's busybox-static (see image/builtin.h) and
 * list it as NAME (default busybox, i.e. docker.io/library/busybox:latest).
 * `pull busybox` does the same by itself when no registry answers. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_image.h"
#include "image/builtin.h"

int cli_image_builtin(int argc, char **argv)
{
    static const struct option opts[] = {
        {"busybox", required_argument, NULL, 'b'}, CLI_IMAGE_LONGOPTS, {0}};
    struct cli_image_opts o = {0};
    const char *bin = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        if (c == 'b')
            bin = optarg;
        else if (!cli_image_common_opt(&o, c, optarg))
            return cli_image_bad_option("image builtin", argc, argv);
    }
    int left = argc - optind;
    if (left < 1 || left > 2 || strcmp(argv[optind], "busybox") != 0)
        return cli_usage_error("image builtin", "expects \"busybox\" and an optional name");
    v12n_error err = {0};
    struct image_ref ref;
    if (image_ref_parse(left == 2 ? argv[optind + 1] : "busybox", &ref, &err) < 0)
        return cli_error(&err);
    char name[IMAGE_REF_STRING_MAX], id[IMAGE_DIGEST_SIZE];
    image_ref_string(&ref, name, sizeof name);
    struct store *s = NULL;
    int r = cli_image_store_open(&o, &s, &err);
    if (r == 0)
        r = image_builtin_busybox(s, name, bin, id, &err);
    store_close(s);
    if (r < 0)
        return cli_error(&err);
    printf("%s\n%s\n", id, name);
    return 0;
}
