/* The container's /etc/hostname, /etc/hosts and /etc/resolv.conf, written
 * into a per-container directory and bind-mounted by the spec: the image's
 * own files are not touched. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/bundle.h"
#include "engine/engine_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define HOST_RESOLV_CONF "/etc/resolv.conf"
#define RESOLV_CONF_MAX  (64u << 10)
#define HOST_HOSTS       "/etc/hosts"
#define HOSTS_MAX        (1u << 20)

/* Docker's fallback when the host only knows loopback resolvers. */
static const char fallback_nameservers[] = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";

static bool is_loopback_nameserver(const char *line, size_t len)
{
    static const char key[] = "nameserver";
    if (len < sizeof key || strncmp(line, key, sizeof key - 1) != 0 ||
        (line[sizeof key - 1] != ' ' && line[sizeof key - 1] != '\t'))
        return false;
    const char *addr = line + sizeof key - 1;
    while (*addr == ' ' || *addr == '\t')
        addr++;
    size_t alen = len - (size_t)(addr - line);
    return (alen >= 4 && strncmp(addr, "127.", 4) == 0) ||
           (alen >= 3 && strncmp(addr, "::1", 3) == 0 &&
            (alen == 3 || addr[3] == ' ' || addr[3] == '\t' || addr[3] == '%'));
}

static bool is_nameserver(const char *line, size_t len)
{
    return len > 11 && strncmp(line, "nameserver", 10) == 0 &&
           (line[10] == ' ' || line[10] == '\t');
}

char *engine_resolv_conf(const char *host_text, bool host_network)
{
    if (host_text == NULL)
        host_text = "";
    if (host_network)
        return strdup(host_text);
    size_t cap = strlen(host_text) + sizeof fallback_nameservers + 2;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    size_t used = 0;
    bool kept_nameserver = false;
    for (const char *line = host_text; *line != '\0';) {
        size_t len = strcspn(line, "\n");
        if (!is_loopback_nameserver(line, len)) {
            kept_nameserver |= is_nameserver(line, len);
            memcpy(out + used, line, len);
            used += len;
            out[used++] = '\n';
        }
        line += len;
        if (*line == '\n')
            line++;
    }
    if (!kept_nameserver) {
        memcpy(out + used, fallback_nameservers, sizeof fallback_nameservers - 1);
        used += sizeof fallback_nameservers - 1;
    }
    out[used] = '\0';
    return out;
}

static int write_in(const char *dir, const char *name, const char *text, v12n_error *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return v12n_fail(err, ENAMETOOLONG, "%s/%s", dir, name);
    /* In a directory made a moment ago and read by nobody before the
     * container starts: no temporary and rename needed. */
    return v12n_write_file(path, text, strlen(text), err);
}

static int hosts_text(const char *hostname, char **out)
{
    return asprintf(out,
                    "127.0.0.1\tlocalhost\n"
                    "::1\tlocalhost ip6-localhost ip6-loopback\n"
                    "fe00::0\tip6-localnet\n"
                    "ff00::0\tip6-mcastprefix\n"
                    "ff02::1\tip6-allnodes\n"
                    "ff02::2\tip6-allrouters\n"
                    "127.0.0.1\t%s\n",
                    hostname);
}

/* A host file (resolv.conf, hosts), NULL in *out when it has none; bounded. */
static int host_file(const char *path, unsigned max, char **out, v12n_error *err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) < 0 && errno == ENOENT)
        return 0;
    if (stat(path, &st) == 0 && st.st_size > max)
        return v12n_fail(err, EFBIG, "host %s: larger than %u bytes", path, max);
    *out = v12n_read_file(path, NULL, err);
    return *out != NULL ? 0 : v12n_error_wrap(err, "host %s", path);
}

/* The container's hosts: Docker's generated one, or with the host's
 * network a copy of the host's (empty when the host has none). */
static int container_hosts(const char *hostname, enum engine_network net, char **out,
                           v12n_error *err)
{
    if (net != ENGINE_NET_HOST)
        return hosts_text(hostname, out) < 0 ? v12n_fail(err, ENOMEM, "hosts") : 0;
    if (host_file(HOST_HOSTS, HOSTS_MAX, out, err) < 0)
        return -1;
    if (*out == NULL && (*out = strdup("")) == NULL)
        return v12n_fail(err, ENOMEM, "hosts");
    return 0;
}

int engine_etc_files_write(const char *dir, const char *hostname, enum engine_network net,
                           v12n_error *err)
{
    if (hostname == NULL || hostname[0] == '\0' || strchr(hostname, '\n') != NULL)
        return v12n_fail(err, EINVAL, "hostname: empty or has a newline");
    if (v12n_mkdir_p(dir, 0755, err) < 0)
        return -1;
    auto_free char *hostname_line = NULL;
    auto_free char *hosts = NULL;
    if (asprintf(&hostname_line, "%s\n", hostname) < 0)
        return v12n_fail(err, ENOMEM, "%s: /etc files", dir);
    if (container_hosts(hostname, net, &hosts, err) < 0)
        return -1;
    auto_free char *host_resolv = NULL;
    if (host_file(HOST_RESOLV_CONF, RESOLV_CONF_MAX, &host_resolv, err) < 0)
        return -1;
    auto_free char *resolv = engine_resolv_conf(host_resolv, net == ENGINE_NET_HOST);
    if (resolv == NULL)
        return v12n_fail(err, ENOMEM, "%s: resolv.conf", dir);
    if (write_in(dir, "hostname", hostname_line, err) < 0 ||
        write_in(dir, "hosts", hosts, err) < 0 || write_in(dir, "resolv.conf", resolv, err) < 0)
        return -1;
    return 0;
}
