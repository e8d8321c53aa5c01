/* `exec [-i] [-t] [-d] [-u USER] [-w DIR] [-e K=V] CONTAINER CMD...`: a new
 * process in a running container, through the runtime's exec. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_engine.h"
#include "engine/bundle.h"
#include "util/cleanup.h"
#include "util/json.h"

/* -u as for run: uid[:gid] or names, resolved in the container's own
 * /etc/passwd and /etc/group. */
static int apply_user(json_t *process, const char *rootfs, const char *user, v12n_error *err)
{
    struct engine_user u;
    if (engine_user_resolve(rootfs, user, &u, err) < 0)
        return v12n_error_wrap(err, "exec -u %s", user);
    json_t *gids = json_array();
    for (size_t i = 0; i < u.n_additional_gids; i++)
        json_array_append_new(gids, json_integer(u.additional_gids[i]));
    json_object_set_new(process, "user",
                        json_pack("{s:I,s:I,s:o}", "uid", (json_int_t)u.uid, "gid",
                                  (json_int_t)u.gid, "additionalGids", gids));
    engine_user_clear(&u);
    return 0;
}

int cli_exec(int argc, char **argv)
{
    bool tty = false, detach = false;
    const char *user = NULL, *workdir = NULL;
    auto_json json_t *env = json_array();
    static const struct option opts[] = {{"interactive", no_argument, NULL, 'i'},
                                         {"tty", no_argument, NULL, 't'},
                                         {"detach", no_argument, NULL, 'd'},
                                         {"user", required_argument, NULL, 'u'},
                                         {"workdir", required_argument, NULL, 'w'},
                                         {"env", required_argument, NULL, 'e'},
                                         {0}};
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+itdu:w:e:", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            break; /* stdin is always passed through */
        case 't':
            tty = true;
            break;
        case 'd':
            detach = true;
            break;
        case 'u':
            user = optarg;
            break;
        case 'w':
            workdir = optarg;
            break;
        case 'e':
            json_array_append_new(env, json_string(optarg));
            break;
        default:
            cli_usage_error("exec", "bad option \"%s\"", argv[optind - 1]);
            return CLI_ENGINE_ERROR;
        }
    }
    if (argc - optind < 2) {
        cli_usage_error("exec", "expects a container and a command");
        return CLI_ENGINE_ERROR;
    }
    struct engine e;
    v12n_error err = {0};
    struct engine_container rec;
    if (cli_engine_open(&e, &err) < 0 || engine_lookup(&e, argv[optind], &rec, &err) < 0)
        return cli_engine_error(&err);
    char id[ENGINE_ID_LEN + 1];
    snprintf(id, sizeof id, "%s", rec.id);
    bool running = rec.state == ENGINE_RUNNING;
    if (!running)
        v12n_fail(&err, EINVAL, "container %s is not running", rec.name);
    engine_container_clear(&rec);
    if (!running)
        return cli_engine_error(&err);
    auto_json json_t *process = NULL;
    if (container_process_template(&e.rt, id, &process, &err) < 0)
        return cli_engine_error(&err);
    json_t *args = json_array();
    for (int i = optind + 1; i < argc; i++)
        json_array_append_new(args, json_string(argv[i]));
    json_object_set_new(process, "args", args);
    json_object_set_new(process, "terminal", json_boolean(tty && isatty(STDIN_FILENO)));
    if (workdir != NULL)
        json_object_set_new(process, "cwd", json_string(workdir));
    json_t *penv = json_object_get(process, "env");
    if (json_is_array(penv))
        json_array_extend(penv, env);
    char rootfs[4200];
    engine_path(&e, id, "rootfs", rootfs, sizeof rootfs);
    if (user != NULL && apply_user(process, rootfs, user, &err) < 0)
        return cli_engine_error(&err);
    struct exec_opts o = {.id = id, .process = process, .detach = detach};
    int code = 0;
    if (container_exec(&e.rt, &o, &code, &err) < 0)
        return cli_engine_error(&err);
    return code;
}
