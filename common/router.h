/*
 * router.h - maps a request line to a handler.
 */
#ifndef ROUTER_H
#define ROUTER_H

#include "response.h"

void route_request(struct response_writer *writer, const char *method,
                   const char *path, const char *query);

#endif
