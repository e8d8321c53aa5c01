/* `run`, `start` and `attach`: the commands that launch a monitor or talk
 * to one. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_engine.h"
#include "cli_image.h"
#include "engine/bundle.h"
#include "engine/create.h"
#include "engine/engine_io.h"
#include "engine/monitor_loop.h"
#include "image/pull.h"
#include "util/cleanup.h"
#include "util/json.h"

const char *cli_argv0;

int cli_engine_open(struct engine *e, v12n_error *err)
{
    const char *root = cli_root != NULL ? cli_root : STORE_DEFAULT_ROOT;
    const char *run = getenv("V12N_ENGINE_RUN_DIR");
    if (engine_init(e, root, run != NULL && run[0] ? run : ENGINE_DEFAULT_RUN_DIR, err) < 0)
        return -1;
    cli_sibling_path("v12n-monitor", "V12N_MONITOR", e->monitor_bin, sizeof e->monitor_bin);
    return 0;
}

int cli_monitor_finish(int argc, char **argv)
{
    if (argc < 3)
        return 125;
    struct engine e;
    v12n_error err = {0};
    struct monitor_io io;
    monitor_io_init(&io);
    io.exit_code = atoi(argv[2]);
    for (int i = 3; i < argc; i++)
        monitor_add_client(&io, atoi(argv[i]));
    signal(SIGPIPE, SIG_IGN);
    if (cli_engine_open(&e, &err) < 0)
        return 125;
    engine_monitor_finish(&e, argv[1], &io);
    return 0;
}

int cli_engine_error(const v12n_error *err)
{
    cli_error(err);
    /* The runtime checks the program before it starts: Docker's codes. */
    if (strstr(err->msg, "exec \"") != NULL)
        return err->errnum == ENOENT ? 127 : 126;
    return CLI_ENGINE_ERROR;
}

enum {
    OPT_RM = 0x2000,
    OPT_NAME,
    OPT_ENV_FILE,
    OPT_TMPFS,
    OPT_ENTRYPOINT,
    OPT_HOSTNAME,
    OPT_CPUS,
    OPT_PIDS,
    OPT_READ_ONLY,
    OPT_CAP_ADD,
    OPT_CAP_DROP,
    OPT_PRIVILEGED,
    OPT_NETWORK,
};

struct run_flags {
    struct engine_run_opts o;
    bool detach, rm;
};

static int run_option(struct run_flags *f, int c, const char *arg, v12n_error *err)
{
    struct engine_run_opts *o = &f->o;
    switch (c) {
    case 'i':
        o->interactive = true;
        return 0;
    case 't':
        o->tty = true;
        return 0;
    case 'd':
        f->detach = true;
        return 0;
    case OPT_RM:
        f->rm = true;
        return 0;
    case OPT_NAME:
        free(o->name);
        return (o->name = strdup(arg)) ? 0 : v12n_fail(err, ENOMEM, "--name");
    case 'e':
        return engine_opt_env(o, arg, err);
    case OPT_ENV_FILE:
        return engine_opt_env_file(o, arg, err);
    case 'v':
        return engine_opt_volume(o, arg, err);
    case OPT_TMPFS:
        return engine_opt_tmpfs(o, arg, err);
    case 'w':
        if (arg[0] != '/')
            return v12n_fail(err, EINVAL, "-w %s: the working directory must be absolute", arg);
        free(o->workdir);
        return (o->workdir = strdup(arg)) ? 0 : v12n_fail(err, ENOMEM, "-w");
    case 'u':
        free(o->user);
        return (o->user = strdup(arg)) ? 0 : v12n_fail(err, ENOMEM, "-u");
    case OPT_ENTRYPOINT:
        free(o->entrypoint);
        return (o->entrypoint = strdup(arg)) ? 0 : v12n_fail(err, ENOMEM, "--entrypoint");
    case OPT_HOSTNAME:
        free(o->hostname);
        return (o->hostname = strdup(arg)) ? 0 : v12n_fail(err, ENOMEM, "--hostname");
    case 'm':
        return engine_parse_size(arg, &o->memory, err);
    case OPT_CPUS:
        return engine_parse_cpus(arg, &o->nano_cpus, err);
    case OPT_PIDS: {
        char *end;
        errno = 0;
        long long v = strtoll(arg, &end, 10);
        if (errno != 0 || *end != '\0' || end == arg)
            return v12n_fail(err, EINVAL, "--pids-limit %s: not a number", arg);
        o->pids_limit = v;
        return 0;
    }
    case OPT_READ_ONLY:
        o->read_only = true;
        return 0;
    case OPT_CAP_ADD:
    case OPT_CAP_DROP:
        return engine_opt_cap(o, c == OPT_CAP_ADD, arg, err);
    case OPT_PRIVILEGED:
        o->privileged = true;
        return 0;
    case OPT_NETWORK:
        return engine_opt_network(o, arg, err);
    }
    return v12n_fail(err, EINVAL, "unknown option");
}

static int parse_run(int argc, char **argv, struct run_flags *f, v12n_error *err)
{
    static const struct option opts[] = {
        {"interactive", no_argument, NULL, 'i'},
        {"tty", no_argument, NULL, 't'},
        {"detach", no_argument, NULL, 'd'},
        {"rm", no_argument, NULL, OPT_RM},
        {"name", required_argument, NULL, OPT_NAME},
        {"env", required_argument, NULL, 'e'},
        {"env-file", required_argument, NULL, OPT_ENV_FILE},
        {"volume", required_argument, NULL, 'v'},
        {"tmpfs", required_argument, NULL, OPT_TMPFS},
        {"workdir", required_argument, NULL, 'w'},
        {"user", required_argument, NULL, 'u'},
        {"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
        {"hostname", required_argument, NULL, OPT_HOSTNAME},
        {"memory", required_argument, NULL, 'm'},
        {"cpus", required_argument, NULL, OPT_CPUS},
        {"pids-limit", required_argument, NULL, OPT_PIDS},
        {"read-only", no_argument, NULL, OPT_READ_ONLY},
        {"cap-add", required_argument, NULL, OPT_CAP_ADD},
        {"cap-drop", required_argument, NULL, OPT_CAP_DROP},
        {"privileged", no_argument, NULL, OPT_PRIVILEGED},
        {"network", required_argument, NULL, OPT_NETWORK},
        {"net", required_argument, NULL, OPT_NETWORK},
        {0},
    };
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+itde:v:w:u:m:h:", opts, NULL)) != -1) {
        if (c == '?' || c == ':')
            return v12n_fail(err, EINVAL, "run: unknown option or missing value \"%s\"",
                             argv[optind - 1]);
        if (c == 'h')
            c = OPT_HOSTNAME;
        if (run_option(f, c, optarg, err) < 0)
            return -1;
    }
    if (optind >= argc)
        return v12n_fail(err, EINVAL, "run: an image is required");
    if (f->detach && f->rm)
        f->rm = true; /* Docker allows -d --rm: removed when it exits. */
    return optind;
}

static void pull_progress(void *arg, const struct image_pull_event *ev)
{
    (void)arg;
    if (ev->kind == IMAGE_PULL_RESOLVED)
        fprintf(stderr, "Pulling %s\n", ev->ref);
}

/* Find or pull the image, then create the container. */
static int create_container(const struct engine *e, const char *ref, struct run_flags *f,
                            struct engine_container *c, v12n_error *err)
{
    struct cli_image_opts io = {0};
    struct cli_pull_opts po = {0};
    struct store *s = NULL;
    if (cli_image_store_open(&io, &s, err) < 0)
        return -1;
    int r = cli_image_pull_opts(&io, &po, err);
    struct image_pull_result res = {0};
    if (r == 0) {
        po.pull.builtin_fallback = true;
        r = image_ensure(s, ref, &po.pull, pull_progress, NULL, &res, err);
        cli_image_pull_opts_clear(&po);
    }
    auto_free char *blob = NULL;
    json_t *config = NULL;
    if (r == 0 && (blob = store_blob_read(s, res.id, NULL, err)) == NULL)
        r = -1;
    if (r == 0 && (config = json_loads(blob, 0, NULL)) == NULL)
        r = v12n_fail(err, EINVAL, "image %s: bad config", ref);
    if (r == 0) {
        struct engine_create_args a = {.opts = &f->o,
                                       .image_ref = ref,
                                       .image_id = res.id,
                                       .image_config = config,
                                       .auto_remove = f->rm};
        r = engine_create(e, s, &a, c, err);
    }
    json_decref(config);
    store_close(s);
    return r;
}

void cli_forward_signal(void *arg, int sig)
{
    const struct engine_signal_target *t = arg;
    v12n_error ignored = {0};
    engine_kill(t->e, t->id, sig, &ignored);
}

int cli_run(int argc, char **argv)
{
    struct run_flags f = {0};
    engine_run_opts_init(&f.o);
    v12n_error err = {0};
    struct engine e;
    struct engine_container c = {0};
    int first = parse_run(argc, argv, &f, &err);
    if (first < 0 || cli_twin_unless_local(argv[first], &err) < 0) {
        engine_run_opts_free(&f.o);
        return cli_engine_error(&err);
    }
    const char *ref = argv[first];
    if (first + 1 < argc) {
        f.o.argv = calloc((size_t)(argc - first), sizeof(char *));
        for (int i = first + 1; f.o.argv != NULL && i < argc; i++)
            f.o.argv[i - first - 1] = strdup(argv[i]);
    }
    int code = 0;
    if (cli_engine_open(&e, &err) < 0 || create_container(&e, ref, &f, &c, &err) < 0) {
        code = cli_engine_error(&err);
        goto out;
    }
    int fd = -1;
    if (engine_launch(&e, c.id, !f.detach, &fd, &err) < 0) {
        code = cli_engine_error(&err);
        v12n_error ignored = {0};
        if (f.rm)
            engine_destroy(&e, c.id, &ignored);
        goto out;
    }
    if (f.detach) {
        printf("%s\n", c.id);
        goto out;
    }
    bool detached;
    struct engine_signal_target target = {&e, c.id};
    code = cli_attach_stream(fd, f.o.interactive, f.o.tty, &detached, cli_forward_signal, &target);
    close(fd);
out:
    engine_container_clear(&c);
    engine_run_opts_free(&f.o);
    return code;
}

/* attach to a running container (after the monitor reports it started). */
static int attach_to(const struct engine *e, const struct engine_container *c, bool with_stdin)
{
    char sock[4200];
    v12n_error err = {0};
    int fd = attach_connect(engine_path(e, c->id, "attach.sock", sock, sizeof sock), &err);
    if (fd < 0)
        return cli_engine_error(&err);
    bool detached;
    struct engine_signal_target target = {e, c->id};
    int code = cli_attach_stream(fd, with_stdin, c->tty, &detached, cli_forward_signal, &target);
    close(fd);
    return code;
}

int cli_start(int argc, char **argv)
{
    bool attach = false, interactive = false;
    int c;
    optind = 0;
    opterr = 0;
    static const struct option opts[] = {
        {"attach", no_argument, NULL, 'a'}, {"interactive", no_argument, NULL, 'i'}, {0}};
    while ((c = getopt_long(argc, argv, "+ai", opts, NULL)) != -1) {
        if (c == 'a')
            attach = true;
        else if (c == 'i')
            interactive = true;
        else
            return cli_usage_error("start", "unknown option \"%s\"", argv[optind - 1]);
    }
    if (optind >= argc)
        return cli_usage_error("start", "a container is required");
    struct engine e;
    v12n_error err = {0};
    if (cli_engine_open(&e, &err) < 0)
        return cli_engine_error(&err);
    int code = 0;
    for (int i = optind; i < argc; i++) {
        struct engine_container rec;
        if (engine_lookup(&e, argv[i], &rec, &err) < 0) {
            code = cli_engine_error(&err);
            continue;
        }
        int fd = -1;
        if (rec.state == ENGINE_RUNNING) {
            if (!attach)
                printf("%s\n", argv[i]);
        } else if (engine_launch(&e, rec.id, attach, &fd, &err) < 0) {
            code = cli_engine_error(&err);
        } else if (attach) {
            bool detached;
            struct engine_signal_target target = {&e, rec.id};
            code =
                cli_attach_stream(fd, interactive, rec.tty, &detached, cli_forward_signal, &target);
            close(fd);
        } else
            printf("%s\n", argv[i]);
        engine_container_clear(&rec);
    }
    return code;
}

int cli_attach(int argc, char **argv)
{
    bool no_stdin = false;
    static const struct option opts[] = {{"no-stdin", no_argument, NULL, 'n'}, {0}};
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        if (c != 'n')
            return cli_usage_error("attach", "unknown option \"%s\"", argv[optind - 1]);
        no_stdin = true;
    }
    if (optind + 1 != argc)
        return cli_usage_error("attach", "expects one container");
    struct engine e;
    v12n_error err = {0};
    struct engine_container rec;
    if (cli_engine_open(&e, &err) < 0 || engine_lookup(&e, argv[optind], &rec, &err) < 0)
        return cli_engine_error(&err);
    int code;
    if (rec.state != ENGINE_RUNNING) {
        v12n_fail(&err, EINVAL, "container %s is not running", rec.name);
        code = cli_engine_error(&err);
    } else
        code = attach_to(&e, &rec, !no_stdin && rec.interactive);
    engine_container_clear(&rec);
    return code;
}
