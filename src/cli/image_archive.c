/* `save [-o FILE] [--format docker-archive|oci-archive] IMAGE...`,
 * `load [-i FILE] [-q]` and `import FILE|- [REPOSITORY[:TAG]]`: images in
 * and out of tarballs (see image/archive.h).  Without -o / -i, stdout /
 * stdin, as Docker (save refuses a terminal). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_image.h"
#include "image/archive.h"
#include "util/cleanup.h"

int cli_save(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"format", required_argument, NULL, 'f'},
                                         CLI_IMAGE_LONGOPTS,
                                         {0}};
    struct cli_image_opts o = {0};
    const char *out = NULL;
    enum image_archive_format fmt = IMAGE_ARCHIVE_DOCKER;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+o:", opts, NULL)) != -1) {
        if (c == 'o')
            out = optarg;
        else if (c == 'f' && strcmp(optarg, "oci-archive") == 0)
            fmt = IMAGE_ARCHIVE_OCI;
        else if (c == 'f' && strcmp(optarg, "docker-archive") != 0)
            return cli_usage_error("save", "--format: docker-archive or oci-archive");
        else if (c != 'f' && !cli_image_common_opt(&o, c, optarg))
            return cli_image_bad_option("save", argc, argv);
    }
    if (argc - optind < 1)
        return cli_usage_error("save", "expects at least one image");
    if (out == NULL && isatty(STDOUT_FILENO))
        return cli_usage_error("save", "refusing to write to a terminal: use -o FILE");
    v12n_error err = {0};
    struct store *s = NULL;
    if (cli_image_store_open(&o, &s, &err) < 0)
        return cli_error(&err);
    /* every name as the store spells it (or an id) */
    char names[argc][IMAGE_REF_STRING_MAX];
    char *refs[argc];
    int r = 0;
    for (int i = optind; i < argc && r == 0; i++) {
        struct store_image img;
        char *name = names[i - optind];
        r = cli_image_find(s, argv[i], &img, name, &err);
        if (r == 0 && name[0] == '\0')
            snprintf(name, IMAGE_REF_STRING_MAX, "%s", img.id);
        refs[i - optind] = name;
        store_image_clear(&img);
    }
    auto_close int fd = -1;
    if (r == 0 && out != NULL &&
        (fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
        r = v12n_fail_errno(&err, "save: %s", out);
    if (r == 0)
        r = image_save(s, refs, (size_t)(argc - optind), fmt, out ? fd : STDOUT_FILENO, &err);
    store_close(s);
    if (r < 0 && out != NULL)
        unlink(out);
    return r < 0 ? cli_error(&err) : 0;
}

static void print_loaded(void *arg, const char *id, const char *name)
{
    (void)arg;
    char familiar[IMAGE_REF_STRING_MAX];
    if (name != NULL)
        printf("Loaded image: %s\n", cli_image_familiar(name, familiar, sizeof familiar));
    else
        printf("Loaded image ID: %s\n", id);
}

int cli_load(int argc, char **argv)
{
    static const struct option opts[] = {{"input", required_argument, NULL, 'i'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         CLI_IMAGE_LONGOPTS,
                                         {0}};
    struct cli_image_opts o = {0};
    const char *in = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+i:q", opts, NULL)) != -1) {
        if (c == 'i')
            in = optarg;
        else if (c != 'q' && !cli_image_common_opt(&o, c, optarg))
            return cli_image_bad_option("load", argc, argv);
    }
    if (argc - optind != 0)
        return cli_usage_error("load", "takes no arguments (the archive: -i FILE or stdin)");
    v12n_error err = {0};
    auto_close int fd = in != NULL ? open(in, O_RDONLY | O_CLOEXEC) : -1;
    if (in != NULL && fd < 0) {
        v12n_fail_errno(&err, "load: %s", in);
        return cli_error(&err);
    }
    struct store *s = NULL;
    int r = cli_image_store_open(&o, &s, &err);
    if (r == 0)
        r = image_load(s, in != NULL ? fd : STDIN_FILENO, print_loaded, NULL, &err);
    /* members no image uses (VERSION, <id>/json, a failed load's blobs) */
    struct store_gc_result gc;
    v12n_error ignored = {0};
    if (s != NULL)
        store_gc(s, &gc, &ignored);
    store_close(s);
    return r < 0 ? cli_error(&err) : 0;
}

int cli_import(int argc, char **argv)
{
    static const struct option opts[] = {
        {"message", required_argument, NULL, 'm'}, CLI_IMAGE_LONGOPTS, {0}};
    struct cli_image_opts o = {0};
    const char *message = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+m:", opts, NULL)) != -1) {
        if (c == 'm')
            message = optarg;
        else if (!cli_image_common_opt(&o, c, optarg))
            return cli_image_bad_option("import", argc, argv);
    }
    int left = argc - optind;
    if (left < 1 || left > 2)
        return cli_usage_error("import", "expects FILE|- and an optional REPOSITORY[:TAG]");
    const char *file = argv[optind];
    v12n_error err = {0};
    char name[IMAGE_REF_STRING_MAX] = "";
    struct image_ref ref;
    if (left == 2) {
        if (image_ref_parse(argv[optind + 1], &ref, &err) < 0)
            return cli_error(&err);
        image_ref_string(&ref, name, sizeof name);
    }
    bool from_stdin = strcmp(file, "-") == 0;
    auto_close int fd = from_stdin ? -1 : open(file, O_RDONLY | O_CLOEXEC);
    if (!from_stdin && fd < 0) {
        v12n_fail_errno(&err, "import: %s", file);
        return cli_error(&err);
    }
    struct store *s = NULL;
    char id[IMAGE_DIGEST_SIZE];
    int r = cli_image_store_open(&o, &s, &err);
    if (r == 0)
        r = image_import(s, from_stdin ? STDIN_FILENO : fd, name[0] ? name : NULL, message, id,
                         &err);
    store_close(s);
    if (r < 0)
        return cli_error(&err);
    printf("%s\n", id);
    return 0;
}
