/* The container commands (run, ps, start, stop, ...) and what they share. */
#ifndef V12N_CLI_ENGINE_H
#define V12N_CLI_ENGINE_H

#include <stdbool.h>

#include "engine/engine.h"

/* Docker's exit code for an engine error. */
#define CLI_ENGINE_ERROR 125

/* The engine at --root (the image store's root); the run directory is
 * $V12N_ENGINE_RUN_DIR or /run/v12n/engine. */
int cli_engine_open(struct engine *e, v12n_error *err);
/* Print err; return 126/127 for a program that cannot run, else 125. */
int cli_engine_error(const v12n_error *err);

/* Stream an attach connection to the terminal until the container exits
 * (returns its code) or the user detaches (ctrl-p ctrl-q: returns 0).
 * stdin is forwarded when with_stdin; the terminal is put in raw mode and
 * its size followed when tty.  With on_signal, the signals the CLI receives
 * are handed to it (to forward them to the container). */
int cli_attach_stream(int fd, bool with_stdin, bool tty, bool *detached,
                      void (*on_signal)(void *arg, int sig), void *arg);
/* on_signal for cli_attach_stream: arg is a struct engine_signal_target. */
struct engine_signal_target {
    const struct engine *e;
    const char *id;
};
void cli_forward_signal(void *arg, int sig);

/* argv[0] as the user ran it (main sets it). */
extern const char *cli_argv0;

int cli_run(int argc, char **argv);
/* Hidden: `__monitor-finish ID CODE [FD...]`, run by v12n-monitor. */
int cli_monitor_finish(int argc, char **argv);
int cli_ps(int argc, char **argv);
int cli_start(int argc, char **argv);
int cli_stop(int argc, char **argv);
int cli_restart(int argc, char **argv);
int cli_kill(int argc, char **argv);
int cli_rm(int argc, char **argv);
int cli_logs(int argc, char **argv);
int cli_wait(int argc, char **argv);
int cli_inspect(int argc, char **argv);
int cli_attach(int argc, char **argv);
int cli_exec(int argc, char **argv);
int cli_top(int argc, char **argv);
int cli_cp(int argc, char **argv);
int cli_rename(int argc, char **argv);
/* `container prune|ls|rm|...` */
int cli_container(int argc, char **argv);

#endif
