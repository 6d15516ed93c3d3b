/*
 * server_process.h - runs a stage's real server binary for the live tests.
 */
#ifndef SERVER_PROCESS_H
#define SERVER_PROCESS_H

#include <sys/types.h>

struct server_process {
    pid_t pid;
    int port;                 /* parsed from its "listening on" line */
    char first_line[256];     /* that line, without the newline */
    char stderr_path[256];    /* everything it wrote to stderr */
    int exit_status;          /* set when server_start() fails */
};

/* Starts binary with PORT=port_text and waits up to 20 s for its first
 * line on stdout. Returns 0 when it printed "listening on ...", else -1
 * (the process is then reaped; first_line and stderr_path tell why). */
int server_start(struct server_process *server, const char *binary, const char *port_text);

/* Sends signal_number and waits up to 20 s for the exit. Returns the exit
 * status (0-255), 128+N when killed by signal N, or -1 on a timeout (the
 * process is then killed). */
int server_stop(struct server_process *server, int signal_number);

/* Waits up to seconds for the process to exit by itself. Returns as
 * server_stop() does. */
int server_wait(struct server_process *server, int seconds);

/* Returns a malloc'ed copy of everything the server wrote to stderr (the
 * caller frees it), or NULL. */
char *server_stderr(const struct server_process *server);

/* Returns milliseconds on a monotonic clock, for the tests' deadlines. */
long long monotonic_ms(void);

/* Runs binary to completion (at most seconds), its stdout and stderr both
 * going to a new file. Returns its exit status as server_wait() does and
 * sets *output to a malloc'ed copy of what it printed. */
int run_program(const char *binary, int seconds, char **output);

/* The same with arguments (arguments[0] is the program's name, and a NULL
 * ends them). */
int run_program_with(const char *binary, char *const arguments[], int seconds, char **output);

#endif
