/*
 * http_client.h - a deliberately small HTTP/1.1 client for the tests.
 *
 * It sends bytes exactly as given and keeps the exact bytes it got back,
 * so tests can compare whole responses and send malformed requests.
 *
 * The contract of each function is in http_client.c, next to its code.
 */
#ifndef HTTP_CLIENT_H
#define HTTP_CLIENT_H

#include <stddef.h>

#define HTTP_RESPONSE_MAX 16384

struct http_response {
    int status;                     /* from the status line */
    char raw[HTTP_RESPONSE_MAX + 1];  /* everything received, NUL-ended */
    size_t raw_length;
    size_t header_length;           /* raw[0..header_length) ends "\r\n\r\n" */
    const char *body;               /* points into raw */
    size_t body_length;
};

int http_connect(int port);
int http_send(int fd, const char *request, size_t length);
int http_read_response(int fd, struct http_response *response);
int http_exchange(int port, const char *request, size_t length, struct http_response *response);
int http_get(int port, const char *target, struct http_response *response);
const char *http_header(const struct http_response *response, const char *name,
                        size_t *length);

#endif
