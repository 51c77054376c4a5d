/* The subcommands of the actionlinks binary (SPEC 10). Each takes the arguments after
 * its name and returns the process exit code: 0 success, 1 failure, 2 usage error. */
#ifndef AL_CLI_H
#define AL_CLI_H

int cli_serve(int argc, char **argv);
int cli_user(int argc, char **argv);
int cli_app(int argc, char **argv);
int cli_token(int argc, char **argv);
/* template import FILE.json: a group template with its link templates (cli/template.c). */
int cli_template(int argc, char **argv);

#endif
