/* `pull [-q] [--platform P] [--tls-ca F] [--insecure] [--authfile F] REF`:
 * Docker's output.  On a terminal one line per layer, redrawn in place
 * ("abc123def456: Downloading [=====>      ]  1.2MB/5MB"); otherwise one
 * line per layer when it is done; with -q only the image's name.  Then
 * "Digest:" and "Status:" lines and the canonical name.  Exit 1 on failure,
 * as docker pull. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_image.h"
#include "image/builtin.h"

#define BAR_WIDTH 50

struct layer_line {
    char id[13];
    char status[96];
};

struct progress {
    bool tty, quiet;
    bool drawn; /* the block of lines is on the screen */
    struct layer_line *lines;
    size_t n;
};

static void bar(char *buf, size_t len, uint64_t done, uint64_t total)
{
    char a[16], b[16], fill[BAR_WIDTH + 1];
    size_t full = total > 0 ? (size_t)(done * BAR_WIDTH / total) : 0;
    if (full > BAR_WIDTH)
        full = BAR_WIDTH;
    for (size_t i = 0; i < BAR_WIDTH; i++)
        fill[i] = i < full ? '=' : i == full ? '>' : ' ';
    fill[BAR_WIDTH] = '\0';
    snprintf(buf, len, "Downloading [%s] %s/%s", fill, cli_human_size(done, a, sizeof a),
             cli_human_size(total, b, sizeof b));
}

static void redraw(struct progress *p)
{
    if (p->drawn)
        printf("\033[%zuA", p->n);
    for (size_t i = 0; i < p->n; i++)
        printf("\r\033[2K%s: %s\n", p->lines[i].id, p->lines[i].status);
    p->drawn = true;
    fflush(stdout);
}

static void on_resolved(struct progress *p, const struct image_pull_event *ev)
{
    struct image_ref r;
    v12n_error e = {0};
    if (image_ref_parse(ev->ref, &r, &e) == 0 && !p->quiet)
        printf("%s: Pulling from %s\n", r.tag[0] ? r.tag : r.digest, r.path);
    p->lines = calloc(ev->n_layers ? ev->n_layers : 1, sizeof *p->lines);
    p->n = p->lines != NULL ? ev->n_layers : 0;
}

static void on_event(void *arg, const struct image_pull_event *ev)
{
    struct progress *p = arg;
    if (ev->kind == IMAGE_PULL_RESOLVED) {
        on_resolved(p, ev);
        return;
    }
    if (p->quiet || ev->index >= p->n)
        return;
    struct layer_line *l = &p->lines[ev->index];
    cli_short_id(ev->digest, l->id);
    const char *done_line = NULL;
    switch (ev->kind) {
    case IMAGE_PULL_LAYER_WAITING:
        snprintf(l->status, sizeof l->status, "Pulling fs layer");
        break;
    case IMAGE_PULL_LAYER_EXISTS:
        snprintf(l->status, sizeof l->status, "Already exists");
        done_line = l->status;
        break;
    case IMAGE_PULL_LAYER_DOWNLOAD:
        bar(l->status, sizeof l->status, ev->done, ev->total);
        break;
    case IMAGE_PULL_LAYER_FETCHED:
        snprintf(l->status, sizeof l->status, "Download complete");
        break;
    case IMAGE_PULL_LAYER_EXTRACT:
        snprintf(l->status, sizeof l->status, "Extracting");
        break;
    case IMAGE_PULL_LAYER_DONE:
        snprintf(l->status, sizeof l->status, "Pull complete");
        done_line = l->status;
        break;
    default:
        return;
    }
    if (p->tty)
        redraw(p);
    else if (done_line != NULL)
        printf("%s: %s\n", l->id, done_line);
}

static int report(const struct image_pull_result *res, bool quiet)
{
    char familiar[IMAGE_REF_STRING_MAX];
    cli_image_familiar(res->name, familiar, sizeof familiar);
    if (res->builtin) {
        char why[V12N_ERROR_MSG_MAX + 64];
        fprintf(stderr,
                "v12n: notice: no registry reachable (%s); using the built-in busybox image "
                "(from %s)\n",
                v12n_error_text(&res->fallback_reason, why, sizeof why), IMAGE_BUILTIN_BUSYBOX_BIN);
    } else if (!quiet) {
        printf("Digest: %s\n", res->manifest);
        printf("Status: %s for %s\n",
               res->up_to_date ? "Image is up to date" : "Downloaded newer image", familiar);
    }
    printf("%s\n", res->name);
    return 0;
}

int cli_pull(int argc, char **argv)
{
    static const struct option opts[] = {
        {"quiet", no_argument, NULL, 'q'}, CLI_IMAGE_LONGOPTS, {0}};
    struct cli_image_opts o = {0};
    bool quiet = false;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+q", opts, NULL)) != -1) {
        if (c == 'q')
            quiet = true;
        else if (!cli_image_common_opt(&o, c, optarg))
            return cli_image_bad_option("pull", argc, argv);
    }
    if (argc - optind != 1)
        return cli_usage_error("pull", "expects one image reference");
    v12n_error err = {0};
    struct cli_pull_opts po;
    struct store *s = NULL;
    if (cli_image_pull_opts(&o, &po, &err) < 0 || cli_image_store_open(&o, &s, &err) < 0) {
        cli_image_pull_opts_clear(&po);
        return cli_error(&err);
    }
    po.pull.builtin_fallback = true;
    struct progress p = {.tty = isatty(STDOUT_FILENO) == 1, .quiet = quiet};
    const char *last = strrchr(argv[optind], '/');
    last = last != NULL ? last + 1 : argv[optind];
    if (!quiet && strpbrk(last, ":@") == NULL)
        printf("Using default tag: latest\n");
    struct image_pull_result res;
    int r = image_pull(s, argv[optind], &po.pull, on_event, &p, &res, &err);
    free(p.lines);
    store_close(s);
    cli_image_pull_opts_clear(&po);
    if (r < 0)
        return cli_error(&err);
    return report(&res, quiet);
}
