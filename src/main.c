/* actionlinks: subcommand dispatch. */
#include "callout/engine.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: actionlinks <command> [options]\n"
    "commands:\n"
    "  serve         run the server (actionlinks serve --help)\n"
    "  user add      add a user\n"
    "  app add       add a connected app\n"
    "  token issue   issue an access token; token revoke TOKEN revokes one\n"
    "  template import FILE.json  create a group template with its link templates\n"
    "  version       print the version\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0) {
        engine_global_init();
        int rc = cli_serve(argc - 2, argv + 2);
        engine_global_cleanup();
        return rc;
    }
    if (strcmp(cmd, "user") == 0)
        return cli_user(argc - 2, argv + 2);
    if (strcmp(cmd, "app") == 0)
        return cli_app(argc - 2, argv + 2);
    if (strcmp(cmd, "token") == 0)
        return cli_token(argc - 2, argv + 2);
    if (strcmp(cmd, "template") == 0)
        return cli_template(argc - 2, argv + 2);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("actionlinks %s\n", AL_VERSION);
        return 0;
    }
    fputs(usage, stderr);
    return strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ? 0 : 2;
}
