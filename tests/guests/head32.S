/* PVH entry (32-bit protected mode, paging off, ebx = hvm_start_info),
 * plus the real-mode trampoline that application processors start in. */
    .section .note.Xen, "a"
    .p2align 2
    .long 4, 4, 18          /* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long _start

    .section .head, "ax"
    .code32
    .globl _start
_start:
    cli
    lgdt gdt_ptr
    ljmp $0x08, $1f
1:  mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    mov $stack_top, %esp
    push $0                 /* boot protocol: 0 = PVH */
    push %ebx
    call guest_main
2:  hlt
    jmp 2b

    /* Application processors: copied below 1 MiB, entered in real mode
     * with cs = its page; reaches ap_main32 in flat protected mode. */
    .globl ap_tramp, ap_tramp_end
    .code16
ap_tramp:
    cli
    mov %cs, %ax
    mov %ax, %ds
    lgdtl (tramp_gdt - ap_tramp)
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl *(tramp_jmp - ap_tramp)
tramp_gdt:
    .word gdt_end - gdt - 1
    .long gdt
tramp_jmp:
    .long ap_main32
    .word 0x08
ap_tramp_end:

    .code32
ap_main32:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    lock incl ap_count
3:  hlt
    jmp 3b

    .p2align 3
gdt:
    .quad 0
    .quad 0x00cf9b000000ffff  /* 0x08: code, 32-bit flat */
    .quad 0x00cf93000000ffff  /* 0x10: data, flat */
gdt_end:
gdt_ptr:
    .word gdt_end - gdt - 1
    .long gdt

    .bss
    .p2align 4
    .space 8192
stack_top:
