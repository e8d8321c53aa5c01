/* 64-bit entry (bzImage 64-bit protocol, or an ELF without PVH note):
 * long mode with the VMM's identity map, rsi = boot_params.  The
 * protocol enters at load address + 0x200, so the head pads to it.
 * GUEST_ENTRY: the C function called (guest_main by default). */
#ifndef GUEST_ENTRY
#define GUEST_ENTRY guest_main
#endif
    .section .head, "ax"
    .code64
    .globl _start
    .fill 0x200, 1, 0xf4    /* a 32-bit entry would land here: hlt */
_start:
    cli
    lea stack_top(%rip), %rsp
    mov %rsi, %rdi
    mov $1, %esi            /* boot protocol: 1 = 64-bit zero page */
    call GUEST_ENTRY
1:  hlt
    jmp 1b

    .globl ap_tramp, ap_tramp_end
ap_tramp:
ap_tramp_end:

    .bss
    .p2align 4
    .space 8192
stack_top:
