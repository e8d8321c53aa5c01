/* v12n: one binary for every kind of virtualization.  Invoked as
 * `v12n-runc` it is the OCI runtime alone, for tools that expect runc. */
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "container/selfclone.h"

static int usage(FILE *out)
{
    fprintf(out, "usage: v12n COMMAND [ARGS...]\n"
                 "\n"
                 "Commands:\n"
                 "  oci CMD     the OCI runtime (runc-compatible): spec, create, start, run,\n"
                 "              state, kill, delete, exec, list, ps, pause, resume, update,\n"
                 "              features\n"
                 "  vm run      boot a kernel in a KVM virtual machine\n"
                 "  version     print the version\n"
                 "\n"
                 "Installed as v12n-runc, the binary is the OCI runtime itself.\n");
    return out == stdout ? 0 : 1;
}

int main(int argc, char **argv)
{
    /* CVE-2019-5736: never run container-facing code from the host binary. */
    v12n_error err = {0};
    if (selfclone_ensure(argc, argv, &err) < 0)
        return cli_error(&err);
    const char *name = basename(argv[0]);
    if (strcmp(name, "v12n-runc") == 0 || strcmp(name, "runc") == 0)
        return cli_oci_main(argc, argv);
    if (argc < 2)
        return usage(stderr);
    const char *cmd = argv[1];
    if (strcmp(cmd, "oci") == 0)
        return cli_oci_main(argc - 1, argv + 1);
    if (strcmp(cmd, "vm") == 0)
        return cli_vm_main(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("v12n version %s\n", V12N_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
        return usage(stdout);
    fprintf(stderr, "v12n: unknown command \"%s\" (see v12n help)\n", cmd);
    return 1;
}
