/*
 * server_process.c - see server_process.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server_process.h"

#define START_SECONDS 20
#define STOP_SECONDS 20

/* ============================ Starting =================================== */

extern char **environ;

/* Between fork() and exec(), a child of a program with threads may only
 * make async-signal-safe calls: no stdio, no setenv. What it needs is
 * made before the fork. */
#define MAX_ENVIRONMENT 512

/* Fills environment (MAX_ENVIRONMENT entries) with this process's
 * environment, PORT replaced by port_setting ("PORT=8080") and HOST left
 * out (the tests talk to 127.0.0.1, whatever a container's shell sets),
 * and a NULL at the end. Returns 0, or -1 when there are too many entries. */
static int environment_with_port(char *environment[], char *port_setting)
{
    int used = 0;

    for (char **entry = environ; *entry != NULL; entry++) {
        if (strncmp(*entry, "PORT=", 5) == 0 || strncmp(*entry, "HOST=", 5) == 0)
            continue;
        if (used + 2 >= MAX_ENVIRONMENT)
            return -1;
        environment[used++] = *entry;
    }
    environment[used++] = port_setting;
    environment[used] = NULL;
    return 0;
}

/* Writes "cannot run BINARY: errno N" to standard error, with write()
 * alone: it runs in a child between fork() and exec(), where stdio and
 * strerror() are not safe. N is execve()'s error (2 ENOENT: no such file;
 * 13 EACCES: not allowed; 8 ENOEXEC: not a program). */
static void say_cannot_run(const char *binary, int error)
{
    static const char prefix[] = "cannot run ", middle[] = ": errno ";
    char digits[16];
    size_t at = sizeof digits;

    digits[--at] = '\n';
    do {
        digits[--at] = (char)('0' + error % 10);
        error /= 10;
    } while (error > 0 && at > 0);
    (void)!write(STDERR_FILENO, prefix, sizeof prefix - 1);
    (void)!write(STDERR_FILENO, binary, strlen(binary));
    (void)!write(STDERR_FILENO, middle, sizeof middle - 1);
    (void)!write(STDERR_FILENO, digits + at, sizeof digits - at);
}

/* Returns milliseconds on a monotonic clock, for the tests' deadlines. */
long long monotonic_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Reads one line from fd into line (size bytes) within seconds. Returns 0,
 * or -1 on a timeout or end of file. */
static int read_line(int fd, char *line, size_t size, int seconds)
{
    long long deadline = monotonic_ms() + seconds * 1000LL;
    size_t used = 0;

    while (used + 1 < size) {
        struct pollfd ready = { .fd = fd, .events = POLLIN };
        long long left = deadline - monotonic_ms();
        char c;

        if (left <= 0 || poll(&ready, 1, (int)left) <= 0)
            break;
        if (read(fd, &c, 1) != 1)
            break;
        if (c == '\n') {
            line[used] = '\0';
            return 0;
        }
        line[used++] = c;
    }
    line[used] = '\0';
    return -1;
}

/* Starts binary with PORT=port_text and waits up to 20 s for its first
 * line on stdout. Returns 0 when it printed "listening on ...", else -1
 * (the process is then reaped; first_line and stderr_path tell why). */
int server_start(struct server_process *server, const char *binary, const char *port_text)
{
    const char *temporary = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *environment[MAX_ENVIRONMENT];
    char port_setting[64];
    char *const arguments[] = { (char *)binary, NULL };
    int output[2] = { -1, -1 };
    pid_t parent = getpid();
    int error_fd, got_line;

    memset(server, 0, sizeof *server);
    server->pid = -1;
    snprintf(port_setting, sizeof port_setting, "PORT=%s", port_text);
    if (environment_with_port(environment, port_setting) != 0)
        return -1;
    snprintf(server->stderr_path, sizeof server->stderr_path,
             "%s/hi-server-stderr-XXXXXX", temporary);
    error_fd = mkstemp(server->stderr_path);
    if (error_fd < 0)
        return -1;
    if (pipe(output) != 0)
        goto fail;

    server->pid = fork();
    if (server->pid == 0) {
        /* If the test process dies first (a failed assertion ends a Check
         * child at once, skipping its teardown), the server must not live
         * on, holding a port: have the kernel send it SIGTERM. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);   /* the parent died before prctl took effect */
        dup2(output[1], STDOUT_FILENO);
        dup2(error_fd, STDERR_FILENO);
        close(output[0]);
        close(output[1]);
        close(error_fd);
        execve(binary, arguments, environment);
        say_cannot_run(binary, errno);
        _exit(127);
    }
    close(output[1]);
    output[1] = -1;
    close(error_fd);
    error_fd = -1;
    if (server->pid < 0)
        goto fail;

    got_line = read_line(output[0], server->first_line,
                         sizeof server->first_line, START_SECONDS) == 0;
    close(output[0]);   /* the server prints nothing after that line */
    if (got_line && sscanf(server->first_line, "listening on http://127.0.0.1:%d/hi",
                           &server->port) == 1 && server->port > 0)
        return 0;
    /* It failed to start. If it already exited, SIGKILL leaves its exit
     * status as it was; if it hangs, SIGKILL ends it. */
    server->exit_status = server_stop(server, SIGKILL);
    return -1;

fail:
    for (int i = 0; i < 2; i++)
        if (output[i] >= 0)
            close(output[i]);
    if (error_fd >= 0)
        close(error_fd);
    unlink(server->stderr_path);
    return -1;
}

/* ============================ Stopping =================================== */

/* Waits up to seconds for the process to exit by itself. Returns as
 * server_stop() does. */
int server_wait(struct server_process *server, int seconds)
{
    long long deadline = monotonic_ms() + seconds * 1000LL;
    int status;

    if (server->pid <= 0)
        return -1;
    for (;;) {
        pid_t done = waitpid(server->pid, &status, WNOHANG);

        if (done == server->pid)
            break;
        if (done < 0 || monotonic_ms() > deadline) {
            kill(server->pid, SIGKILL);
            waitpid(server->pid, &status, 0);
            server->pid = -1;
            return -1;
        }
        nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
    }
    server->pid = -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

/* Sends signal_number and waits up to 20 s for the exit. Returns the exit
 * status (0-255), 128+N when killed by signal N, or -1 on a timeout (the
 * process is then killed). */
int server_stop(struct server_process *server, int signal_number)
{
    if (server->pid <= 0)
        return -1;
    kill(server->pid, signal_number);
    return server_wait(server, STOP_SECONDS);
}

/* ============================ What it printed ============================ */

/* Returns a malloc'ed, NUL-terminated copy of the file at path, or NULL. */
static char *read_file(const char *path)
{
    FILE *file = fopen(path, "r");
    char *text = NULL;
    long size;

    if (file == NULL)
        return NULL;
    if (fseek(file, 0, SEEK_END) == 0 && (size = ftell(file)) >= 0 &&
        fseek(file, 0, SEEK_SET) == 0 && (text = malloc((size_t)size + 1)) != NULL) {
        size_t got = fread(text, 1, (size_t)size, file);

        text[got] = '\0';
    }
    fclose(file);
    return text;
}

/* Returns a malloc'ed copy of everything the server wrote to stderr (the
 * caller frees it), or NULL. */
char *server_stderr(const struct server_process *server)
{
    return read_file(server->stderr_path);
}

/* Runs binary to completion (at most seconds), its stdout and stderr both
 * going to a new file. Returns its exit status as server_wait() does and
 * sets *output to a malloc'ed copy of what it printed. */
int run_program(const char *binary, int seconds, char **output)
{
    char *const arguments[] = { (char *)binary, NULL };

    return run_program_with(binary, arguments, seconds, output);
}

/* The same with arguments (arguments[0] is the program's name, and a NULL
 * ends them). */
int run_program_with(const char *binary, char *const arguments[], int seconds, char **output)
{
    const char *temporary = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    struct server_process program = { .pid = -1 };
    int output_fd, status;

    *output = NULL;
    snprintf(program.stderr_path, sizeof program.stderr_path,
             "%s/hi-program-output-XXXXXX", temporary);
    output_fd = mkstemp(program.stderr_path);
    if (output_fd < 0)
        return -1;
    program.pid = fork();
    if (program.pid == 0) {
        dup2(output_fd, STDOUT_FILENO);
        dup2(output_fd, STDERR_FILENO);
        close(output_fd);
        execv(binary, arguments);
        say_cannot_run(binary, errno);
        _exit(127);
    }
    close(output_fd);
    status = server_wait(&program, seconds);
    *output = read_file(program.stderr_path);
    unlink(program.stderr_path);
    return status;
}
