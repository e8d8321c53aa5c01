/* `v12n vm create|start|shutdown|destroy|reboot|console|undefine|inspect|
 * list`: VM definitions in the store, run by QEMU (library: engine/vm*.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_image.h"
#include "cli_vm_manage.h"
#include "engine/vm.h"
#include "engine/vm_disk.h"
#include "engine/vm_snapshot.h"
#include "engine/vm_store.h"
#include "qemu/size.h"
#include "util/json.h"

const char *cli_vm_root(void)
{
    return cli_root ? cli_root : STORE_DEFAULT_ROOT;
}

static int vm_usage(FILE *out)
{
    fprintf(out,
            "usage: v12n vm COMMAND [ARGS...]\n"
            "\n"
            "  create NAME [--cpus N] [--memory SIZE] [--disk SIZE|PATH[,format]|base=PATH]...\n"
            "              [--cdrom ISO] [--kernel F [--initrd F] [--cmdline S]]\n"
            "              [--boot disk|cdrom|kernel] [--net user|none|tap=NAME]\n"
            "              [--display none|vnc] [--engine auto|qemu|kvm]\n"
            "  start [--console] NAME    start QEMU (daemonized)\n"
            "  shutdown [--timeout N] NAME  ACPI power button, forced off after N s (60)\n"
            "  destroy NAME              power off at once\n"
            "  reboot NAME               hardware reset\n"
            "  console NAME              the serial console (detach with ctrl-])\n"
            "  undefine [--remove-disks] NAME\n"
            "  inspect NAME              definition and state as JSON\n"
            "  list [--all] [--format json]\n"
            "  snapshot create|revert|delete NAME SNAPSHOT, snapshot list NAME\n"
            "                            qcow2 internal snapshots (with memory when running)\n"
            "  disk info NAME            the disks as qemu-img (or the running QEMU) sees them\n"
            "  disk resize NAME INDEX SIZE  grow a disk (shut off)\n"
            "  set NAME [--cpus N] [--memory SIZE] [--cdrom ISO] [--kernel F] [--initrd F]\n"
            "           [--cmdline S] [--boot B] [--net N] [--display D] [--engine E]\n"
            "                            change the definition (from the next start)\n"
            "  run --kernel FILE ...     boot a kernel in v12n's own KVM monitor, in the\n"
            "                            foreground (see v12n vm run --help)\n");
    return out == stdout ? 0 : 1;
}

/* Exactly one VM name after the options. */
static const char *one_name(const char *cmd, int argc, char **argv)
{
    if (argc - optind != 1) {
        cli_usage_error(cmd, "expects exactly one VM name (got %d arguments)", argc - optind);
        return NULL;
    }
    return argv[optind];
}

static int load(const char *name, struct vm_def *def)
{
    v12n_error err = {0};
    if (vm_store_load(cli_vm_root(), name, def, &err) < 0)
        return cli_error(&err);
    return 0;
}

/* The one operand of CMD, a defined VM whose definition is loaded into def;
 * NULL after the error was printed. */
static const char *load_one(const char *cmd, int argc, char **argv, struct vm_def *def)
{
    const char *name = one_name(cmd, argc, argv);
    return name != NULL && load(name, def) == 0 ? name : NULL;
}

/* The options of a command whose only option is one boolean flag (start
 * --console, undefine --remove-disks): -1 after the usage error. */
static int one_flag(const char *cmd, const struct option *flag, const char *shortopts, int argc,
                    char **argv, bool *set)
{
    const struct option opts[] = {*flag, {0}};
    int opt;
    *set = false;
    optind = 0;
    while ((opt = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
        if (opt != flag->val) {
            cli_usage_error(cmd, "see v12n vm --help");
            return -1;
        }
        *set = true;
    }
    return 0;
}

/* ---- create ---- */

enum {
    OPT_CPUS = 0x2000,
    OPT_MEMORY,
    OPT_DISK,
    OPT_CDROM,
    OPT_KERNEL,
    OPT_INITRD,
    OPT_CMDLINE,
    OPT_BOOT,
    OPT_NET,
    OPT_DISPLAY,
    OPT_ENGINE
};

static int set_path(char **field, const char *v)
{
    free(*field);
    *field = strdup(v);
    return *field ? 0 : -1;
}

static int create_option(int opt, char *arg, struct vm_def *def, struct vm_disk_request *reqs,
                         int *n_reqs, bool *boot_set, v12n_error *err)
{
    uint64_t bytes;
    char *end;
    switch (opt) {
    case OPT_CPUS: {
        unsigned long n = strtoul(arg, &end, 10);
        if (*arg < '0' || *arg > '9' || *end != '\0' || n == 0 || n > 255)
            return v12n_fail(err, 0, "vm create: --cpus \"%s\": a number from 1 to 255", arg);
        def->cpus = (unsigned)n;
        return 0;
    }
    case OPT_MEMORY:
        if (qemu_parse_size(arg, &bytes, "memory", err) < 0)
            return -1;
        def->memory_mib = bytes >> 20;
        return 0;
    case OPT_DISK:
        if (*n_reqs >= VM_MAX_DISKS)
            return v12n_fail(err, 0, "vm create: at most %d disks", VM_MAX_DISKS);
        return vm_disk_request_parse(arg, &reqs[(*n_reqs)++], err);
    case OPT_CDROM:
        return set_path(&def->cdrom, arg);
    case OPT_KERNEL:
        return set_path(&def->kernel, arg);
    case OPT_INITRD:
        return set_path(&def->initrd, arg);
    case OPT_CMDLINE:
        return set_path(&def->cmdline, arg);
    case OPT_BOOT:
        *boot_set = true;
        return vm_boot_parse(arg, &def->boot, err);
    case OPT_NET:
        free(def->tap);
        def->tap = NULL;
        return vm_net_parse(arg, &def->net, &def->tap, err);
    case OPT_DISPLAY:
        return vm_display_parse(arg, &def->display, err);
    case OPT_ENGINE:
        return vm_engine_parse(arg, &def->engine, err);
    }
    return v12n_fail(err, 0, "vm create: unknown option");
}

static int vm_create(int argc, char **argv)
{
    static const struct option opts[] = {
        {"cpus", required_argument, NULL, OPT_CPUS},
        {"memory", required_argument, NULL, OPT_MEMORY},
        {"disk", required_argument, NULL, OPT_DISK},
        {"cdrom", required_argument, NULL, OPT_CDROM},
        {"kernel", required_argument, NULL, OPT_KERNEL},
        {"initrd", required_argument, NULL, OPT_INITRD},
        {"cmdline", required_argument, NULL, OPT_CMDLINE},
        {"boot", required_argument, NULL, OPT_BOOT},
        {"net", required_argument, NULL, OPT_NET},
        {"display", required_argument, NULL, OPT_DISPLAY},
        {"engine", required_argument, NULL, OPT_ENGINE},
        {0},
    };
    struct vm_def def = {.cpus = 1, .memory_mib = 512, .net = VM_NET_USER};
    struct vm_disk_request reqs[VM_MAX_DISKS];
    int n_reqs = 0, opt, rc = 1;
    bool boot_set = false, net_set = false;
    v12n_error err = {0};
    optind = 0;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        net_set |= opt == OPT_NET;
        if (opt == '?' || opt == ':') {
            vm_def_free(&def);
            return cli_usage_error("vm create", "see v12n vm --help");
        }
        if (create_option(opt, optarg, &def, reqs, &n_reqs, &boot_set, &err) < 0) {
            vm_def_free(&def);
            return err.msg[0] ? cli_error(&err) : cli_usage_error("vm create", "out of memory");
        }
    }
    const char *name = one_name("vm create", argc, argv);
    if (name == NULL)
        goto out;
    snprintf(def.name, sizeof def.name, "%s", name);
    if (strlen(name) >= sizeof def.name && vm_name_check(name, &err) < 0) {
        rc = cli_error(&err);
        goto out;
    }
    if (!net_set && def.engine == VM_ENGINE_KVM)
        def.net = VM_NET_NONE; /* the own VMM has no user networking */
    if (!boot_set)
        def.boot = def.kernel ? VM_BOOT_KERNEL : def.cdrom ? VM_BOOT_CDROM : VM_BOOT_DISK;
    if (vm_store_create(cli_vm_root(), &def, reqs, n_reqs, &err) < 0) {
        rc = cli_error(&err);
        goto out;
    }
    printf("%s\n", def.name);
    rc = 0;
out:
    vm_def_free(&def);
    return rc;
}

/* ---- start, stop ---- */

static int vm_start_cmd(int argc, char **argv)
{
    static const struct option console_flag = {"console", no_argument, NULL, 'c'};
    bool console;
    if (one_flag("vm start", &console_flag, "c", argc, argv, &console) < 0)
        return 1;
    struct vm_def def;
    const char *name = load_one("vm start", argc, argv, &def);
    if (name == NULL)
        return 1;
    v12n_error err = {0};
    struct vm_start_info info;
    int r = vm_start(cli_vm_root(), &def, &info, &err);
    vm_def_free(&def);
    if (r < 0)
        return cli_error(&err);
    fprintf(stderr, "vm %s: started%s, %s\n", name, info.own_vmm ? "" : " with QEMU", info.why);
    if (info.vnc[0])
        fprintf(stderr, "vm %s: VNC display at %s\n", name, info.vnc);
    if (console)
        return cli_vm_console_attach(name, info.console);
    return 0;
}

static int vm_shutdown_cmd(int argc, char **argv)
{
    static const struct option opts[] = {{"timeout", required_argument, NULL, 't'}, {0}};
    int timeout = 60, opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
        char *end;
        long v = opt == 't' ? strtol(optarg, &end, 10) : -1;
        if (opt != 't' || *optarg == '\0' || *end != '\0' || v < 0 || v > 86400)
            return cli_usage_error("vm shutdown", "--timeout takes seconds from 0 to 86400");
        timeout = (int)v;
    }
    struct vm_def def;
    const char *name = load_one("vm shutdown", argc, argv, &def);
    if (name == NULL)
        return 1;
    v12n_error err = {0};
    bool forced = false;
    int r = vm_shutdown(&def, timeout, &forced, &err);
    vm_def_free(&def);
    if (r < 0)
        return cli_error(&err);
    if (forced)
        fprintf(stderr, "vm %s: no shutdown after %d s: forced off\n", name, timeout);
    return 0;
}

/* destroy, reboot, console: a name and nothing else */
static int vm_simple(const char *cmd, int argc, char **argv)
{
    static const struct option none[] = {{0}};
    optind = 0;
    if (getopt_long(argc, argv, "", none, NULL) != -1)
        return cli_usage_error(cmd, "unknown option \"%s\"", argv[optind - 1]);
    struct vm_def def;
    const char *name = load_one(cmd, argc, argv, &def);
    if (name == NULL)
        return 1;
    v12n_error err = {0};
    int r = 0;
    if (strcmp(cmd, "vm destroy") == 0) {
        r = vm_destroy(&def, &err);
    } else if (strcmp(cmd, "vm reboot") == 0) {
        r = vm_reboot(&def, &err);
    } else {
        struct vm_status st;
        r = vm_status_get(&def, &st, &err);
        if (r == 0 && st.pid == 0)
            r = v12n_fail(&err, 0, "vm %s: not running (%s)", name, vm_state_name(st.state));
        if (r == 0) {
            char *sock = vm_run_path(name, "serial.sock");
            vm_def_free(&def);
            int rc = cli_vm_console_attach(name, sock);
            free(sock);
            return rc;
        }
    }
    vm_def_free(&def);
    return r < 0 ? cli_error(&err) : 0;
}

static int vm_undefine(int argc, char **argv)
{
    static const struct option remove_flag = {"remove-disks", no_argument, NULL, 'r'};
    bool remove_disks;
    if (one_flag("vm undefine", &remove_flag, "", argc, argv, &remove_disks) < 0)
        return 1;
    struct vm_def def;
    const char *name = load_one("vm undefine", argc, argv, &def);
    if (name == NULL)
        return 1;
    v12n_error err = {0};
    struct vm_status st;
    int r = vm_status_get(&def, &st, &err);
    if (r == 0 && st.pid != 0)
        r = v12n_fail(&err, 0, "vm %s: running: shut it down or destroy it first", name);
    if (r == 0)
        r = vm_store_remove(cli_vm_root(), &def, remove_disks, &err);
    if (r == 0 && !st.foreign) /* another store's VM of this name keeps its files */
        r = vm_clean_run_dir(name, true, &err);
    vm_def_free(&def);
    return r < 0 ? cli_error(&err) : 0;
}

static int vm_inspect(int argc, char **argv)
{
    static const struct option none[] = {{0}};
    optind = 0;
    if (getopt_long(argc, argv, "", none, NULL) != -1)
        return cli_usage_error("vm inspect", "unknown option \"%s\"", argv[optind - 1]);
    struct vm_def def;
    const char *name = load_one("vm inspect", argc, argv, &def);
    if (name == NULL)
        return 1;
    v12n_error err = {0};
    json_t *j = vm_inspect_json(&def, &err);
    vm_def_free(&def);
    if (j == NULL)
        return cli_error(&err);
    int rc = cli_print_json(j, true);
    json_decref(j);
    return rc;
}

static int vm_list(int argc, char **argv)
{
    /* the same table as `v12n list`, VMs only */
    char *args[8] = {"list", "--kind=vm"};
    int n = 2;
    for (int i = 1; i < argc && n < 7; i++)
        args[n++] = argv[i];
    if (argc > 6)
        return cli_usage_error("vm list", "too many arguments");
    return cli_list(n, args);
}

static int vm_set(int argc, char **argv)
{
    static const struct option opts[] = {
        {"cpus", required_argument, NULL, OPT_CPUS},
        {"memory", required_argument, NULL, OPT_MEMORY},
        {"cdrom", required_argument, NULL, OPT_CDROM},
        {"kernel", required_argument, NULL, OPT_KERNEL},
        {"initrd", required_argument, NULL, OPT_INITRD},
        {"cmdline", required_argument, NULL, OPT_CMDLINE},
        {"boot", required_argument, NULL, OPT_BOOT},
        {"net", required_argument, NULL, OPT_NET},
        {"display", required_argument, NULL, OPT_DISPLAY},
        {"engine", required_argument, NULL, OPT_ENGINE},
        {0},
    };
    /* options are applied after the definition is loaded: find the name first */
    optind = 0;
    opterr = 0;
    while (getopt_long(argc, argv, "", opts, NULL) != -1)
        continue;
    opterr = 1;
    struct vm_def def;
    const char *name = load_one("vm set", argc, argv, &def);
    if (name == NULL)
        return 1;
    v12n_error err = {0};
    bool boot_set = false;
    int opt, changes = 0;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == '?' || create_option(opt, optarg, &def, NULL, NULL, &boot_set, &err) < 0) {
            vm_def_free(&def);
            return opt == '?' ? cli_usage_error("vm set", "see v12n vm --help") : cli_error(&err);
        }
        changes++;
    }
    int r = changes == 0 ? v12n_fail(&err, 0, "vm %s: set: nothing to change", name)
                         : vm_store_update(cli_vm_root(), &def, &err);
    vm_def_free(&def);
    return r < 0 ? cli_error(&err) : 0;
}

static int snapshot_list(const char *name)
{
    struct vm_def def;
    if (load(name, &def) != 0)
        return 1;
    v12n_error err = {0};
    char **names = NULL;
    int r = vm_snapshot_list(&def, &names, &err);
    vm_def_free(&def);
    if (r < 0)
        return cli_error(&err);
    for (char **n = names; *n != NULL; n++)
        printf("%s\n", *n);
    v12n_strv_free(names);
    return 0;
}

static int vm_snapshot_cmd(int argc, char **argv)
{
    static const char *const ops[] = {"create", "revert", "delete"};
    if (argc == 3 && strcmp(argv[1], "list") == 0)
        return snapshot_list(argv[2]);
    for (int op = 0; op < 3; op++) {
        if (argc != 4 || strcmp(argv[1], ops[op]) != 0)
            continue;
        struct vm_def def;
        if (load(argv[2], &def) != 0)
            return 1;
        v12n_error err = {0};
        int r = vm_snapshot(&def, (enum vm_snapshot_op)op, argv[3], &err);
        vm_def_free(&def);
        return r < 0 ? cli_error(&err) : 0;
    }
    return cli_usage_error("vm snapshot", "create|revert|delete NAME SNAPSHOT, or list NAME");
}

static int vm_disk_cmd(int argc, char **argv)
{
    struct vm_def def;
    v12n_error err = {0};
    int r;
    if (argc == 3 && strcmp(argv[1], "info") == 0) {
        if (load(argv[2], &def) != 0)
            return 1;
        json_t *j = vm_disk_info(&def, &err);
        vm_def_free(&def);
        if (j == NULL)
            return cli_error(&err);
        r = cli_print_json(j, true);
        json_decref(j);
        return r;
    }
    if (argc != 5 || strcmp(argv[1], "resize") != 0)
        return cli_usage_error("vm disk", "info NAME, or resize NAME INDEX SIZE");
    char *end;
    long index = strtol(argv[3], &end, 10);
    uint64_t size;
    if (*argv[3] == '\0' || *end != '\0' || index < 0 || index >= VM_MAX_DISKS)
        return cli_usage_error("vm disk", "resize: INDEX \"%s\" is not a disk number", argv[3]);
    if (qemu_parse_size(argv[4], &size, "disk size", &err) < 0)
        return cli_error(&err);
    if (load(argv[2], &def) != 0)
        return 1;
    r = vm_disk_resize(&def, (int)index, size, &err);
    vm_def_free(&def);
    return r < 0 ? cli_error(&err) : 0;
}

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
} vm_commands[] = {
    {"disk", vm_disk_cmd},     {"set", vm_set},         {"snapshot", vm_snapshot_cmd},
    {"create", vm_create},     {"start", vm_start_cmd}, {"shutdown", vm_shutdown_cmd},
    {"undefine", vm_undefine}, {"inspect", vm_inspect}, {"list", vm_list},
    {"destroy", NULL},         {"reboot", NULL},        {"console", NULL},
};

bool cli_vm_manage_knows(const char *sub)
{
    for (size_t i = 0; i < sizeof vm_commands / sizeof vm_commands[0]; i++) {
        if (strcmp(sub, vm_commands[i].name) == 0)
            return true;
    }
    return false;
}

int cli_vm_manage(int argc, char **argv)
{
    if (argc < 2)
        return vm_usage(stderr);
    const char *sub = argv[1];
    if (strcmp(sub, "help") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
        return vm_usage(stdout);
    for (size_t i = 0; i < sizeof vm_commands / sizeof vm_commands[0]; i++) {
        if (strcmp(sub, vm_commands[i].name) != 0)
            continue;
        if (vm_commands[i].fn != NULL)
            return vm_commands[i].fn(argc - 1, argv + 1);
        char cmd[32];
        snprintf(cmd, sizeof cmd, "vm %s", sub);
        return vm_simple(cmd, argc - 1, argv + 1);
    }
    return CLI_VM_UNKNOWN;
}
