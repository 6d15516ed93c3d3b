/*
 * http_client.c - see http_client.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "http_client.h"

/* ============================ Sending ==================================== */

/* Returns a socket connected to 127.0.0.1:port with 10 s send and receive
 * timeouts, or -1. */
int http_connect(int port)
{
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    struct timeval timeout = { .tv_sec = 10 };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends length bytes of request on fd. Returns 0, or -1. */
int http_send(int fd, const char *request, size_t length)
{
    while (length > 0) {
        ssize_t sent = send(fd, request, length, MSG_NOSIGNAL);

        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            return -1;
        request += sent;
        length -= (size_t)sent;
    }
    return 0;
}

/* ============================ Reading ==================================== */

/* Returns a pointer to the value of header name in response (the text
 * after "Name: ", ending at "\r\n"), or NULL. Sets *length to its length. */
const char *http_header(const struct http_response *response, const char *name,
                        size_t *length)
{
    size_t name_length = strlen(name);
    const char *line = strstr(response->raw, "\r\n");

    /* Walk the header lines after the status line. */
    while (line != NULL && (size_t)(line - response->raw) + 2 < response->header_length) {
        line += 2;
        const char *end = strstr(line, "\r\n");

        if (end == NULL)
            return NULL;
        if ((size_t)(end - line) > name_length + 1 && line[name_length] == ':' &&
            strncasecmp(line, name, name_length) == 0) {
            const char *value = line + name_length + 1;

            value += strspn(value, " \t");
            *length = (size_t)(end - value);
            return value;
        }
        line = end;
    }
    return NULL;
}

/* Returns the Content-Length of the headers read so far, or -1 when it is
 * missing or not a number: this server must always send one. */
static long content_length(const struct http_response *response)
{
    size_t length;
    const char *value = http_header(response, "Content-Length", &length);
    char *end;
    long number;

    if (value == NULL || length == 0)
        return -1;
    number = strtol(value, &end, 10);
    return end == value + length && number >= 0 ? number : -1;
}

/* Reads one response (headers and Content-Length bytes of body) from fd.
 * Returns 0, or -1 on a timeout, a closed connection or malformed bytes. */
int http_read_response(int fd, struct http_response *response)
{
    long body_length = -1;
    char *header_end = NULL;

    memset(response, 0, offsetof(struct http_response, raw));
    response->raw_length = 0;
    response->raw[0] = '\0';
    for (;;) {
        if (header_end != NULL &&
            response->raw_length >= response->header_length + (size_t)body_length)
            break;
        if (response->raw_length == HTTP_RESPONSE_MAX)
            return -1;
        ssize_t got = recv(fd, response->raw + response->raw_length,
                           HTTP_RESPONSE_MAX - response->raw_length, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        response->raw_length += (size_t)got;
        response->raw[response->raw_length] = '\0';
        if (header_end == NULL && (header_end = strstr(response->raw, "\r\n\r\n")) != NULL) {
            response->header_length = (size_t)(header_end - response->raw) + 4;
            body_length = content_length(response);
            if (body_length < 0 || sscanf(response->raw, "HTTP/1.%*d %d", &response->status) != 1)
                return -1;
        }
    }
    /* One request, one response: anything more is a server bug. */
    if (response->raw_length != response->header_length + (size_t)body_length)
        return -1;
    response->body = response->raw + response->header_length;
    response->body_length = (size_t)body_length;
    return 0;
}

/* ============================ One whole exchange ========================= */

/* Connects to port, sends the length bytes of request and reads the
 * response into response. Returns 0; -1 when no well-formed response
 * came back (or the request could not be sent); -2 when it could not
 * connect, which tells a dead server from one that rejects the bytes. */
int http_exchange(int port, const char *request, size_t length, struct http_response *response)
{
    int fd = http_connect(port);
    int result = -1;

    if (fd < 0)
        return -2;
    if (http_send(fd, request, length) == 0)
        result = http_read_response(fd, response);
    close(fd);
    return result;
}

/* Sends "GET target HTTP/1.1" on a new connection and reads the response
 * into response. Returns 0, or -1. */
int http_get(int port, const char *target, struct http_response *response)
{
    char request[8192];
    int length = snprintf(request, sizeof request,
                          "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", target);

    if (length <= 0 || (size_t)length >= sizeof request)
        return -1;
    return http_exchange(port, request, (size_t)length, response) == 0 ? 0 : -1;
}
