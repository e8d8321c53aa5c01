/* The host probe's parsers, on texts shaped like the real /proc files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "host/host.h"

static const char cpuinfo[] = "processor\t: 0\n"
                              "vendor_id\t: GenuineIntel\n"
                              "model name\t: Intel(R) Xeon(R) CPU\n"
                              "flags\t\t: fpu vme vmx sse2 hypervisor avx\n"
                              "bugs\t\t: svm_fake\n"
                              "\n"
                              "processor\t: 1\n"
                              "flags\t\t: fpu svm\n";

static void cpuinfo_flags_are_whole_words_of_the_first_cpu(void **state)
{
    (void)state;
    assert_true(host_cpuinfo_has_flag(cpuinfo, "vmx"));
    assert_true(host_cpuinfo_has_flag(cpuinfo, "fpu"));
    assert_true(host_cpuinfo_has_flag(cpuinfo, "avx")); /* last on the line */
    assert_true(host_cpuinfo_has_flag(cpuinfo, "hypervisor"));
    assert_false(host_cpuinfo_has_flag(cpuinfo, "vm"));  /* prefix of vme/vmx */
    assert_false(host_cpuinfo_has_flag(cpuinfo, "sse")); /* prefix of sse2 */
    /* only the flags line: "svm_fake" in bugs and the second CPU do not count */
    assert_false(host_cpuinfo_has_flag(cpuinfo, "svm"));
    assert_false(host_cpuinfo_has_flag("", "vmx"));
    assert_false(host_cpuinfo_has_flag("flags\t: \n", "vmx"));
    assert_false(host_cpuinfo_has_flag("flagsvmx", "vmx"));
}

static void cpuinfo_values_by_exact_key(void **state)
{
    (void)state;
    char buf[64];
    assert_true(host_cpuinfo_value(cpuinfo, "model name", buf, sizeof buf));
    assert_string_equal(buf, "Intel(R) Xeon(R) CPU");
    assert_true(host_cpuinfo_value(cpuinfo, "vendor_id", buf, sizeof buf));
    assert_string_equal(buf, "GenuineIntel");
    assert_false(host_cpuinfo_value(cpuinfo, "model", buf, sizeof buf));
    char tiny[6];
    assert_true(host_cpuinfo_value(cpuinfo, "model name", tiny, sizeof tiny));
    assert_string_equal(tiny, "Intel");
}

static void modules_match_whole_names(void **state)
{
    (void)state;
    const char modules[] = "kvm_intel 380928 0 - Live 0x0000000000000000\n"
                           "kvm 1142784 1 kvm_intel, Live 0x0000000000000000\n"
                           "irqbypass 16384 1 kvm, Live 0x0000000000000000\n";
    assert_true(host_modules_has(modules, "kvm_intel"));
    assert_true(host_modules_has(modules, "kvm"));
    assert_true(host_modules_has(modules, "irqbypass"));
    assert_false(host_modules_has(modules, "kvm_amd"));
    assert_false(host_modules_has(modules, "kvm_int")); /* a prefix */
    assert_false(host_modules_has(modules, "bypass"));  /* inside a line */
    assert_false(host_modules_has("", "kvm"));
}

static const char mi_hybrid[] =
    "23 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "40 31 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
static const char mi_v2[] =
    "23 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
    "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 master:1 - cgroup2 cgroup2 rw,nsdelegate\n";
static const char mi_v1[] = "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
                            "33 31 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory";
/* a mount point named like a type must not fool the parser */
static const char mi_tricky[] = "50 23 0:40 / /mnt/cgroup2 rw - ext4 /dev/cgroup2 rw\n"
                                "51 23 0:41 / /x - y rw - tmpfs cgroup rw\n";

static void cgroup_mode_from_mountinfo(void **state)
{
    (void)state;
    assert_int_equal(host_cgroup_mode_from_mountinfo(mi_hybrid), HOST_CGROUP_HYBRID);
    assert_int_equal(host_cgroup_mode_from_mountinfo(mi_v2), HOST_CGROUP_V2);
    assert_int_equal(host_cgroup_mode_from_mountinfo(mi_v1), HOST_CGROUP_V1);
    assert_int_equal(host_cgroup_mode_from_mountinfo(mi_tricky), HOST_CGROUP_NONE);
    assert_int_equal(host_cgroup_mode_from_mountinfo(""), HOST_CGROUP_NONE);
    assert_string_equal(host_cgroup_mode_name(HOST_CGROUP_HYBRID), "hybrid");
}

static void hypervisor_signatures(void **state)
{
    (void)state;
    assert_string_equal(host_hypervisor_name("KVMKVMKVM"), "KVM");
    assert_string_equal(host_hypervisor_name("Microsoft Hv"), "Microsoft Hyper-V");
    assert_string_equal(host_hypervisor_name("VMwareVMware"), "VMware");
    assert_string_equal(host_hypervisor_name("XenVMMXenVMM"), "Xen");
    assert_null(host_hypervisor_name("KVMKVM"));
    assert_null(host_hypervisor_name(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpuinfo_flags_are_whole_words_of_the_first_cpu),
        cmocka_unit_test(cpuinfo_values_by_exact_key),
        cmocka_unit_test(modules_match_whole_names),
        cmocka_unit_test(cgroup_mode_from_mountinfo),
        cmocka_unit_test(hypervisor_signatures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
