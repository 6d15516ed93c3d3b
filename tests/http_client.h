/*
 * http_client.h - a deliberately small HTTP/1.1 client for the tests.
 *
 * It sends bytes exactly as given and keeps the exact bytes it got back,
 * so tests can compare whole responses and send malformed requests.
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

/* Returns a socket connected to 127.0.0.1:port with 10 s send and receive
 * timeouts, or -1. */
int http_connect(int port);

/* Sends length bytes of request on fd. Returns 0, or -1. */
int http_send(int fd, const char *request, size_t length);

/* Reads one response (headers and Content-Length bytes of body) from fd.
 * Returns 0, or -1 on a timeout, a closed connection or malformed bytes. */
int http_read_response(int fd, struct http_response *response);

/* Connects, sends "GET target HTTP/1.1" and reads the response into
 * response. Returns 0, or -1. */
int http_get(int port, const char *target, struct http_response *response);

/* Returns a pointer to the value of header name in response (the text
 * after "Name: ", ending at "\r\n"), or NULL. Sets *length to its length. */
const char *http_header(const struct http_response *response, const char *name,
                        size_t *length);

#endif
