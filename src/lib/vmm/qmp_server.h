/* The few QMP commands a managed VMM answers (docs/vmm.md), so that the
 * VM management (engine/vm.c) talks to it as to QEMU: one request line in,
 * one reply line out.  The line is host input from a root-only socket,
 * still parsed as untrusted. */
#ifndef V12N_VMM_QMP_SERVER_H
#define V12N_VMM_QMP_SERVER_H

#include <stddef.h>

#define VMM_QMP_LINE_MAX 4096

enum vmm_qmp_action { VMM_QMP_NONE, VMM_QMP_QUIT, VMM_QMP_POWERDOWN };

/* The greeting sent on connect (static text, newline-terminated). */
const char *vmm_qmp_greeting(void);

/* Answer one request (line, len bytes, no newline): *reply is a malloc'd
 * newline-terminated JSON object (NULL only when out of memory), *action
 * what the VMM must do after sending it. */
void vmm_qmp_answer(const char *line, size_t len, char **reply, enum vmm_qmp_action *action);

#endif
