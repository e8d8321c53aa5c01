/* `images [-a] [-q] [--format json] [REPOSITORY[:TAG]]`: one row per name,
 * one "<none>" row per image without a name, newest first (Docker's
 * columns).  -a changes nothing: the store keeps no intermediate images. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_image.h"
#include "util/json.h"

struct row {
    const struct store_image *img;
    const char *name; /* NULL: dangling */
};

static int newest_first(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    time_t tx = 0, ty = 0;
    cli_parse_time(x->img->created, &tx);
    cli_parse_time(y->img->created, &ty);
    if (tx != ty)
        return tx < ty ? 1 : -1;
    return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static bool matches(const struct row *r, const char *filter)
{
    if (filter == NULL)
        return true;
    if (r->name == NULL)
        return false;
    char repo[IMAGE_REF_STRING_MAX], tag[IMAGE_REF_TAG_MAX + 8], both[IMAGE_REF_STRING_MAX * 2];
    cli_image_repo_tag(r->name, repo, sizeof repo, tag, sizeof tag);
    snprintf(both, sizeof both, "%s:%s", repo, tag);
    return strcmp(filter, repo) == 0 || strcmp(filter, both) == 0 || strcmp(filter, r->name) == 0;
}

static void print_json(const struct row *r, const char *repo, const char *tag, const char *id)
{
    char size[32], age[64], at[64] = "N/A";
    time_t t;
    if (cli_parse_time(r->img->created, &t)) {
        struct tm tm;
        strftime(at, sizeof at, "%Y-%m-%d %H:%M:%S +0000 UTC", gmtime_r(&t, &tm));
    }
    char digest[IMAGE_DIGEST_SIZE + 8];
    snprintf(digest, sizeof digest, "%s", r->img->manifest ? r->img->manifest : "<none>");
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Containers", "N/A", "CreatedAt", at,
        "CreatedSince", cli_human_age(r->img->created, age, sizeof age), "Digest", digest, "ID", id,
        "Repository", repo, "Size", cli_human_size(r->img->size, size, sizeof size), "Tag", tag);
    if (j != NULL)
        cli_print_json(j, false);
    json_decref(j);
}

static void print_row(const struct row *r, bool quiet, bool json)
{
    char repo[IMAGE_REF_STRING_MAX], tag[IMAGE_REF_TAG_MAX + 8], id[13], size[32], age[64];
    cli_image_repo_tag(r->name, repo, sizeof repo, tag, sizeof tag);
    cli_short_id(r->img->id, id);
    if (quiet)
        printf("%s\n", id);
    else if (json)
        print_json(r, repo, tag, id);
    else
        printf("%-40s %-20s %-15s %-18s %s\n", repo, tag, id,
               cli_human_age(r->img->created, age, sizeof age),
               cli_human_size(r->img->size, size, sizeof size));
}

static size_t make_rows(const struct store_image *imgs, size_t n, struct row *rows)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (imgs[i].names == NULL || imgs[i].names[0] == NULL)
            rows[k++] = (struct row){&imgs[i], NULL};
        for (char **nm = imgs[i].names; nm != NULL && *nm != NULL; nm++)
            rows[k++] = (struct row){&imgs[i], *nm};
    }
    return k;
}

static void print_rows(struct row *rows, size_t k, const char *filter, bool quiet, bool json)
{
    qsort(rows, k, sizeof *rows, newest_first);
    if (!quiet && !json)
        printf("%-40s %-20s %-15s %-18s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
    for (size_t i = 0; i < k; i++) {
        if (!matches(&rows[i], filter))
            continue;
        /* -q: each id once */
        bool seen = false;
        for (size_t j = 0; quiet && j < i && !seen; j++)
            seen = rows[j].img == rows[i].img && matches(&rows[j], filter);
        if (!seen)
            print_row(&rows[i], quiet, json);
    }
}

int cli_images(int argc, char **argv)
{
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"format", required_argument, NULL, 'f'},
                                         CLI_IMAGE_LONGOPTS,
                                         {0}};
    struct cli_image_opts o = {0};
    bool quiet = false, json = false;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+aq", opts, NULL)) != -1) {
        if (c == 'q')
            quiet = true;
        else if (c == 'f' && strcmp(optarg, "json") == 0)
            json = true;
        else if (c == 'f')
            return cli_usage_error("images", "--format: only \"json\" is supported");
        else if (c != 'a' && !cli_image_common_opt(&o, c, optarg))
            return cli_image_bad_option("images", argc, argv);
    }
    if (argc - optind > 1)
        return cli_usage_error("images", "expects at most one REPOSITORY[:TAG]");
    const char *filter = argc - optind == 1 ? argv[optind] : NULL;
    v12n_error err = {0};
    struct store *s = NULL;
    struct store_image *imgs = NULL;
    size_t n = 0;
    if (cli_image_store_open(&o, &s, &err) < 0 || store_image_list(s, &imgs, &n, &err) < 0) {
        store_close(s);
        return cli_error(&err);
    }
    store_close(s);
    size_t rows_max = 0;
    for (size_t i = 0; i < n; i++)
        rows_max += 1 + v12n_strv_len(imgs[i].names);
    struct row *rows = calloc(rows_max + 1, sizeof *rows);
    if (rows == NULL) {
        store_images_free(imgs, n);
        return cli_error(&(v12n_error){.errnum = 12, .msg = "images: out of memory"});
    }
    print_rows(rows, make_rows(imgs, n, rows), filter, quiet, json);
    free(rows);
    store_images_free(imgs, n);
    return 0;
}
