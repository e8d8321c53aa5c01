/* `v12n load` reads archives anyone may hand over: any bytes (a tar, plain
 * or compressed, of a docker-archive or oci-archive) must load or fail
 * cleanly, never crash or leak, and leave the store consistent.  After each
 * input every loaded image is removed and gc empties the store again. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/store.h"
#include "image/unpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *store;
static char dir[64];

/* The store goes when the fuzzer exits (-max_total_time ends with exit()). */
static void remove_store(void)
{
    v12n_error err = {0};
    store_close(store);
    int tmp = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tmp >= 0)
        unpack_remove_tree(tmp, dir + strlen("/tmp/"), &err);
    close(tmp);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/fuzz_load.XXXXXX");
    v12n_error err = {0};
    if (mkdtemp(dir) == NULL || store_open(dir, STORE_NO_SYNC, &store, &err) < 0) {
        fprintf(stderr, "fuzz_load: store %s: %s\n", dir, err.msg);
        abort();
    }
    atexit(remove_store);
}

static void empty_store(void)
{
    v12n_error err = {0};
    struct store_image *imgs;
    size_t n;
    if (store_image_list(store, &imgs, &n, &err) < 0)
        abort(); /* the index must always stay readable */
    for (size_t i = 0; i < n; i++)
        store_image_delete(store, imgs[i].id, &err);
    store_images_free(imgs, n);
    struct store_gc_result res;
    if (store_gc(store, &res, &err) < 0 || res.skipped)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (store == NULL)
        setup();
    int fd = memfd_create("archive", MFD_CLOEXEC);
    if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size) ||
        lseek(fd, 0, SEEK_SET) < 0)
        abort();
    v12n_error err = {0};
    image_load(store, fd, NULL, NULL, &err);
    close(fd);
    empty_store();
    return 0;
}
