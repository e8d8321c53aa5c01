/* `v12n vm run`: boot a kernel in a KVM VM with the serial console on the
 * terminal (raw while the VM runs; Ctrl-a x quits).  The exit status says
 * how the guest ended (docs/vmm.md). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "vmm/managed.h"
#include "vmm/vm.h"

#define EXIT_RESET        64
#define EXIT_TRIPLE_FAULT 65
#define EXIT_QUIT         66
#define EXIT_GUEST_MAX    63

static struct termios saved_tio;
static int tio_saved;

static void restore_terminal(void)
{
    if (tio_saved)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
    tio_saved = 0;
}

static void restore_and_die(int sig)
{
    restore_terminal();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Raw input so every key reaches the guest; restored on any exit. */
static void raw_terminal(void)
{
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) < 0)
        return;
    struct termios raw = saved_tio;
    cfmakeraw(&raw);
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
        return;
    tio_saved = 1;
    atexit(restore_terminal);
    signal(SIGTERM, restore_and_die);
    signal(SIGHUP, restore_and_die);
}

/* "512", "512M", "2G", "65536K": MiB without a suffix, as QEMU. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned shift = 20;
    if (end == s || *s == '-')
        return -1;
    if (*end != '\0') {
        switch (*end) {
        case 'k':
        case 'K':
            shift = 10;
            break;
        case 'm':
        case 'M':
            shift = 20;
            break;
        case 'g':
        case 'G':
            shift = 30;
            break;
        default:
            return -1;
        }
        if (end[1] != '\0' && strcmp(end + 1, "iB") != 0 && strcmp(end + 1, "B") != 0)
            return -1;
    }
    if (v == 0 || v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static int exit_status(const struct vm_result *res)
{
    switch (res->stop) {
    case VM_STOP_POWEROFF:
        return 0;
    case VM_STOP_GUEST_EXIT:
        return res->guest_code > EXIT_GUEST_MAX ? EXIT_GUEST_MAX : (int)res->guest_code;
    case VM_STOP_RESET:
        return EXIT_RESET;
    case VM_STOP_TRIPLE_FAULT:
        return EXIT_TRIPLE_FAULT;
    case VM_STOP_QUIT:
        return EXIT_QUIT;
    default:
        return 1;
    }
}

/* --disk PATH[,ro][,serial=ID], --net tap=NAME[,mac=MAC]|none,
 * --console serial|virtio, --rng; 1 printed error -> -1. */
static int device_option(struct vm_config *cfg, int c, char *arg)
{
    v12n_error err = {0};
    switch (c) {
    case 'd':
        if (cfg->n_disks == VM_MAX_DISKS)
            return cli_usage_error("vm run", "at most %d --disk", VM_MAX_DISKS), -1;
        if (virtio_blk_parse(arg, &cfg->disks[cfg->n_disks], &err) < 0)
            return cli_error(&err), -1;
        cfg->n_disks++;
        return 0;
    case 'N':
        if (strcmp(arg, "none") == 0)
            return 0;
        if (cfg->n_nets == VM_MAX_NETS)
            return cli_usage_error("vm run", "at most %d --net", VM_MAX_NETS), -1;
        if (virtio_net_parse(arg, &cfg->nets[cfg->n_nets], &err) < 0)
            return cli_error(&err), -1;
        cfg->nets[cfg->n_nets++].tap_fd = -1;
        return 0;
    case 'C':
        if (strcmp(arg, "serial") != 0 && strcmp(arg, "virtio") != 0)
            return cli_usage_error("vm run", "--console is serial or virtio, not \"%s\"", arg), -1;
        cfg->virtio_console = strcmp(arg, "virtio") == 0;
        return 0;
    default:
        cfg->rng = true;
        return 0;
    }
}

/* --managed: once the VM is built, the pidfile says "running" and stderr
 * (until now the starter's pipe: `vm start` reports what went wrong)
 * goes to the console log, so that a later failure is found there. */
static void managed_ready(void *arg)
{
    struct vmm_managed *m = arg;
    v12n_error err = {0};
    if (vmm_managed_ready(m, &err) < 0)
        cli_error(&err);
    dup2(m->log_fd, STDERR_FILENO);
}

/* Run cfg headless, served through RUNDIR (docs/vmm.md "Managed mode"). */
static int run_managed(struct vm_config *cfg, const char *dir, struct vm_result *res,
                       v12n_error *err)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL); /* every thread: the front reads them */
    struct vmm_managed m;
    if (vmm_managed_open(&m, dir, err) < 0)
        return -1;
    struct vm_managed_hooks hooks = {
        .quit_fd = m.quit_fd, .powerbtn_fd = m.powerbtn_fd, .ready = managed_ready, .arg = &m};
    cfg->managed = &hooks;
    cfg->console_in = m.in_pipe[0];
    cfg->console_out = m.out_pipe[1];
    int r = vm_run(cfg, res, err);
    vmm_managed_close(&m);
    return r;
}

static int vm_run_command(int argc, char **argv)
{
    static const struct option opts[] = {{"kernel", required_argument, NULL, 'k'},
                                         {"initrd", required_argument, NULL, 'i'},
                                         {"cmdline", required_argument, NULL, 'c'},
                                         {"cpus", required_argument, NULL, 'n'},
                                         {"memory", required_argument, NULL, 'm'},
                                         {"disk", required_argument, NULL, 'd'},
                                         {"net", required_argument, NULL, 'N'},
                                         {"console", required_argument, NULL, 'C'},
                                         {"rng", no_argument, NULL, 'r'},
                                         {"managed", required_argument, NULL, 'M'},
                                         {0}};
    struct vm_config cfg = {.cmdline = "console=ttyS0",
                            .cpus = 1,
                            .mem_size = 256ull << 20,
                            .console_in = STDIN_FILENO,
                            .console_out = STDOUT_FILENO};
    const char *managed = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'k':
            cfg.kernel = optarg;
            break;
        case 'i':
            cfg.initrd = optarg;
            break;
        case 'c':
            cfg.cmdline = optarg;
            break;
        case 'n': {
            unsigned long n = strtoul(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || n == 0 || n > VM_MAX_CPUS)
                return cli_usage_error("vm run", "--cpus wants 1 to %d, not \"%s\"", VM_MAX_CPUS,
                                       optarg);
            cfg.cpus = (unsigned)n;
            break;
        }
        case 'm':
            if (parse_size(optarg, &cfg.mem_size) < 0)
                return cli_usage_error("vm run", "--memory wants a size like 512M, not \"%s\"",
                                       optarg);
            break;
        case 'M':
            managed = optarg;
            break;
        case 'd':
        case 'N':
        case 'C':
        case 'r':
            if (device_option(&cfg, c, optarg) < 0)
                return 1;
            break;
        default:
            return cli_usage_error("vm run", "unknown option \"%s\"", argv[optind - 1]);
        }
    }
    if (cfg.kernel == NULL)
        return cli_usage_error("vm run", "--kernel FILE is required");
    if (optind != argc)
        return cli_usage_error("vm run", "unexpected argument \"%s\"", argv[optind]);
    signal(SIGPIPE, SIG_IGN); /* a closed console loses output; the guest runs on */
    v12n_error err = {0};
    struct vm_result res = {0};
    int r;
    if (managed != NULL) {
        r = run_managed(&cfg, managed, &res, &err);
    } else {
        raw_terminal();
        r = vm_run(&cfg, &res, &err);
    }
    restore_terminal();
    if (r < 0)
        return cli_error(&err);
    if (res.stop == VM_STOP_ERROR)
        return cli_error(&res.err);
    /* managed: a quit was asked for (QMP quit, SIGTERM), not news for the log */
    bool asked = managed != NULL && res.stop == VM_STOP_QUIT;
    if (res.stop != VM_STOP_POWEROFF && !asked)
        fprintf(stderr, "v12n: vm: %s%s\n", vm_stop_name(res.stop),
                res.stop == VM_STOP_GUEST_EXIT ? " with a code" : "");
    return exit_status(&res);
}

int cli_vm_main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return vm_run_command(argc - 1, argv + 1);
    fprintf(stderr,
            "usage: v12n vm run --kernel FILE [--initrd FILE] [--cmdline STR] "
            "[--cpus N] [--memory SIZE]\n"
            "              [--disk PATH[,ro][,serial=ID]]... [--net tap=NAME[,mac=MAC]|none]\n"
            "              [--console serial|virtio] [--rng] [--managed RUNDIR]\n"
            "  --managed RUNDIR: headless, served through RUNDIR's pidfile, QMP and serial\n"
            "  sockets and console log (how `v12n vm start` runs --engine kvm VMs)\n");
    return 1;
}
