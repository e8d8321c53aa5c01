/* `v12n image SUBCOMMAND`: Docker's management form of the image commands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_image.h"

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
} subcommands[] = {
    {"ls", cli_images},
    {"list", cli_images},
    {"rm", cli_rmi},
    {"remove", cli_rmi},
    {"inspect", cli_image_inspect},
    {"pull", cli_pull},
    {"tag", cli_tag},
    {"load", cli_load},
    {"save", cli_save},
    {"import", cli_import},
    {"builtin", cli_image_builtin},
};

int cli_image(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("image", "expects a subcommand: ls, rm, inspect, pull, tag, load, "
                                        "save, import, builtin");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++) {
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].fn(argc - 1, argv + 1);
    }
    return cli_usage_error("image", "unknown subcommand \"%s\"", argv[1]);
}
