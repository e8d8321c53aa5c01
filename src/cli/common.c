#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_log.h"
#include "util/fs.h"
#include "util/json.h"

static int log_fd = -1;
static bool log_json;

int cli_log_open(const char *path, const char *format, v12n_error *err)
{
    if (format != NULL && strcmp(format, "json") != 0 && strcmp(format, "text") != 0)
        return v12n_fail(err, EINVAL, "--log-format: \"%s\" is neither text nor json", format);
    log_json = format != NULL && strcmp(format, "json") == 0;
    if (path == NULL)
        return 0;
    log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (log_fd < 0)
        return v12n_fail_errno(err, "--log %s", path);
    return 0;
}

void cli_log(const char *level, const char *msg)
{
    if (log_fd < 0)
        return;
    char now[64];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (log_json) {
        json_t *j = json_pack("{s:s, s:s, s:s}", "level", level, "msg", msg, "time", now);
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (text != NULL) {
            v12n_write_all(log_fd, text, strlen(text));
            v12n_write_all(log_fd, "\n", 1);
        }
        free(text);
        json_decref(j);
    } else {
        dprintf(log_fd, "time=\"%s\" level=%s msg=\"%s\"\n", now, level, msg);
    }
}

int cli_error(const v12n_error *err)
{
    char text[V12N_ERROR_MSG_MAX + 256];
    v12n_error_text(err, text, sizeof text);
    fprintf(stderr, "v12n: %s\n", text);
    cli_log("error", text);
    return 1;
}

void cli_warn(const v12n_error *err)
{
    char text[V12N_ERROR_MSG_MAX + 256];
    v12n_error_text(err, text, sizeof text);
    fprintf(stderr, "v12n: warning: %s\n", text);
    cli_log("warning", text);
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    v12n_error err = {0};
    v12n_fail(&err, 0, "%s: %s", command, msg);
    return cli_error(&err);
}

int cli_print_json(json_t *j, bool pretty)
{
    char *text = json_dumps(j, pretty ? JSON_INDENT(2) : JSON_COMPACT);
    if (text == NULL)
        return 1;
    puts(text);
    free(text);
    return 0;
}

const char *cli_one_id(const char *command, int argc, char **argv, int optind_now)
{
    if (argc - optind_now != 1) {
        cli_usage_error(command, "expects exactly one container id (got %d arguments)",
                        argc - optind_now);
        return NULL;
    }
    return argv[optind_now];
}

const char *cli_only_id(const char *command, int argc, char **argv)
{
    static const struct option none[] = {{0}};
    optind = 0;
    if (getopt_long_only(argc, argv, "", none, NULL) != -1) {
        cli_usage_error(command, "unknown option \"%s\"", argv[optind - 1]);
        return NULL;
    }
    return cli_one_id(command, argc, argv, optind);
}
