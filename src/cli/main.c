/* v12n: one binary for every kind of virtualization.  Invoked as
 * `v12n-runc` it is the OCI runtime alone, for tools that expect runc. */
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_engine.h"
#include "cli_image.h"
#include "cli_vm_manage.h"
#include "container/selfclone.h"

static int usage(FILE *out)
{
    fprintf(out,
            "usage: v12n COMMAND [ARGS...]\n"
            "\n"
            "Commands:\n"
            "  oci CMD     the OCI runtime (runc-compatible): spec, create, start, run,\n"
            "              state, kill, delete, exec, list, ps, pause, resume, update,\n"
            "              features\n"
            "  pull REF    pull an image [-q] [--platform OS/ARCH] [--tls-ca F] [--insecure]\n"
            "  images      list images [-a] [-q] [--format json]\n"
            "  rmi IMAGE.. remove images [-f]\n"
            "  tag SRC DST give an image another name\n"
            "  login REG   store credentials [-u USER] [--password-stdin] [--authfile F]\n"
            "  logout REG  forget them\n"
            "  save IMAGE..  write images to a tarball [-o FILE] [--format oci-archive]\n"
            "  load        read a docker-archive or oci-archive [-i FILE]\n"
            "  import FILE|- [REF]  a rootfs tarball becomes an image\n"
            "  image CMD   ls, rm, inspect, pull, tag, load, save, import,\n"
            "              builtin busybox [NAME]\n"
            "  info        what kinds of virtualization this host offers\n"
            "  vm run      boot a kernel in a KVM virtual machine (see docs/vmm.md)\n"
            "  run IMAGE   run a container [-i] [-t] [-d] [--rm] [--name N] [-e K=V] [-v S:D]\n"
            "              [-w DIR] [-u USER] [--read-only] [--network none|host] ...\n"
            "  ps          list containers [-a] [-q] [--format json]\n"
            "  start, stop, restart, kill, rm, logs, wait, inspect, attach, exec, top,\n"
            "  cp, rename, container prune   manage containers (as docker)\n"
            "  vm CMD      VMs run by QEMU: create, start, shutdown, destroy, reboot,\n"
            "              console, undefine, inspect, list (see v12n vm help)\n"
            "  list        containers and VMs [--all] [--format json]\n"
            "  info        what kinds of virtualization this host offers\n"
            "  version     print the version\n"
            "\n"
            "Global options: --root DIR  the image store (default /var/lib/v12n)\n"
            "\n"
            "Installed as v12n-runc, the binary is the OCI runtime itself.\n");
    return out == stdout ? 0 : 1;
}

/* `vm run` is v12n's own KVM monitor in the foreground (cli/vm.c); the other
 * vm commands manage persistent VMs that QEMU runs (cli/vm_manage.c). */
static int vm_dispatch(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return cli_vm_main(argc, argv);
    int rc = cli_vm_manage(argc, argv);
    if (rc != CLI_VM_UNKNOWN)
        return rc;
    fprintf(stderr, "v12n: vm: unknown command \"%s\" (see v12n vm help)\n", argv[1]);
    return 1;
}

int main(int argc, char **argv)
{
    /* CVE-2019-5736: never run container-facing code from the host binary. */
    v12n_error err = {0};
    if (selfclone_ensure(argc, argv, &err) < 0)
        return cli_error(&err);
    cli_argv0 = argv[0];
    cli_twin_init(argc, argv);
    const char *name = basename(argv[0]);
    if (strcmp(name, "v12n-runc") == 0 || strcmp(name, "runc") == 0)
        return cli_oci_main(argc, argv);
    /* global options, before the command */
    for (;;) {
        if (argc >= 3 && strcmp(argv[1], "--root") == 0) {
            cli_root = argv[2];
            argv[2] = argv[0];
            argc -= 2;
            argv += 2;
        } else if (argc >= 2 && strncmp(argv[1], "--root=", 7) == 0) {
            cli_root = argv[1] + 7;
            argv[1] = argv[0];
            argc -= 1;
            argv += 1;
        } else {
            break;
        }
    }
    if (argc < 2)
        return usage(stderr);
    if (cli_twin_dispatch(argc - 1, argv + 1, &err) < 0)
        return cli_error(&err);
    const char *cmd = argv[1];
    if (strcmp(cmd, "oci") == 0)
        return cli_oci_main(argc - 1, argv + 1);
    if (strcmp(cmd, "vm") == 0)
        return vm_dispatch(argc - 1, argv + 1);
    static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
    } image_commands[] = {
        {"pull", cli_pull},
        {"images", cli_images},
        {"rmi", cli_rmi},
        {"tag", cli_tag},
        {"login", cli_login},
        {"logout", cli_logout},
        {"image", cli_image},
        {"load", cli_load},
        {"save", cli_save},
        {"import", cli_import},
        /* containers */
        {"run", cli_run},
        {"ps", cli_ps},
        {"start", cli_start},
        {"stop", cli_stop},
        {"restart", cli_restart},
        {"kill", cli_kill},
        {"rm", cli_rm},
        {"logs", cli_logs},
        {"wait", cli_wait},
        {"inspect", cli_inspect},
        {"attach", cli_attach},
        {"exec", cli_exec},
        {"top", cli_top},
        {"cp", cli_cp},
        {"rename", cli_rename},
        {"container", cli_container},
        {"__monitor-finish", cli_monitor_finish},
    };
    for (size_t i = 0; i < sizeof image_commands / sizeof image_commands[0]; i++) {
        if (strcmp(cmd, image_commands[i].name) == 0)
            return image_commands[i].fn(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "info") == 0)
        return cli_info(argc - 1, argv + 1);
    if (strcmp(cmd, "list") == 0)
        return cli_list(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("v12n version %s\n", V12N_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
        return usage(stdout);
    fprintf(stderr, "v12n: unknown command \"%s\" (see v12n help)\n", cmd);
    return 1;
}
