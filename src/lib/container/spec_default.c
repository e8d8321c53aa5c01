/* The config.json that `v12n oci spec` writes: the same defaults runc uses,
 * so that bundles made for runc and for v12n are interchangeable. */
#include <string.h>
#include <unistd.h>

#include "container/spec.h"

static const char default_spec[] =
    "{"
    "\"ociVersion\": \"1.2.0\","
    "\"process\": {"
    "  \"terminal\": true,"
    "  \"user\": {\"uid\": 0, \"gid\": 0},"
    "  \"args\": [\"sh\"],"
    "  \"env\": [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
    "           \"TERM=xterm\"],"
    "  \"cwd\": \"/\","
    "  \"capabilities\": {"
    "    \"bounding\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
    "    \"effective\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
    "    \"permitted\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"]"
    "  },"
    "  \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024}],"
    "  \"noNewPrivileges\": true"
    "},"
    "\"root\": {\"path\": \"rootfs\", \"readonly\": true},"
    "\"hostname\": \"v12n\","
    "\"mounts\": ["
    "  {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
    "  {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\","
    "   \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},"
    "  {\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\","
    "   \"options\": [\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\","
    "                 \"gid=5\"]},"
    "  {\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\","
    "   \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\"]},"
    "  {\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\","
    "   \"options\": [\"nosuid\", \"noexec\", \"nodev\"]},"
    "  {\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\","
    "   \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"ro\"]},"
    "  {\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\","
    "   \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\"]}"
    "],"
    "\"linux\": {"
    "  \"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]},"
    "  \"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"}, {\"type\": \"ipc\"},"
    "                   {\"type\": \"uts\"}, {\"type\": \"mount\"}, {\"type\": \"cgroup\"}],"
    "  \"maskedPaths\": [\"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\","
    "                    \"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\","
    "                    \"/proc/sched_debug\", \"/sys/firmware\", \"/proc/scsi\","
    "                    \"/sys/devices/virtual/powercap\"],"
    "  \"readonlyPaths\": [\"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\","
    "                      \"/proc/sysrq-trigger\"]"
    "}"
    "}";

/* Rootless: a user namespace mapping the caller to root, no network
 * namespace change and no device cgroup (as runc spec --rootless). */
static void make_rootless(json_t *spec)
{
    json_t *linux_obj = json_object_get(spec, "linux");
    json_object_del(linux_obj, "resources");
    json_t *ns = json_object_get(linux_obj, "namespaces");
    size_t i;
    json_t *item;
    json_array_foreach(ns, i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "type")), "network") == 0) {
            json_array_remove(ns, i);
            break;
        }
    }
    json_array_append_new(ns, json_pack("{s:s}", "type", "user"));
    json_object_set_new(
        linux_obj, "uidMappings",
        json_pack("[{s:i,s:i,s:i}]", "containerID", 0, "hostID", (int)getuid(), "size", 1));
    json_object_set_new(
        linux_obj, "gidMappings",
        json_pack("[{s:i,s:i,s:i}]", "containerID", 0, "hostID", (int)getgid(), "size", 1));
}

json_t *oci_spec_default(bool rootless)
{
    json_error_t jerr;
    json_t *spec = json_loads(default_spec, 0, &jerr);
    if (spec != NULL && rootless)
        make_rootless(spec);
    return spec;
}
