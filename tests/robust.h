/*
 * robust.h - hostile and overload tests against the live server.
 */
#ifndef ROBUST_H
#define ROBUST_H

#include <check.h>

/* Returns the "robust" test case: each test starts its own server from
 * $HI_SERVER, attacks it, and then checks it still answers correctly. */
TCase *robust_tcase(void);

#endif
