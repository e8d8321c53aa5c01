/* `exec [flags] ID [COMMAND ARGS...]` or `exec --process FILE ID`. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/json.h"

enum {
    OPT_CONSOLE = 256,
    OPT_PID_FILE,
    OPT_PRESERVE,
    OPT_NNP,
    OPT_LABEL,
    OPT_APPARMOR,
    OPT_CGROUP,
    OPT_IGNORE_PAUSED
};

struct exec_flags {
    struct exec_opts opts;
    const char *process_file;
    const char *cwd;
    const char *user;
    bool tty, no_new_privs;
    json_t *env;  /* strings to add */
    json_t *caps; /* capability names to add */
    json_t *gids; /* additional gids */
};

static int parse_user(const char *s, json_t *process)
{
    char *end;
    long uid = strtol(s, &end, 10);
    long gid = 0;
    if (end == s || uid < 0 || (*end != '\0' && *end != ':'))
        return cli_usage_error("exec", "--user: \"%s\" is not UID[:GID]", s);
    if (*end == ':') {
        const char *g = end + 1;
        gid = strtol(g, &end, 10);
        if (end == g || *end != '\0' || gid < 0)
            return cli_usage_error("exec", "--user: \"%s\" is not UID[:GID]", s);
    }
    json_t *user = json_object_get(process, "user");
    if (!json_is_object(user)) {
        user = json_object();
        json_object_set_new(process, "user", user);
    }
    json_object_set_new(user, "uid", json_integer(uid));
    json_object_set_new(user, "gid", json_integer(gid));
    return 0;
}

/* Add each "K=V", replacing an existing K. */
static void merge_env(json_t *process, json_t *add)
{
    json_t *env = json_object_get(process, "env");
    if (!json_is_array(env)) {
        env = json_array();
        json_object_set_new(process, "env", env);
    }
    size_t i, j;
    json_t *item, *old;
    json_array_foreach(add, i, item)
    {
        const char *kv = json_string_value(item);
        size_t klen = strcspn(kv, "=");
        bool replaced = false;
        json_array_foreach(env, j, old)
        {
            const char *o = json_string_value(old);
            if (o && strncmp(o, kv, klen) == 0 && o[klen] == '=') {
                json_array_set(env, j, item);
                replaced = true;
            }
        }
        if (!replaced)
            json_array_append(env, item);
    }
}

static void add_caps(json_t *process, json_t *caps)
{
    json_t *set = json_object_get(process, "capabilities");
    if (!json_is_object(set)) {
        set = json_object();
        json_object_set_new(process, "capabilities", set);
    }
    static const char *const kinds[] = {"bounding", "effective", "permitted", "ambient"};
    for (size_t k = 0; k < 4; k++) {
        json_t *arr = json_object_get(set, kinds[k]);
        if (!json_is_array(arr)) {
            arr = json_array();
            json_object_set_new(set, kinds[k], arr);
        }
        json_array_extend(arr, caps);
    }
}

static json_t *build_process(const struct runtime_ctx *ctx, struct exec_flags *f, int argc,
                             char **argv, int first, v12n_error *err)
{
    json_t *p = NULL;
    if (f->process_file != NULL) {
        if ((p = v12n_json_load(f->process_file, err)) == NULL)
            return NULL;
        return p;
    }
    if (first >= argc) {
        v12n_fail(err, 0, "exec: a command to run (or --process FILE) is required");
        return NULL;
    }
    if (container_process_template(ctx, f->opts.id, &p, err) < 0)
        return NULL;
    json_t *args = json_array();
    for (int i = first; i < argc; i++)
        json_array_append_new(args, json_string(argv[i]));
    json_object_set_new(p, "args", args);
    json_object_set_new(p, "terminal", json_boolean(f->tty));
    json_object_del(p, "consoleSize");
    if (f->cwd)
        json_object_set_new(p, "cwd", json_string(f->cwd));
    if (f->user && parse_user(f->user, p) != 0) {
        json_decref(p);
        v12n_fail(err, EINVAL, "exec: --user %s", f->user);
        return NULL;
    }
    if (json_array_size(f->gids) > 0)
        json_object_set(json_object_get(p, "user"), "additionalGids", f->gids);
    merge_env(p, f->env);
    if (json_array_size(f->caps) > 0)
        add_caps(p, f->caps);
    if (f->no_new_privs)
        json_object_set_new(p, "noNewPrivileges", json_true());
    return p;
}

static int parse_exec_flags(int argc, char **argv, struct exec_flags *f)
{
    static const struct option opts[] = {
        {"console-socket", required_argument, NULL, OPT_CONSOLE},
        {"cwd", required_argument, NULL, 'w'},
        {"env", required_argument, NULL, 'e'},
        {"tty", no_argument, NULL, 't'},
        {"user", required_argument, NULL, 'u'},
        {"additional-gids", required_argument, NULL, 'g'},
        {"process", required_argument, NULL, 'p'},
        {"detach", no_argument, NULL, 'd'},
        {"pid-file", required_argument, NULL, OPT_PID_FILE},
        {"process-label", required_argument, NULL, OPT_LABEL},
        {"apparmor", required_argument, NULL, OPT_APPARMOR},
        {"no-new-privs", no_argument, NULL, OPT_NNP},
        {"cap", required_argument, NULL, 'c'},
        {"preserve-fds", required_argument, NULL, OPT_PRESERVE},
        {"cgroup", required_argument, NULL, OPT_CGROUP},
        {"ignore-paused", no_argument, NULL, OPT_IGNORE_PAUSED},
        {0},
    };
    int c;
    optind = 0;
    /* "+": the command's own flags after the id are not ours. */
    while ((c = getopt_long_only(argc, argv, "+w:e:tu:g:p:dc:", opts, NULL)) != -1) {
        switch (c) {
        case OPT_CONSOLE:
            f->opts.console_socket = optarg;
            break;
        case 'w':
            f->cwd = optarg;
            break;
        case 'e':
            json_array_append_new(f->env, json_string(optarg));
            break;
        case 't':
            f->tty = true;
            break;
        case 'u':
            f->user = optarg;
            break;
        case 'g':
            json_array_append_new(f->gids, json_integer(atoll(optarg)));
            break;
        case 'p':
            f->process_file = optarg;
            break;
        case 'd':
            f->opts.detach = true;
            break;
        case OPT_PID_FILE:
            f->opts.pid_file = optarg;
            break;
        case OPT_NNP:
            f->no_new_privs = true;
            break;
        case 'c':
            json_array_append_new(f->caps, json_string(optarg));
            break;
        case OPT_PRESERVE:
            f->opts.preserve_fds = atoi(optarg);
            break;
        case OPT_LABEL:
        case OPT_APPARMOR:
            return cli_usage_error("exec", "%s: SELinux and AppArmor labels are not supported",
                                   argv[optind - 1]);
        case OPT_CGROUP:
        case OPT_IGNORE_PAUSED:
            break;
        default:
            return cli_usage_error("exec", "unknown option \"%s\"", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("exec", "expects a container id");
    f->opts.id = argv[optind++];
    return 0;
}

int cli_oci_exec(const struct runtime_ctx *ctx, int argc, char **argv)
{
    struct exec_flags f = {.env = json_array(), .caps = json_array(), .gids = json_array()};
    v12n_error err = {0};
    int r = parse_exec_flags(argc, argv, &f);
    json_t *process = NULL;
    if (r == 0 && (process = build_process(ctx, &f, argc, argv, optind, &err)) == NULL)
        r = cli_error(&err);
    if (r == 0) {
        f.opts.process = process;
        int code = 0;
        r = container_exec(ctx, &f.opts, &code, &err) < 0 ? cli_error(&err) : code;
    }
    json_decref(process);
    json_decref(f.env);
    json_decref(f.caps);
    json_decref(f.gids);
    return r;
}
