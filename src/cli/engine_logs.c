/* `logs [-f] [--tail N] [-t]`: the container's log, split back into stdout
 * and stderr. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_engine.h"
#include "engine/engine_io.h"
#include "util/fs.h"

struct log_print {
    bool timestamps;
    long skip_lines; /* complete lines to skip (for --tail) */
    long count_only; /* counting pass: lines seen */
    bool counting;
    bool line_start[2];
};

static int count_entry(void *arg, const struct engine_log_entry *e)
{
    struct log_print *p = arg;
    if (!e->partial)
        p->count_only++;
    return 0;
}

static int print_entry(void *arg, const struct engine_log_entry *e)
{
    struct log_print *p = arg;
    if (p->skip_lines > 0) {
        if (!e->partial)
            p->skip_lines--;
        return 0;
    }
    int fd = e->is_stderr ? STDERR_FILENO : STDOUT_FILENO;
    if (p->timestamps && p->line_start[e->is_stderr]) {
        v12n_write_all(fd, e->time, strlen(e->time));
        v12n_write_all(fd, " ", 1);
    }
    v12n_write_all(fd, e->text, e->len);
    if (!e->partial)
        v12n_write_all(fd, "\n", 1);
    p->line_start[e->is_stderr] = !e->partial;
    return 0;
}

/* Print the complete entries appended after *offset; *offset moves past them. */
static int follow_more(const char *path, size_t *offset, struct log_print *p)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    static char chunk[1 << 20];
    for (;;) {
        ssize_t n = pread(fd, chunk, sizeof chunk, (off_t)*offset);
        if (n <= 0)
            break;
        size_t used = 0;
        engine_log_parse(chunk, (size_t)n, &used, print_entry, p);
        /* a line longer than the chunk cannot be parsed: skip it whole */
        if (used == 0 && (size_t)n == sizeof chunk)
            used = sizeof chunk;
        if (used == 0)
            break;
        *offset += used;
    }
    close(fd);
    return 0;
}

int cli_logs(int argc, char **argv)
{
    bool follow = false;
    long tail = -1;
    struct log_print p = {.line_start = {true, true}};
    static const struct option opts[] = {{"follow", no_argument, NULL, 'f'},
                                         {"tail", required_argument, NULL, 'n'},
                                         {"timestamps", no_argument, NULL, 't'},
                                         {0}};
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+ftn:", opts, NULL)) != -1) {
        char *end;
        if (c == 'f')
            follow = true;
        else if (c == 't')
            p.timestamps = true;
        else if (c == 'n' && strcmp(optarg, "all") == 0)
            tail = -1;
        else if (c == 'n' && (tail = strtol(optarg, &end, 10)) >= 0 && *end == '\0')
            ;
        else
            return cli_usage_error("logs", "bad option \"%s\"", argv[optind - 1]);
    }
    if (optind + 1 != argc)
        return cli_usage_error("logs", "expects one container");
    struct engine e;
    v12n_error err = {0};
    struct engine_container rec;
    if (cli_engine_open(&e, &err) < 0 || engine_lookup(&e, argv[optind], &rec, &err) < 0)
        return cli_engine_error(&err);
    char path[4200];
    char id[ENGINE_ID_LEN + 1];
    snprintf(id, sizeof id, "%s", rec.id);
    engine_container_clear(&rec);
    engine_path(&e, id, "log", path, sizeof path);
    size_t len = 0;
    char *buf = v12n_read_file(path, &len, &err);
    if (buf == NULL && errno != ENOENT && err.errnum != ENOENT)
        return cli_engine_error(&err);
    size_t used = 0;
    if (buf != NULL) {
        if (tail >= 0) {
            engine_log_parse(buf, len, &used, count_entry, &p);
            p.skip_lines = p.count_only > tail ? p.count_only - tail : 0;
        }
        engine_log_parse(buf, len, &used, print_entry, &p);
    }
    /* -f: keep reading what the monitor appends until the container stops. */
    while (follow) {
        struct engine_container now;
        /* engine_record_load clears now first, even when it fails */
        bool running = engine_record_load(&e, id, &now, &err) == 0 && now.state == ENGINE_RUNNING;
        engine_container_clear(&now);
        /* Read only what was appended since (the last read entries stay parsed). */
        if (follow_more(path, &used, &p) < 0 || !running)
            break;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    free(buf);
    return 0;
}
