/* The small PC devices a kernel pokes at: the i8042 controller (only its
 * reset command, 0xfe on port 0x64), the CMOS RTC (host UTC time, BCD,
 * 24-hour) and the system-control ports: 0xcf9 reset and the debug-exit
 * port our test guests and QEMU's isa-debug-exit device share. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "vmm/vm_internal.h"

#define I8042_DATA   0x60
#define I8042_CMD    0x64
#define I8042_RESET  0xfe
#define RTC_INDEX    0x70
#define RST_CTRL     0xcf9
#define RST_CTRL_CPU 0x04

/* i8042: status reads 0 (no data, input buffer empty); data reads 0. */
static void i8042_read(void *opaque, uint64_t offset, uint8_t *data, unsigned len)
{
    memset(data, 0, len);
}

static void i8042_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned len)
{
    if (offset == I8042_CMD - I8042_DATA && data[0] == I8042_RESET)
        vm_request_stop(opaque, VM_STOP_RESET, 0, NULL);
}

static const struct vmm_bus_ops i8042_ops = {.read = i8042_read, .write = i8042_write};

int i8042_init(struct vm *vm, v12n_error *err)
{
    return vmm_bus_add(&vm->pio, I8042_DATA, 5, &i8042_ops, vm, "i8042", err);
}

/* CMOS: reads of the time registers come from the host clock. */

static uint8_t bcd(int v)
{
    return (uint8_t)(((v / 10) % 10) << 4 | (v % 10));
}

static uint8_t rtc_register(uint8_t index)
{
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) == NULL)
        memset(&tm, 0, sizeof(tm));
    switch (index) {
    case 0x00:
        return bcd(tm.tm_sec);
    case 0x02:
        return bcd(tm.tm_min);
    case 0x04:
        return bcd(tm.tm_hour);
    case 0x06:
        return bcd(tm.tm_wday + 1);
    case 0x07:
        return bcd(tm.tm_mday);
    case 0x08:
        return bcd(tm.tm_mon + 1);
    case 0x09:
        return bcd(tm.tm_year % 100);
    case 0x32:
        return bcd((tm.tm_year + 1900) / 100);
    case 0x0a:
        return 0x26; /* 32.768 kHz, no update in progress */
    case 0x0b:
        return 0x02; /* 24-hour, BCD */
    case 0x0d:
        return 0x80; /* battery good */
    default:
        return 0;
    }
}

static void rtc_read(void *opaque, uint64_t offset, uint8_t *data, unsigned len)
{
    struct rtc *r = opaque;
    memset(data, 0, len);
    data[0] = offset == 0 ? r->index : rtc_register(__atomic_load_n(&r->index, __ATOMIC_RELAXED));
}

static void rtc_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned len)
{
    struct rtc *r = opaque;
    if (offset == 0)
        __atomic_store_n(&r->index, (uint8_t)(data[0] & 0x7f),
                         __ATOMIC_RELAXED); /* bit 7: NMI mask */
}

static const struct vmm_bus_ops rtc_ops = {.read = rtc_read, .write = rtc_write};

int rtc_init(struct vm *vm, v12n_error *err)
{
    /* glibc loads the time-zone data once, on first use, even for gmtime_r:
     * do it now, as the vCPU threads' seccomp filter forbids opening files. */
    tzset();
    return vmm_bus_add(&vm->pio, RTC_INDEX, 2, &rtc_ops, &vm->rtc, "rtc", err);
}

/* Debug exit: 0 powers off, any other value ends the VM with that code. */
static void debug_exit_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned len)
{
    uint32_t v = 0;
    memcpy(&v, data, len < 4 ? len : 4);
    vm_request_stop(opaque, v == 0 ? VM_STOP_POWEROFF : VM_STOP_GUEST_EXIT, v, NULL);
}

static void reset_ctrl_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned len)
{
    if (data[0] & RST_CTRL_CPU)
        vm_request_stop(opaque, VM_STOP_RESET, 0, NULL);
}

static void zero_read(void *opaque, uint64_t offset, uint8_t *data, unsigned len)
{
    memset(data, 0, len);
}

/* ACPI sleep control (hardware-reduced): SLP_EN with SLP_TYP S5 is poweroff. */
static void sleep_ctl_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned len)
{
    if (offset == 0 && (data[0] & 0x20) && ((data[0] >> 2) & 7) == BOOT_ACPI_SLP_TYP_S5)
        vm_request_stop(opaque, VM_STOP_POWEROFF, 0, NULL);
}

static const struct vmm_bus_ops sleep_ctl_ops = {.read = zero_read, .write = sleep_ctl_write};
static const struct vmm_bus_ops debug_exit_ops = {.read = zero_read, .write = debug_exit_write};
static const struct vmm_bus_ops reset_ctrl_ops = {.read = zero_read, .write = reset_ctrl_write};

int sysctl_ports_init(struct vm *vm, v12n_error *err)
{
    if (vmm_bus_add(&vm->pio, VM_DEBUG_EXIT_PORT, 4, &debug_exit_ops, vm, "debug-exit", err) < 0)
        return -1;
    if (vmm_bus_add(&vm->pio, BOOT_ACPI_SLEEP_CTL_PORT, 2, &sleep_ctl_ops, vm, "acpi-sleep", err) <
        0)
        return -1;
    return vmm_bus_add(&vm->pio, RST_CTRL, 1, &reset_ctrl_ops, vm, "reset-control", err);
}
