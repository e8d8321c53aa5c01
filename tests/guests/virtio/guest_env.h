/* What the virtio guest programs need from the guest scaffolding (boot
 * entry, identity-mapped memory, serial, poweroff), which the VMM core's
 * tests/guests provides.  A program here defines guest_main(). */
#ifndef V12N_GUEST_ENV_H
#define V12N_GUEST_ENV_H

void guest_puts(const char *s);
void guest_poweroff(int code) __attribute__((noreturn));
int guest_main(void);

#endif
