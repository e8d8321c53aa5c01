/* `v12n vm ...` commands that manage persistent, QEMU-run VMs, and
 * `v12n list`.  `v12n vm run` (the KVM VMM) lives in vm.c. */
#ifndef V12N_CLI_VM_MANAGE_H
#define V12N_CLI_VM_MANAGE_H

#include <stdbool.h>

/* Returned by cli_vm_manage for a subcommand it does not know, so main can
 * try the other `vm` commands. */
#define CLI_VM_UNKNOWN (-2)

/* argv[0] is "vm", argv[1] the subcommand. */
int cli_vm_manage(int argc, char **argv);

/* True when cli_vm_manage handles the subcommand. */
bool cli_vm_manage_knows(const char *subcommand);

/* `v12n list [--all] [--format json]`: containers and VMs. */
int cli_list(int argc, char **argv);

/* `vm console NAME`: attach the terminal to the serial socket. */
int cli_vm_console_attach(const char *name, const char *socket_path);

/* The store root (--root or the default). */
const char *cli_vm_root(void);

#endif
