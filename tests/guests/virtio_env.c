/* The scaffolding that turns a virtio guest program (virtio/blk.c, net.c,
 * rng.c: guest_main) into a bootable 64-bit guest: serial output and
 * poweroff through the debug-exit port with guest_main's result. */
#include <stdint.h>

#include "virtio/guest_env.h"

#define COM1       0x3f8
#define DEBUG_EXIT 0xf4

void virtio_guest_start(void);

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

void guest_puts(const char *s)
{
    for (; *s; s++) {
        while (!(inb(COM1 + 5) & 0x20))
            ;
        outb(COM1, (uint8_t)*s);
    }
}

void guest_poweroff(int code)
{
    __asm__ volatile("outl %0, %1" : : "a"((uint32_t)code), "Nd"((uint16_t)DEBUG_EXIT));
    for (;;)
        __asm__ volatile("hlt");
}

void virtio_guest_start(void)
{
    guest_poweroff(guest_main());
}
