/*
 * check_suite.h - what the files of the shared Check suite share.
 *
 * The suite is one test binary per stage, built from every tests/check_*.c
 * (see mk/build.mk). Each of those files checks one
 * concern and ends with one registration function, declared below, that
 * returns its test case; check_main.c puts them together into the Suite.
 *
 *   check_contract.c  contract_tcase()  "handler"  the contract, through the recorder
 *   check_live.c      live_tcase()      "live"     the same against the live server
 *   check_process.c   process_tcase()   "process"  PORT, signals, a busy port, stop time
 *   check_robust.c    robust_tcase()    "robust"   hostile and overloading clients
 *   check_race.c      race_tcase()      "race"     ThreadSanitizer's verdict
 *
 * What the suite knows of the unit it checks (the stage whose
 * expectations apply, whether it must be race-free or must show its
 * race) is in unit.h's constants, which the Makefile sets per unit.
 *
 * The contract of each helper is in check_suite.c, next to its code.
 */
#ifndef CHECK_SUITE_H
#define CHECK_SUITE_H

#include <check.h>
#include <stddef.h>

#include "http_client.h"
#include "unit.h"

/* The body of every 400 answer. */
#define INVALID_BODY "Optional color is invalid\n"

/* The number of elements of a table. */
#define COUNT(array) ((int)(sizeof(array) / sizeof((array)[0])))

/* ============================ The test cases ============================= */

TCase *contract_tcase(void);
TCase *live_tcase(void);
TCase *process_tcase(void);
TCase *robust_tcase(void);
TCase *race_tcase(void);

/* Queries that must be answered 400 without touching the counter: the
 * hostile table, defined in check_contract.c and sent again to the live
 * server by check_live.c. */
extern const char *const invalid_queries[];
extern const int invalid_query_count;

/* ============================ Helpers ==================================== */

/* A failure message built field by field, like a Go test's t.Errorf. */
struct mismatch {
    char text[3072];
    size_t used;   /* 0 while nothing differs */
};

const char *required_environment(const char *name);
int contains(const char *text, const char *needle);
const char *excerpt(const char *text);
const char *quote_bytes(const char *bytes, size_t length);
const char *quote(const char *text);
struct server_process;
const char *start_failure(struct server_process *server);
void start_server(struct server_process *server, const char *variable);
void mismatch_int(struct mismatch *m, const char *field, long got, long want);
void mismatch_string(struct mismatch *m, const char *field, const char *got, const char *want);
void mismatch_bytes(struct mismatch *m, const char *field, const char *got, size_t got_length,
                    const char *want, size_t want_length);
void assert_response_bytes(const char *request, const struct http_response *response,
                           const char *status_line, const char *content_type, const char *extra,
                           const char *body, const char *connection);

#endif
