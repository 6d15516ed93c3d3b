/*
 * server_process.h - runs a stage's real server binary for the live tests.
 *
 * The contract of each function is in server_process.c, next to its code.
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

int server_start(struct server_process *server, const char *binary, const char *port_text);
int server_stop(struct server_process *server, int signal_number);
int server_wait(struct server_process *server, int seconds);
char *server_stderr(const struct server_process *server);
long long monotonic_ms(void);
int run_program(const char *binary, int seconds, char **output);
int run_program_with(const char *binary, char *const arguments[], int seconds, char **output);

#endif
