/*
 * civet_writer.c - sends a struct response over a civetweb connection.
 *
 * Why not mg_send_http_ok() and mg_write()? In civetweb 1.15 that pair
 * sends the status line, each header and the body as about ten small
 * writes. With keep-alive, Nagle's algorithm sends the first at once,
 * then holds every later small segment while one is unacknowledged: the
 * rest of the response waits for the client's delayed ACK of the first,
 * about 40 ms, and the server tops out near 1,100 requests per second. So the whole response is
 * formatted into one buffer and leaves in a single mg_write(). The server
 * also sets tcp_nodelay=1, which covers the rare two-write case below.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "civet_writer.h"

/* Headers plus a typical body fit here; larger bodies take a second write. */
#define CIVET_WRITER_BUFFER 1024

/* ============================ Keep-alive ================================= */

/* Returns 1 when the comma-separated header value has token, in any case. */
static int header_has_token(const char *value, const char *token)
{
    size_t token_length = strlen(token);

    while (*value != '\0') {
        value += strspn(value, " \t,");
        size_t length = strcspn(value, ",");
        size_t trimmed = length;

        while (trimmed > 0 && (value[trimmed - 1] == ' ' || value[trimmed - 1] == '\t'))
            trimmed--;
        if (trimmed == token_length && strncasecmp(value, token, token_length) == 0)
            return 1;
        value += length;
    }
    return 0;
}

/* Returns 1 when civetweb will keep this connection open after the
 * response. It is the rule civetweb's should_keep_alive() applies: with a
 * Connection header, only if it lists keep-alive; without one, only for
 * HTTP/1.1. Telling the client the same thing avoids surprises. civetweb
 * may still close after a request it could not fully read (its internal
 * must_close flag, which no public call shows); this endpoint's requests
 * have no body, so that does not arise here. */
static int keeps_alive(const struct mg_connection *connection)
{
    const struct mg_request_info *info = mg_get_request_info(connection);
    const char *header = mg_get_header(connection, "Connection");

    if (header != NULL)
        return header_has_token(header, "keep-alive");
    return info->http_version != NULL && strcmp(info->http_version, "1.1") == 0;
}

/* ============================ Sending ==================================== */

/* Returns 0 when all length bytes went out, -1 otherwise. */
static int write_all(struct mg_connection *connection, const char *bytes, size_t length)
{
    if (length == 0)
        return 0;
    return mg_write(connection, bytes, length) == (int)length ? 0 : -1;
}

/* The send method: one buffer, one write (two under NAGLE_DEMO). */
static int civet_send(struct response_writer *writer, const struct response *response)
{
    struct civet_writer *w = (struct civet_writer *)writer;
    char buffer[CIVET_WRITER_BUFFER];
    int header_length;

    header_length = snprintf(buffer, sizeof buffer,
                             "HTTP/1.1 %d %s\r\n"
                             "Content-Type: %s\r\n"
                             "Content-Length: %zu\r\n"
                             "Connection: %s\r\n"
                             "%s"
                             "\r\n",
                             response->status, status_text(response->status),
                             response->content_type, response->body_length,
                             keeps_alive(w->connection) ? "keep-alive" : "close",
                             response->extra_headers ? response->extra_headers : "");
    if (header_length < 0 || (size_t)header_length >= sizeof buffer)
        return -1;
    w->status = response->status;

    /* make nagle builds this file with NAGLE_DEMO: headers and body in
     * two writes, as civetweb's own mg_send_http_ok() would, to show the
     * stall that one write avoids. */
    if (!NAGLE_DEMO && (size_t)header_length + response->body_length <= sizeof buffer) {
        memcpy(buffer + header_length, response->body, response->body_length);
        return write_all(w->connection, buffer,
                         (size_t)header_length + response->body_length);
    }
    if (write_all(w->connection, buffer, (size_t)header_length) != 0)
        return -1;
    return write_all(w->connection, response->body, response->body_length);
}

/* Binds w to one request's connection. Nothing is allocated, so a writer
 * on the stack per request costs nothing. */
void civet_writer_init(struct civet_writer *w, struct mg_connection *connection)
{
    w->writer.send = civet_send;
    w->connection = connection;
    w->status = 0;
}
