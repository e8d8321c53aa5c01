/* Docker-like random names ("brave_otter") for containers run without --name. */
#include <errno.h>
#include <stdio.h>
#include <sys/random.h>

#include "engine/engine.h"

static const char *const adjectives[] = {
    "amber", "bold",   "brave",  "bright", "calm",    "clever", "crisp",  "eager",
    "fair",  "fond",   "gentle", "happy",  "keen",    "kind",   "lively", "lucid",
    "merry", "modest", "nimble", "noble",  "patient", "plucky", "proud",  "quiet",
    "rapid", "serene", "sharp",  "steady", "sunny",   "swift",  "tidy",   "witty",
};

static const char *const nouns[] = {
    "badger", "beaver", "bison", "crane",  "falcon", "ferret", "gecko",  "heron",
    "ibis",   "jackal", "koala", "lemur",  "lynx",   "marten", "moose",  "newt",
    "ocelot", "otter",  "panda", "puffin", "quail",  "raven",  "robin",  "salmon",
    "seal",   "shrew",  "stoat", "tapir",  "toucan", "walrus", "wombat", "yak",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

int engine_name_generate(const struct engine *e, char *buf, size_t len, v12n_error *err)
{
    for (int attempt = 0; attempt < 64; attempt++) {
        unsigned int r[2];
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
            return v12n_fail_errno(err, "getrandom");
        /* After a few collisions, a number keeps the space from running out. */
        if (attempt < 8)
            snprintf(buf, len, "%s_%s", adjectives[r[0] % COUNT(adjectives)],
                     nouns[r[1] % COUNT(nouns)]);
        else
            snprintf(buf, len, "%s_%s%u", adjectives[r[0] % COUNT(adjectives)],
                     nouns[r[1] % COUNT(nouns)], r[1] % 1000);
        if (!engine_name_taken(e, buf, NULL))
            return 0;
    }
    return v12n_fail(err, EEXIST, "no free container name");
}
