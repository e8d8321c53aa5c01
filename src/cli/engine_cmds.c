/* The container commands that act on records: ps, stop, restart, kill, rm,
 * wait, inspect, rename, top, container prune. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_engine.h"
#include "cli_image.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/json.h"

static json_t *record_json(const struct engine_container *c)
{
    json_t *cmd = json_array();
    for (size_t i = 0; c->command != NULL && c->command[i] != NULL; i++)
        json_array_append_new(cmd, json_string(c->command[i]));
    return json_pack("{s:s,s:s,s:s?,s:s?,s:o,s:s,s:s?,s:s?,s:s?,s:i,s:i,s:b,s:b,s:b,s:O}", "Id",
                     c->id, "Name", c->name, "Image", c->image, "ImageID", c->image_id, "Command",
                     cmd, "State", engine_state_name(c->state), "Created", c->created, "StartedAt",
                     c->started, "FinishedAt", c->finished, "ExitCode", c->exit_code, "Pid",
                     (int)c->pid, "Tty", c->tty, "OpenStdin", c->interactive, "AutoRemove",
                     c->auto_remove, "Config", c->opts);
}

static void command_text(const struct engine_container *c, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; c->command != NULL && c->command[i] != NULL && o + 1 < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? " " : "", c->command[i]);
    if (strlen(buf) > 20)
        strcpy(buf + 17, "...");
}

static void status_text(const struct engine_container *c, char *buf, size_t len)
{
    char age[64];
    if (c->state == ENGINE_RUNNING) {
        /* Docker's "Up 2 minutes": the age without its " ago" */
        cli_human_age(c->started, age, sizeof age);
        size_t n = strlen(age);
        if (n > 4 && strcmp(age + n - 4, " ago") == 0)
            age[n - 4] = '\0';
        snprintf(buf, len, "Up %s", age);
    } else if (c->state == ENGINE_EXITED)
        snprintf(buf, len, "Exited (%d) %s", c->exit_code,
                 cli_human_age(c->finished, age, sizeof age));
    else
        snprintf(buf, len, "Created");
}

int cli_ps(int argc, char **argv)
{
    bool all = false, quiet = false, json = false;
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"format", required_argument, NULL, 'f'},
                                         {0}};
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "aq", opts, NULL)) != -1) {
        if (c == 'a')
            all = true;
        else if (c == 'q')
            quiet = true;
        else if (c == 'f' && strcmp(optarg, "json") == 0)
            json = true;
        else
            return cli_usage_error("ps", "unknown option \"%s\"", argv[optind - 1]);
    }
    struct engine e;
    v12n_error err = {0};
    struct engine_container *cs;
    size_t n;
    if (cli_engine_open(&e, &err) < 0 || engine_record_list(&e, &cs, &n, &err) < 0)
        return cli_engine_error(&err);
    if (!quiet && !json)
        printf("%-12s   %-20s   %-20s   %-24s   %s\n", "CONTAINER ID", "IMAGE", "COMMAND", "STATUS",
               "NAMES");
    for (size_t i = 0; i < n; i++) {
        if (!all && cs[i].state != ENGINE_RUNNING)
            continue;
        if (quiet) {
            printf("%.12s\n", cs[i].id);
        } else if (json) {
            auto_json json_t *j = record_json(&cs[i]);
            cli_print_json(j, false);
        } else {
            char cmd[64], status[96];
            command_text(&cs[i], cmd, sizeof cmd);
            status_text(&cs[i], status, sizeof status);
            printf("%.12s   %-20s   %-20s   %-24s   %s\n", cs[i].id, cs[i].image ? cs[i].image : "",
                   cmd, status, cs[i].name);
        }
    }
    engine_records_free(cs, n);
    return 0;
}

/* Commands of the form `CMD [opts] CONTAINER...` applying fn to each. */
typedef int (*per_container_fn)(const struct engine *e, const char *ref, void *arg,
                                v12n_error *err);

static int each(const char *command, int argc, char **argv, per_container_fn fn, void *arg,
                bool print)
{
    if (optind >= argc)
        return cli_usage_error(command, "a container is required");
    struct engine e;
    v12n_error err = {0};
    if (cli_engine_open(&e, &err) < 0)
        return cli_engine_error(&err);
    int code = 0;
    for (int i = optind; i < argc; i++) {
        v12n_error one = {0};
        if (fn(&e, argv[i], arg, &one) < 0)
            code = cli_engine_error(&one);
        else if (print)
            printf("%s\n", argv[i]);
    }
    return code == 0 ? 0 : 1;
}

static int parse_timeout(const char *command, int argc, char **argv, int *timeout)
{
    static const struct option opts[] = {
        {"time", required_argument, NULL, 't'}, {"timeout", required_argument, NULL, 't'}, {0}};
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+t:", opts, NULL)) != -1) {
        char *end;
        if (c != 't' || (*timeout = (int)strtol(optarg, &end, 10)) < 0 || *end != '\0')
            return cli_usage_error(command, "bad option \"%s\"", argv[optind - 1]);
    }
    return 0;
}

static int stop_one(const struct engine *e, const char *ref, void *arg, v12n_error *err)
{
    return engine_stop(e, ref, *(int *)arg, err);
}

int cli_stop(int argc, char **argv)
{
    int timeout = 10;
    if (parse_timeout("stop", argc, argv, &timeout) != 0)
        return 1;
    return each("stop", argc, argv, stop_one, &timeout, true);
}

static int restart_one(const struct engine *e, const char *ref, void *arg, v12n_error *err)
{
    struct engine_container c;
    if (engine_stop(e, ref, *(int *)arg, err) < 0 || engine_lookup(e, ref, &c, err) < 0)
        return -1;
    int fd;
    int r = engine_launch(e, c.id, false, &fd, err);
    engine_container_clear(&c);
    return r;
}

int cli_restart(int argc, char **argv)
{
    int timeout = 10;
    if (parse_timeout("restart", argc, argv, &timeout) != 0)
        return 1;
    return each("restart", argc, argv, restart_one, &timeout, true);
}

static int kill_one(const struct engine *e, const char *ref, void *arg, v12n_error *err)
{
    return engine_kill(e, ref, *(int *)arg, err);
}

int cli_kill(int argc, char **argv)
{
    int sig = SIGKILL, c;
    static const struct option opts[] = {{"signal", required_argument, NULL, 's'}, {0}};
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+s:", opts, NULL)) != -1) {
        if (c != 's' || (sig = container_parse_signal(optarg)) < 0)
            return cli_usage_error("kill", "bad option or signal \"%s\"", argv[optind - 1]);
    }
    return each("kill", argc, argv, kill_one, &sig, true);
}

static int rm_one(const struct engine *e, const char *ref, void *arg, v12n_error *err)
{
    return engine_remove(e, ref, *(bool *)arg, err);
}

int cli_rm(int argc, char **argv)
{
    bool force = false;
    int c;
    static const struct option opts[] = {
        {"force", no_argument, NULL, 'f'}, {"volumes", no_argument, NULL, 'v'}, {0}};
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+fv", opts, NULL)) != -1) {
        if (c == 'f')
            force = true;
        else if (c != 'v') /* -v: no anonymous volumes exist to remove */
            return cli_usage_error("rm", "unknown option \"%s\"", argv[optind - 1]);
    }
    return each("rm", argc, argv, rm_one, &force, true);
}

static int wait_one(const struct engine *e, const char *ref, void *arg, v12n_error *err)
{
    (void)arg;
    struct engine_container c;
    if (engine_lookup(e, ref, &c, err) < 0)
        return -1;
    int code = 0;
    int r = engine_wait(e, c.id, -1, &code, err);
    if (r == 0)
        printf("%d\n", code);
    engine_container_clear(&c);
    return r;
}

int cli_wait(int argc, char **argv)
{
    optind = 1;
    return each("wait", argc, argv, wait_one, NULL, false);
}

int cli_inspect(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("inspect", "a container is required");
    struct engine e;
    v12n_error err = {0};
    if (cli_engine_open(&e, &err) < 0)
        return cli_engine_error(&err);
    auto_json json_t *out = json_array();
    int code = 0;
    for (int i = 1; i < argc; i++) {
        struct engine_container c;
        if (engine_lookup(&e, argv[i], &c, &err) < 0) {
            cli_error(&err);
            code = 1;
            continue;
        }
        json_array_append_new(out, record_json(&c));
        engine_container_clear(&c);
    }
    cli_print_json(out, true);
    return code;
}

int cli_rename(int argc, char **argv)
{
    if (argc != 3)
        return cli_usage_error("rename", "expects a container and a new name");
    struct engine e;
    v12n_error err = {0};
    if (cli_engine_open(&e, &err) < 0 || engine_rename(&e, argv[1], argv[2], &err) < 0)
        return cli_engine_error(&err);
    return 0;
}

int cli_top(int argc, char **argv)
{
    if (argc != 2)
        return cli_usage_error("top", "expects one container");
    struct engine e;
    v12n_error err = {0};
    struct engine_container c;
    if (cli_engine_open(&e, &err) < 0 || engine_lookup(&e, argv[1], &c, &err) < 0)
        return cli_engine_error(&err);
    pid_t *pids = NULL;
    size_t n = 0;
    int r = container_pids(&e.rt, c.id, &pids, &n, &err);
    engine_container_clear(&c);
    if (r < 0)
        return cli_engine_error(&err);
    printf("%-8s %s\n", "PID", "CMD");
    for (size_t i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pids[i]);
        size_t len = 0;
        v12n_error ignored = {0};
        auto_free char *cmd = v12n_read_file(path, &len, &ignored);
        for (size_t k = 0; cmd != NULL && k + 1 < len; k++)
            if (cmd[k] == '\0')
                cmd[k] = ' ';
        printf("%-8d %s\n", (int)pids[i], cmd ? cmd : "?");
    }
    free(pids);
    return 0;
}

static int prune(void)
{
    struct engine e;
    v12n_error err = {0};
    struct engine_container *cs;
    size_t n;
    if (cli_engine_open(&e, &err) < 0 || engine_record_list(&e, &cs, &n, &err) < 0)
        return cli_engine_error(&err);
    int code = 0;
    printf("Deleted Containers:\n");
    for (size_t i = 0; i < n; i++) {
        if (cs[i].state == ENGINE_RUNNING)
            continue;
        if (engine_remove(&e, cs[i].id, false, &err) < 0)
            code = cli_engine_error(&err);
        else
            printf("%s\n", cs[i].id);
    }
    engine_records_free(cs, n);
    return code;
}

int cli_container(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("container", "expects a subcommand");
    const char *sub = argv[1];
    if (strcmp(sub, "prune") == 0)
        return prune();
    if (strcmp(sub, "ls") == 0 || strcmp(sub, "list") == 0)
        return cli_ps(argc - 1, argv + 1);
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } subs[] = {{"run", cli_run},         {"start", cli_start},  {"stop", cli_stop},
                {"restart", cli_restart}, {"kill", cli_kill},    {"rm", cli_rm},
                {"logs", cli_logs},       {"wait", cli_wait},    {"inspect", cli_inspect},
                {"attach", cli_attach},   {"exec", cli_exec},    {"top", cli_top},
                {"cp", cli_cp},           {"rename", cli_rename}};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(sub, subs[i].name) == 0)
            return subs[i].fn(argc - 1, argv + 1);
    return cli_usage_error("container", "unknown subcommand \"%s\"", sub);
}
