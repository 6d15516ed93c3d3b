/*
 * civet_writer.h - a response writer over a civetweb connection.
 */
#ifndef CIVET_WRITER_H
#define CIVET_WRITER_H

#include <civetweb.h>

#include "response.h"

/* make nagle builds the server with NAGLE_DEMO=1: Nagle's algorithm left
 * on (server.c) and each response sent in two writes (civet_writer.c). */
#ifndef NAGLE_DEMO
#define NAGLE_DEMO 0
#endif

struct civet_writer {
    struct response_writer writer;  /* must stay first */
    struct mg_connection *connection;
    int status;                     /* what was sent, 0 before that */
};

void civet_writer_init(struct civet_writer *w, struct mg_connection *connection);

#endif
