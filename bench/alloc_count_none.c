/*
 * alloc_count_none.c - for builds that keep another allocator.
 *
 * Profiling builds link tcmalloc or gperftools' profiler, whose malloc
 * must not be replaced; they link this file instead of alloc_count.c and
 * the benchmark harness leaves out B/op and allocs/op.
 */
#include "alloc_count.h"

/* Returns 0: this build does not count (the profiling builds run on
 * tcmalloc or gperftools, which must own malloc themselves). */
int alloc_totals(struct alloc_totals *totals)
{
    totals->allocations = 0;
    totals->bytes = 0;
    return 0;
}
