/*
 * hi.h - what every stage implements: the GET /hi handler.
 *
 * Each stages/NN-name/hi.c defines these three functions and nothing
 * else is different between stages. The server, the tests, the
 * benchmarks and the profiles all link against one stage's hi.c. Their
 * contracts are here, once; each stage's comments say how it keeps them.
 */
#ifndef HI_H
#define HI_H

#include "response.h"

/* Prepares the stage's shared state. Returns 0, or -1 after printing why
 * to stderr. Called once, before any request. */
int hi_init(void);

/* Answers GET /hi: sends exactly one response to writer. A valid color
 * gets the welcome page (200) with the next visitor number; any other gets
 * 400 and takes no number; 500 only if memory runs out or pcre2 fails. query is the raw
 * query string, or NULL when the URL had none. Safe to call from many
 * threads at once - except where a stage's lesson is that it is not.
 *
 * noinline: route_request() (router.c) calls it directly, for the server
 * and the benchmarks alike, and whole-program optimization (OPTIMIZE=
 * "-O3 -flto") would fold it in there, where no profile and no
 * instruction count could find it. */
__attribute__((noinline)) void hi_handle(struct response_writer *writer, const char *query);

/* Frees what hi_init made. Called once, after the last request. */
void hi_shutdown(void);

#endif
