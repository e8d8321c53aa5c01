/* A freestanding test guest for `v12n vm run` (and QEMU, for the
 * benchmark).  Its command line picks what it does:
 *   hello        print a greeting, power off (debug-exit port, value 0)
 *   exit=N       print, then leave with code N through the debug-exit port
 *   reset        reset through the i8042 controller
 *   triple       triple fault (empty IDT, then ud2)
 *   smp          count the processors in the MP table, start the others
 *                with INIT/SIPI, print both counts, power off
 *   echo         echo one line of serial input, power off
 *   spin         print, then spin forever (for Ctrl-a x)
 *   powerbtn     wait for the ACPI power button's interrupt (GED, GSI 16),
 *                then power off through S5
 *   idle         print "idle: ready", then halt forever with interrupts off
 *                (a managed VM that waits to be stopped, using no CPU)
 *   cpuid        print the hypervisor signature, kvmclock and cmpxchg16b bits
 *   rtc          print the CMOS RTC's year (century and year registers, BCD)
 *   acpi         find the RSDP, count the MADT's processors, power off
 *                through the FADT's sleep-control register (S5)
 * Built twice: 32-bit for the PVH entry, 64-bit for the 64-bit protocol. */
#include <stddef.h>
#include <stdint.h>

#define COM1       0x3f8
#define DEBUG_EXIT 0xf4
#define LAPIC      0xfee00000u
#define TRAMPOLINE 0x11000u

volatile unsigned ap_count;
extern char ap_tramp[], ap_tramp_end[];

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static void putc_serial(char c)
{
    while (!(inb(COM1 + 5) & 0x20))
        ;
    outb(COM1, (uint8_t)c);
}

static void puts_serial(const char *s)
{
    while (*s)
        putc_serial(*s++);
}

static void put_uint(unsigned v)
{
    char buf[12];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        putc_serial(buf[--n]);
}

static int starts(const char *s, const char *prefix)
{
    while (*prefix)
        if (*s++ != *prefix++)
            return 0;
    return 1;
}

static int has_word(const char *cmdline, const char *word)
{
    for (const char *p = cmdline; *p; p++)
        if ((p == cmdline || p[-1] == ' ') && starts(p, word))
            return 1;
    return 0;
}

static unsigned parse_uint(const char *s)
{
    unsigned v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (unsigned)(*s++ - '0');
    return v;
}

static void __attribute__((noreturn)) leave(uint32_t code)
{
    outl(DEBUG_EXIT, code);
    for (;;)
        __asm__ volatile("hlt");
}

static volatile uint32_t *lapic(unsigned reg)
{
    return (volatile uint32_t *)(uintptr_t)(LAPIC + reg);
}

/* The MP floating pointer in the EBDA or the BIOS area; 0 when absent. */
static const uint8_t *find_mp_config(void)
{
    static const uintptr_t ranges[][2] = {{0x9fc00, 0xa0000}, {0xf0000, 0x100000}};
    for (unsigned r = 0; r < 2; r++)
        for (uintptr_t a = ranges[r][0]; a < ranges[r][1]; a += 16) {
            const uint8_t *p = (const uint8_t *)a;
            if (p[0] == '_' && p[1] == 'M' && p[2] == 'P' && p[3] == '_')
                return (const uint8_t *)(uintptr_t)(*(const uint32_t *)(p + 4));
        }
    return 0;
}

static unsigned count_mp_cpus(void)
{
    const uint8_t *mpc = find_mp_config();
    if (mpc == 0)
        return 0;
    unsigned entries = *(const uint16_t *)(mpc + 34), cpus = 0;
    const uint8_t *e = mpc + 44;
    for (unsigned i = 0; i < entries; i++) {
        if (e[0] == 0) {
            cpus++;
            e += 20;
        } else {
            e += 8;
        }
    }
    return cpus;
}

static void delay(unsigned n)
{
    for (volatile unsigned i = 0; i < n; i++)
        ;
}

/* INIT, then SIPI to every other APIC id (ids are 0..n-1 in our table). */
static void start_aps(unsigned cpus)
{
    for (char *s = ap_tramp, *d = (char *)TRAMPOLINE; s < ap_tramp_end; s++, d++)
        *d = *s;
    *lapic(0xf0) = 0x1ff; /* software-enable, spurious vector 0xff */
    for (unsigned id = 1; id < cpus; id++) {
        *lapic(0x310) = id << 24;
        *lapic(0x300) = 0x4500; /* INIT, assert */
        delay(1000);
        *lapic(0x310) = id << 24;
        *lapic(0x300) = 0x4600 | (TRAMPOLINE >> 12); /* SIPI */
    }
    for (unsigned spins = 0; ap_count < cpus - 1 && spins < 2000000; spins++)
        __asm__ volatile("pause");
}

static void run_smp(void)
{
    unsigned cpus = count_mp_cpus();
    puts_serial("smp: mptable cpus=");
    put_uint(cpus);
    puts_serial("\n");
    if (cpus > 1 && sizeof(void *) == 4)
        start_aps(cpus);
    puts_serial("smp: online=");
    put_uint(ap_count + 1);
    puts_serial("\n");
    leave(0);
}

static int sig_is(const uint8_t *p, const char *sig)
{
    return p[0] == sig[0] && p[1] == sig[1] && p[2] == sig[2] && p[3] == sig[3];
}

/* An XSDT table by signature, via the RSDP found in 0xe0000-0xfffff. */
static const uint8_t *acpi_table(const char *sig)
{
    for (uintptr_t a = 0xe0000; a < 0x100000; a += 16) {
        const uint8_t *r = (const uint8_t *)a;
        if (!(sig_is(r, "RSD ") && sig_is(r + 4, "PTR ")))
            continue;
        const uint8_t *xsdt = (const uint8_t *)(uintptr_t)(*(const uint64_t *)(r + 24));
        uint32_t len = *(const uint32_t *)(xsdt + 4);
        for (uint32_t off = 36; off + 8 <= len; off += 8) {
            const uint8_t *t = (const uint8_t *)(uintptr_t)(*(const uint64_t *)(xsdt + off));
            if (sig_is(t, sig))
                return t;
        }
    }
    return 0;
}

static void acpi_poweroff(void)
{
    const uint8_t *madt = acpi_table("APIC"), *fadt = acpi_table("FACP");
    if (madt == 0 || fadt == 0) {
        puts_serial("acpi: tables not found\n");
        leave(2);
    }
    unsigned cpus = 0;
    uint32_t len = *(const uint32_t *)(madt + 4);
    for (uint32_t off = 44; off + 2 <= len && madt[off + 1] >= 2; off += madt[off + 1])
        cpus += madt[off] == 0;
    puts_serial("acpi: madt cpus=");
    put_uint(cpus);
    puts_serial("\n");
    uint16_t port = (uint16_t)(*(const uint64_t *)(fadt + 244 + 4));
    outb(port, (uint8_t)(5 << 2 | 0x20)); /* SLP_TYP 5 (_S5), SLP_EN */
    puts_serial("acpi: still running\n");
    leave(3);
}

static int dsdt_has(const uint8_t *dsdt, const char *what, unsigned n)
{
    uint32_t len = *(const uint32_t *)(dsdt + 4);
    for (uint32_t off = 36; off + n <= len; off++) {
        unsigned i = 0;
        while (i < n && dsdt[off + i] == (uint8_t)what[i])
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

/* Route the power button's GSI (16, edge, active high) through the
 * IOAPIC to vector 0x40 on this CPU, wait for it in the local APIC's IRR
 * (interrupts stay off: no IDT needed), power off through S5. */
static void power_button(void)
{
    const uint8_t *fadt = acpi_table("FACP");
    const uint8_t *dsdt = fadt ? (const uint8_t *)(uintptr_t) * (const uint64_t *)(fadt + 140) : 0;
    if (dsdt == 0 || !dsdt_has(dsdt, "ACPI0013", 8) || !dsdt_has(dsdt, "PNP0C0C", 7)) {
        puts_serial("powerbtn: no GED or power button in the DSDT\n");
        leave(2);
    }
    volatile uint32_t *ioregsel = (volatile uint32_t *)0xfec00000u;
    volatile uint32_t *iowin = (volatile uint32_t *)0xfec00010u;
    *ioregsel = 0x10 + 2 * 16 + 1;
    *iowin = 0; /* destination APIC id 0 */
    *ioregsel = 0x10 + 2 * 16;
    *iowin = 0x40;         /* vector 0x40, fixed, physical, edge, active high, unmasked */
    *lapic(0xf0) |= 0x100; /* software-enable the local APIC */
    *lapic(0x80) = 0;      /* accept every priority */
    puts_serial("powerbtn: ready\n");
    while (!(*lapic(0x200 + 0x10 * (0x40 / 32)) & (1u << (0x40 % 32))))
        __asm__ volatile("pause");
    puts_serial("powerbtn: pressed\n");
    uint16_t port = (uint16_t)(*(const uint64_t *)(fadt + 244 + 4));
    outb(port, (uint8_t)(5 << 2 | 0x20));
    leave(3);
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

static void print_cpuid(void)
{
    uint32_t r[4], sig[4];
    cpuid(1, r);
    puts_serial((r[2] >> 31) & 1 ? "cpuid: hypervisor=1" : "cpuid: hypervisor=0");
    puts_serial((r[2] >> 13) & 1 ? " cx16=1" : " cx16=0");
    cpuid(0x40000000, sig);
    char name[13];
    for (int i = 0; i < 12; i++)
        name[i] = (char)(sig[1 + i / 4] >> (8 * (i % 4)));
    name[12] = '\0';
    puts_serial(" signature=");
    puts_serial(name);
    cpuid(0x40000001, r);
    puts_serial((r[0] >> 3) & 1 ? " kvmclock=1\n" : " kvmclock=0\n"); /* CLOCKSOURCE2 */
    leave(0);
}

static unsigned cmos_bcd(uint8_t reg)
{
    outb(0x70, reg);
    uint8_t v = inb(0x71);
    return (unsigned)(v >> 4) * 10 + (v & 0xf);
}

static void print_rtc_year(void)
{
    puts_serial("rtc: year=");
    put_uint(cmos_bcd(0x32) * 100 + cmos_bcd(0x09));
    puts_serial("\n");
    leave(0);
}

static void echo_line(void)
{
    puts_serial("echo: ready\n");
    puts_serial("echo: got ");
    for (;;) {
        while (!(inb(COM1 + 5) & 0x01))
            ;
        char c = (char)inb(COM1);
        if (c == '\n' || c == '\r')
            break;
        putc_serial(c);
    }
    puts_serial("\n");
    leave(0);
}

static void triple_fault(void)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uintptr_t base;
    } idt = {0, 0};
    __asm__ volatile("lidt %0; ud2" : : "m"(idt));
}

void guest_main(uintptr_t info, int proto);

void guest_main(uintptr_t info, int proto)
{
    /* PVH: hvm_start_info.cmdline_paddr at +24; boot_params: cmd_line_ptr at 0x228. */
    uintptr_t cmd = proto == 0 ? (uintptr_t) * (const uint64_t *)(info + 24)
                               : (uintptr_t) * (const uint32_t *)(info + 0x228);
    const char *cmdline = cmd ? (const char *)cmd : "";
    puts_serial(proto == 0 ? "v12n test guest: pvh\n" : "v12n test guest: 64-bit\n");
    if (has_word(cmdline, "exit="))
        for (const char *p = cmdline; *p; p++)
            if (starts(p, "exit="))
                leave(parse_uint(p + 5));
    if (has_word(cmdline, "reset"))
        outb(0x64, 0xfe);
    if (has_word(cmdline, "triple"))
        triple_fault();
    if (has_word(cmdline, "smp"))
        run_smp();
    if (has_word(cmdline, "cpuid"))
        print_cpuid();
    if (has_word(cmdline, "rtc"))
        print_rtc_year();
    if (has_word(cmdline, "acpi"))
        acpi_poweroff();
    if (has_word(cmdline, "echo"))
        echo_line();
    if (has_word(cmdline, "powerbtn"))
        power_button();
    if (has_word(cmdline, "idle")) {
        puts_serial("idle: ready\n");
        for (;;)
            __asm__ volatile("cli; hlt");
    }
    if (has_word(cmdline, "spin"))
        for (;;)
            __asm__ volatile("pause");
    puts_serial("hello from the guest\n");
    leave(0);
}
