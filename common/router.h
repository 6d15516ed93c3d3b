/*
 * router.h - maps a request line to a handler.
 */
#ifndef ROUTER_H
#define ROUTER_H

#include "response.h"

/* Sends the response for one request: /hi goes to the stage's handler
 * (GET only, else 405), any other path gets 404. path is the decoded path
 * without the query; query may be NULL. */
void route_request(struct response_writer *writer, const char *method,
                   const char *path, const char *query);

#endif
