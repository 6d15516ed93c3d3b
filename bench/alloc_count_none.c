/*
 * alloc_count_none.c - for builds whose malloc must not be counted.
 *
 * The profiling builds link tcmalloc or gperftools' profiler, whose
 * malloc must not be replaced; bench-uncounted (the instruction count, and
 * the profile-guided build) keeps glibc's malloc untouched, so that the
 * counting's own instructions stay out of the count. They link this file
 * instead of alloc_count.c, and the harness leaves out B/op and allocs/op.
 */
#include "alloc_count.h"

/* Returns 0: this build does not count. */
int alloc_totals(struct alloc_totals *totals)
{
    totals->allocations = 0;
    totals->bytes = 0;
    return 0;
}
