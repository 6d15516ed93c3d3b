/*
 * check_suite.c - the helpers several files of the suite share: see
 * check_suite.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_suite.h"
#include "server_process.h"

/* How many results of quote() can be in use at once: enough for one message. */
#define QUOTE_SLOTS 8

/* The longest quoted text one slot holds, quotes and escapes included. */
#define QUOTE_MAX 700

/* Returns $name, failing the test with a clear message when it is unset. */
const char *required_environment(const char *name)
{
    const char *value = getenv(name);

    ck_assert_msg(value != NULL && *value != '\0',
                  "%s is not set: run the suite through `make stageN test`", name);
    return value;
}

/* Returns 1 when text contains needle (text may be NULL). */
int contains(const char *text, const char *needle)
{
    return text != NULL && strstr(text, needle) != NULL;
}

/* The most of a program's output one failure message shows: Check refuses
 * a message much longer ("Message string too long"), and a report's
 * start says what happened. */
#define EXCERPT_MAX 1800

/* Returns text, or, when it is longer than EXCERPT_MAX bytes, its first
 * EXCERPT_MAX bytes and a line saying how many were left out. The cut
 * copy lives in a buffer of the calling thread that the next call
 * overwrites: one excerpt per message. */
const char *excerpt(const char *text)
{
    static _Thread_local char cut[EXCERPT_MAX + 64];
    size_t length;

    if (text == NULL)
        return "(no output)";
    length = strlen(text);
    if (length <= EXCERPT_MAX)
        return text;
    snprintf(cut, sizeof cut, "%.*s\n... (%zu more bytes)", EXCERPT_MAX, text, length - EXCERPT_MAX);
    return cut;
}

/* ============================ Quoting ==================================== */

/* Returns length bytes quoted the way Go's %q quotes them, for failure
 * messages: "color=red\x00", with \" \\ \n \r \t, and \xHH for every
 * other byte outside printable ASCII. NULL gives NULL, unquoted; a very
 * long input is cut, and says so. The text lives in one of the calling
 * thread's QUOTE_SLOTS buffers, which the next QUOTE_SLOTS - 1 calls leave
 * alone: enough for any one message. ck_assert_msg() evaluates its
 * arguments only when the check fails, so passing tests never quote. */
const char *quote_bytes(const char *bytes, size_t length)
{
    static _Thread_local char slots[QUOTE_SLOTS][QUOTE_MAX + 48];
    static _Thread_local unsigned next;
    char *out = slots[next++ % QUOTE_SLOTS];
    size_t used = 0, i;

    if (bytes == NULL)
        return "NULL";
    out[used++] = '"';
    for (i = 0; i < length && used < QUOTE_MAX; i++) {
        unsigned char c = (unsigned char)bytes[i];

        switch (c) {
        case '"':  used += (size_t)sprintf(out + used, "\\\""); break;
        case '\\': used += (size_t)sprintf(out + used, "\\\\"); break;
        case '\n': used += (size_t)sprintf(out + used, "\\n"); break;
        case '\r': used += (size_t)sprintf(out + used, "\\r"); break;
        case '\t': used += (size_t)sprintf(out + used, "\\t"); break;
        default:
            if (c >= 0x20 && c < 0x7f)
                out[used++] = (char)c;
            else
                used += (size_t)sprintf(out + used, "\\x%02x", c);
        }
    }
    out[used++] = '"';
    out[used] = '\0';
    if (i < length)
        sprintf(out + used, "... (%zu bytes)", length);
    return out;
}

/* The same for a NUL-ended string (or NULL). */
const char *quote(const char *text)
{
    return quote_bytes(text, text != NULL ? strlen(text) : 0);
}

/* ============================ Servers ==================================== */

/* Returns why server did not start, for a message: its first line, exit
 * status and what it wrote to stderr, quoted (in quote()'s slots). Removes
 * its stderr file. */
const char *start_failure(struct server_process *server)
{
    static _Thread_local char text[3 * QUOTE_MAX];
    char *errors = server_stderr(server);

    snprintf(text, sizeof text, "first line %s, exit status %d, stderr %s",
             quote(server->first_line), server->exit_status, quote(errors));
    free(errors);
    unlink(server->stderr_path);
    return text;
}

/* Starts the server binary that $variable names on a free port (PORT=0)
 * into server. Returns only once it listens; otherwise fails the test,
 * saying what the server said. */
void start_server(struct server_process *server, const char *variable)
{
    const char *binary = required_environment(variable);

    if (server_start(server, binary, "0") != 0)
        ck_abort_msg("%s did not start: %s", binary, start_failure(server));
}

/* ============================ Mismatches ================================= */

/* Appends one field's "name GOT, want WANT" to m, on a line of its own,
 * indented, so that a failing row reads in a terminal's width; what does
 * not fit is cut. */
static void mismatch_add(struct mismatch *m, const char *format, ...)
{
    char field[sizeof m->text];
    va_list arguments;

    va_start(arguments, format);
    vsnprintf(field, sizeof field, format, arguments);
    va_end(arguments);
    snprintf(m->text + m->used, sizeof m->text - m->used, "%s%s", m->used > 0 ? ";\n  " : "\n  ", field);
    m->used += strlen(m->text + m->used);
}

/* A struct mismatch collects what differs, one field at a time: each
 * field that differs adds "name GOT, want WANT", with "; " between them.
 * The test then asserts that m.used is 0, printing its input and m.text
 * when it is not: one check that names everything that went wrong.
 *
 * Adds "field GOT, want WANT" when the numbers differ. */
void mismatch_int(struct mismatch *m, const char *field, long got, long want)
{
    if (got != want)
        mismatch_add(m, "%s %ld, want %ld", field, got, want);
}

/* Adds field "GOT", want "WANT" when the strings (or NULLs) differ. */
void mismatch_string(struct mismatch *m, const char *field, const char *got, const char *want)
{
    if (got == NULL || want == NULL ? got != want : strcmp(got, want) != 0)
        mismatch_add(m, "%s %s,\n    want %s", field, quote(got), quote(want));
}

/* Adds field "GOT", want "WANT" when the byte strings differ. */
void mismatch_bytes(struct mismatch *m, const char *field, const char *got, size_t got_length,
                    const char *want, size_t want_length)
{
    if (got_length != want_length || (got_length > 0 && memcmp(got, want, got_length) != 0))
        mismatch_add(m, "%s %s,\n    want %s", field, quote_bytes(got, got_length),
                     quote_bytes(want, want_length));
}

/* ============================ Responses ================================== */

/* Asserts response is byte for byte the given status line, headers and
 * body. A failure names what was sent (request) and prints both responses,
 * quoted. */
void assert_response_bytes(const char *request, const struct http_response *response,
                           const char *status_line, const char *content_type, const char *extra,
                           const char *body, const char *connection)
{
    char expected[1024];
    int length = snprintf(expected, sizeof expected,
                          "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                          "Connection: %s\r\n%s\r\n%s",
                          status_line, content_type, strlen(body), connection, extra, body);

    ck_assert_msg(length > 0 && (size_t)length < sizeof expected, "expected response too long");
    ck_assert_msg(response->raw_length == (size_t)length &&
                  memcmp(response->raw, expected, (size_t)length) == 0,
                  "request %s: response %s, want %s", quote(request),
                  quote_bytes(response->raw, response->raw_length), quote(expected));
}
