/*
 * contention.c - a mutex contention profiler, loaded with LD_PRELOAD.
 *
 * Go has `go test -blockprofile`; C on Debian has no packaged equivalent
 * (mutrace is not packaged, and `perf lock` sees only kernel locks). This
 * library fills the gap. It defines pthread_mutex_lock and
 * pthread_mutex_unlock, so every lock in the program comes here first:
 *
 *   1. try the lock without waiting; if that works, nothing is recorded;
 *   2. otherwise time the real, blocking lock, and note the call site;
 *   3. once the caller gives the lock back, walk its frame pointers for
 *      the rest of the stack and add the wait to the thread's own tally
 *      for that stack, which a lock-free table collects.
 *
 * An instrument must not change what it measures, and a lock profiler
 * easily does. Work between the failed try and the wait (a backtrace()
 * takes over a microsecond) lets the holder finish first, so the wait it
 * came to record does not happen and the program runs faster under the
 * profiler; work while holding the lock lengthens the critical section
 * and makes the others wait longer. So the only work before waiting is a
 * clock read, and with the lock held a second one and a few stores. A
 * lock taken while another is held, and a recursive mutex locked again,
 * keep their waits apart until each is given back.
 *
 * What it cannot see: locks taken inside glibc (malloc's arenas, stdio),
 * the re-lock inside pthread_cond_wait, pthread_mutex_timedlock and
 * clocklock, rwlocks and spin locks. Frame pointers: stacks stop at the
 * first library frame built without them (Debian's glibc, pcre2), which
 * is why the program itself is built with -fno-omit-frame-pointer.
 *
 * At exit it writes the totals in gperftools' "--- contention" format to
 * $CONTENTION_PROFILE, which google-pprof reads like any other profile:
 *
 *   CONTENTION_PROFILE=block.prof LD_PRELOAD=./libcontention.so ./bench
 *   google-pprof --text --contentions ./bench block.prof
 *
 * and, beside it in $CONTENTION_PROFILE.locks, which mutex each wait was
 * for: per mutex, its address, the contended calls and the time they
 * waited, and the file it lies in with its offset there, from which
 * profiles/locknames.py finds the variable's name in the symbol table.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DEPTH 32
#define TABLE_SIZE 4096   /* distinct stacks kept (a power of two); more are lost */

/* Thread-local state must not cost a __tls_get_addr call on every lock:
 * initial-exec TLS is one %fs-relative access, and works for a library
 * loaded with LD_PRELOAD at start-up. */
#define THREAD_LOCAL _Thread_local __attribute__((tls_model("initial-exec")))

/* ============================ State ====================================== */

struct contended_stack {
    atomic_ullong key;            /* hash of the frames and mutex; 0 while free */
    atomic_int ready;             /* frames written */
    pthread_mutex_t *mutex;       /* the lock waited for */
    int depth;
    void *frames[MAX_DEPTH];
    atomic_ullong wait_ns;        /* total time spent blocked */
    atomic_ullong count;          /* how many times it blocked */
};

/* One wait, held by its thread until the lock is given back. */
struct pending_wait {
    pthread_mutex_t *mutex;
    int nesting;                  /* re-locks of a recursive mutex, not yet undone */
    unsigned long long wait_ns;
    uintptr_t call_site;          /* return address of the lock call */
    uintptr_t *locker_frame;      /* frame of the function that locked */
    int depth;
    void *frames[MAX_DEPTH];
};

static int (*real_mutex_lock)(pthread_mutex_t *mutex);
static int (*real_mutex_unlock)(pthread_mutex_t *mutex);
static struct contended_stack table[TABLE_SIZE];
static atomic_ullong lost_waits;

/* Set while this thread is inside the profiler, so that a lock the
 * profiler itself would take through pthread_mutex_lock (a malloc that
 * locks that way, or stdio while the profile is written) goes straight
 * to the real function instead of being recorded. glibc's own internal
 * locks never come here; this is cheap insurance for the rest. */
static THREAD_LOCAL int inside;
/* The waits this thread has not filed yet: one per contended lock it
 * still holds, innermost last. A lock taken inside another stays apart
 * from it, so nothing is filed while a lock is held. */
#define MAX_PENDING 4
static THREAD_LOCAL struct pending_wait pending[MAX_PENDING];
static THREAD_LOCAL int pending_count;
/* This thread's stack, where frame pointers may be followed. */
static THREAD_LOCAL uintptr_t stack_low, stack_high;

/* Returns nanoseconds on a monotonic clock. */
static unsigned long long now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (unsigned long long)t.tv_sec * 1000000000ULL + (unsigned long long)t.tv_nsec;
}

/* ============================ Stacks ===================================== */

/* Learns the calling thread's stack bounds, once per thread. Returns 1
 * when they are known. pthread_getattr_np may allocate and lock, so the
 * caller must have set `inside`. */
static int know_stack(void)
{
    pthread_attr_t attributes;
    void *low;
    size_t size;

    if (stack_high != 0)
        return 1;
    if (pthread_getattr_np(pthread_self(), &attributes) != 0)
        return 0;
    if (pthread_attr_getstack(&attributes, &low, &size) == 0) {
        stack_low = (uintptr_t)low;
        stack_high = (uintptr_t)low + size;
    }
    pthread_attr_destroy(&attributes);
    return stack_high != 0;
}

/* Walks the frame-pointer chain up from frame, storing return addresses
 * in frames[0..max). Every step must move up the stack and stay on it, so
 * a frame built without a frame pointer ends the walk instead of sending
 * it astray. Returns the number stored. */
static int walk_stack(uintptr_t *frame, void **frames, int max)
{
    int depth = 0;

    while (depth < max && (uintptr_t)frame >= stack_low &&
           (uintptr_t)frame + 2 * sizeof(uintptr_t) <= stack_high &&
           (uintptr_t)frame % sizeof(uintptr_t) == 0) {
        uintptr_t next = frame[0], return_address = frame[1];

        if (return_address == 0)
            break;
        frames[depth++] = (void *)return_address;
        if (next <= (uintptr_t)frame)
            break;
        frame = (uintptr_t *)next;
    }
    return depth;
}

/* Fills in wait's stack, after the lock was given back. The line that
 * locked is its call site; the callers above it are read from the
 * locking function's frame, which is still live when the same function
 * unlocks (unlocker_frame is its frame too), the usual case. A lock given
 * back elsewhere keeps only the call site. */
static void complete_stack(struct pending_wait *wait, uintptr_t *unlocker_frame)
{
    /* A return address points just past its call. pprof steps back into
     * the call for every frame but the first, so that it charges the line
     * that called; the first (the line that locked) is ours to adjust. */
    wait->frames[0] = (void *)(wait->call_site - 1);
    wait->depth = 1;
    if (unlocker_frame == wait->locker_frame && know_stack())
        wait->depth += walk_stack(wait->locker_frame, wait->frames + 1, MAX_DEPTH - 1);
}

/* ============================ The table ================================== */

/* Returns a hash of mutex and frames[0..depth), never 0 (0 marks a free
 * slot). */
static unsigned long long hash_frames(const pthread_mutex_t *mutex, void *const *frames, int depth)
{
    unsigned long long hash = 14695981039346656037ULL ^ (uintptr_t)mutex;   /* FNV-1a */

    hash *= 1099511628211ULL;
    for (int i = 0; i < depth; i++) {
        hash ^= (uintptr_t)frames[i];
        hash *= 1099511628211ULL;
    }
    return hash ? hash : 1;
}

/* Returns whether slot holds the stack frames[0..depth) of waits for
 * mutex. */
static int same_stack(const struct contended_stack *slot, const pthread_mutex_t *mutex,
                      void *const *frames, int depth)
{
    return slot->mutex == mutex && slot->depth == depth &&
           memcmp(slot->frames, frames, (size_t)depth * sizeof frames[0]) == 0;
}

/* Returns the table's slot for the waits for mutex at the stack
 * frames[0..depth), claiming a free one for a new stack, or NULL when the
 * table is full. Open addressing, a slot claimed with one
 * compare-and-swap: no lock. A thread that finds a slot being claimed
 * waits while its claimer copies the frames in, a few nanoseconds
 * (unless the claimer loses its CPU then). */
static struct contended_stack *find_slot(pthread_mutex_t *mutex, void *const *frames, int depth)
{
    unsigned long long key = hash_frames(mutex, frames, depth);
    size_t size = (size_t)depth * sizeof frames[0];

    for (unsigned i = 0; i < TABLE_SIZE; i++) {
        struct contended_stack *slot = &table[(key + i) & (TABLE_SIZE - 1)];
        unsigned long long seen = atomic_load_explicit(&slot->key, memory_order_acquire);

        if (seen == 0) {
            unsigned long long expected = 0;

            if (atomic_compare_exchange_strong(&slot->key, &expected, key)) {
                slot->mutex = mutex;
                slot->depth = depth;
                memcpy(slot->frames, frames, size);
                atomic_store_explicit(&slot->ready, 1, memory_order_release);
                seen = key;
            } else {
                seen = expected;   /* another thread claimed it first */
            }
        }
        if (seen != key)
            continue;
        while (!atomic_load_explicit(&slot->ready, memory_order_acquire))
            ;   /* its claimer is copying the frames in: a few nanoseconds */
        if (same_stack(slot, mutex, frames, depth))
            return slot;
    }
    return NULL;
}

/* ============================ Each thread's tally ======================== */

/* Waits at the stack a thread waited at last time are added up in the
 * thread's own tally, not in the shared table: two threads adding to one
 * slot would pass its cache line back and forth after every unlock, and
 * that delay would change how often they contend. The tally goes into the
 * table when the thread waits at another stack, when it exits, and at the
 * end of the program. That last read is exact only when every thread was
 * joined first, as the benchmarks and the server do: a thread still
 * running may add its last wait between the read and the reset, and have
 * it counted twice, or lost. */
struct tally {
    struct contended_stack *_Atomic slot;   /* where the tally goes; NULL: empty */
    atomic_ullong wait_ns, count;   /* not in the slot yet (read at exit) */
};

#define MAX_TALLIES 1024            /* live threads that ever waited */

static THREAD_LOCAL struct tally tally;
static THREAD_LOCAL int tally_registered;
static struct tally *_Atomic tallies[MAX_TALLIES];
static pthread_key_t tally_key;     /* its destructor files a thread's tally */
static int tally_key_made;          /* 0 if pthread_key_create failed */

/* Adds a tally to its slot and empties it. */
static void file_tally(struct tally *t)
{
    unsigned long long count = atomic_exchange_explicit(&t->count, 0, memory_order_relaxed);
    unsigned long long wait_ns = atomic_exchange_explicit(&t->wait_ns, 0, memory_order_relaxed);

    struct contended_stack *slot = atomic_load_explicit(&t->slot, memory_order_relaxed);

    if (slot != NULL && count > 0) {
        atomic_fetch_add_explicit(&slot->count, count, memory_order_relaxed);
        atomic_fetch_add_explicit(&slot->wait_ns, wait_ns, memory_order_relaxed);
    }
}

/* The key's destructor: a thread exits; its tally goes into the table. */
static void thread_exits(void *registered)
{
    struct tally *_Atomic *entry = registered;

    file_tally(&tally);
    atomic_store(entry, NULL);
}

/* Makes the calling thread's tally known, so that it is filed when the
 * thread exits, or at the end of the program if it is still running. */
static void register_tally(void)
{
    tally_registered = 1;
    if (!tally_key_made)
        return;   /* nothing would file it when the thread exits: its last tally is lost */
    for (int i = 0; i < MAX_TALLIES; i++) {
        struct tally *free_entry = NULL;

        if (atomic_compare_exchange_strong(&tallies[i], &free_entry, &tally)) {
            pthread_setspecific(tally_key, &tallies[i]);
            return;
        }
    }
}

/* Adds one wait: to this thread's tally when it is at the same stack,
 * for the same mutex, as the last, else to the table through a new
 * tally. */
static void file_wait(const struct pending_wait *wait)
{
    struct contended_stack *slot = atomic_load_explicit(&tally.slot, memory_order_relaxed);

    if (slot == NULL || !same_stack(slot, wait->mutex, wait->frames, wait->depth)) {
        if (!tally_registered)
            register_tally();
        file_tally(&tally);
        slot = find_slot(wait->mutex, wait->frames, wait->depth);
        atomic_store_explicit(&tally.slot, slot, memory_order_relaxed);
        if (slot == NULL) {
            atomic_fetch_add_explicit(&lost_waits, 1, memory_order_relaxed);
            return;
        }
    }
    /* Only this thread writes its tally: a load and a store, no locked
     * instruction. */
    atomic_store_explicit(&tally.count, atomic_load_explicit(&tally.count, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_store_explicit(&tally.wait_ns,
                          atomic_load_explicit(&tally.wait_ns, memory_order_relaxed) + wait->wait_ns,
                          memory_order_relaxed);
}

/* Returns the index of this thread's innermost pending wait for mutex,
 * or -1. */
static int pending_index(const pthread_mutex_t *mutex)
{
    for (int i = pending_count - 1; i >= 0; i--)
        if (pending[i].mutex == mutex)
            return i;
    return -1;
}

/* Files pending wait i, whose lock was just given back by the function
 * whose frame is unlocker_frame (NULL at exit), and forgets it. */
static void file_pending(int i, uintptr_t *unlocker_frame)
{
    complete_stack(&pending[i], unlocker_frame);
    file_wait(&pending[i]);
    for (pending_count--; i < pending_count; i++)
        pending[i] = pending[i + 1];
}

/* ============================ The interposed functions =================== */

/* Finds the real functions. Runs before main() and before any thread,
 * unless another library's constructor locks a mutex first. */
__attribute__((constructor)) static void find_real_functions(void)
{
    if (!tally_key_made && pthread_key_create(&tally_key, thread_exits) == 0)
        tally_key_made = 1;
    if (real_mutex_lock == NULL)
        real_mutex_lock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
    if (real_mutex_unlock == NULL)
        real_mutex_unlock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_unlock");
}

/* The interposed lock. Returns what the real pthread_mutex_lock returns.
 * On contention it does no more before waiting than read the clock, and
 * no more after acquiring than read the clock again and note where it
 * was called from: the rest waits for pthread_mutex_unlock(). */
int pthread_mutex_lock(pthread_mutex_t *mutex)
{
    uintptr_t *frame = __builtin_frame_address(0);
    unsigned long long started;
    int result;

    if (real_mutex_lock == NULL)
        find_real_functions();
    if (inside)   /* the profiler's own locking */
        return real_mutex_lock(mutex);
    /* Only EBUSY means somebody else holds it. 0 and EOWNERDEAD (a robust
     * mutex whose owner died) both mean we now hold it; anything else is
     * an error the real lock would report too. */
    result = pthread_mutex_trylock(mutex);
    if (result != EBUSY) {
        int i = result == 0 && pending_count > 0 ? pending_index(mutex) : -1;

        if (i >= 0)
            pending[i].nesting++;   /* a recursive mutex, locked again */
        return result;
    }

    started = now_ns();
    result = real_mutex_lock(mutex);
    if ((result == 0 || result == EOWNERDEAD) && pending_count < MAX_PENDING) {
        struct pending_wait *wait = &pending[pending_count++];

        wait->wait_ns = now_ns() - started;
        wait->call_site = frame[1];
        wait->locker_frame = (uintptr_t *)frame[0];
        wait->mutex = mutex;
        wait->nesting = 0;
    } else if (result == 0 || result == EOWNERDEAD) {
        atomic_fetch_add_explicit(&lost_waits, 1, memory_order_relaxed);
    }
    return result;
}

/* The interposed unlock: gives the lock back first, then files the wait
 * that acquiring it cost, outside the critical section. Returns what the
 * real pthread_mutex_unlock returns. */
int pthread_mutex_unlock(pthread_mutex_t *mutex)
{
    uintptr_t *frame = __builtin_frame_address(0);
    int result;

    if (real_mutex_unlock == NULL)
        find_real_functions();
    result = real_mutex_unlock(mutex);
    if (pending_count > 0 && !inside) {
        int i = pending_index(mutex);

        if (i >= 0 && pending[i].nesting > 0) {
            pending[i].nesting--;   /* a recursive mutex, still held */
        } else if (i >= 0) {
            inside = 1;
            file_pending(i, (uintptr_t *)frame[0]);
            inside = 0;
        }
    }
    return result;
}

/* ============================ Writing ==================================== */

/* Copies /proc/self/maps to out: google-pprof needs it to find symbols. */
static void write_maps(FILE *out)
{
    char buffer[4096];
    size_t got;
    FILE *maps = fopen("/proc/self/maps", "r");

    if (maps == NULL)
        return;
    while ((got = fread(buffer, 1, sizeof buffer, maps)) > 0)
        fwrite(buffer, 1, got, out);
    fclose(maps);
}

/* Writes to out, one line per mutex that was waited for: its address,
 * contended calls, nanoseconds waited, and the file it lies in with its
 * offset there (dladdr; "-" for memory no file maps, a heap block). */
static void write_locks(FILE *out)
{
    for (int i = 0; i < TABLE_SIZE; i++) {
        struct contended_stack *slot = &table[i];
        unsigned long long count = 0, wait_ns = 0;
        Dl_info where;
        int first = 1;

        if (atomic_load(&slot->key) == 0 || !atomic_load(&slot->ready))
            continue;
        for (int j = 0; j < i && first; j++)   /* a mutex is written once, at its first slot */
            first = !(atomic_load(&table[j].key) != 0 && table[j].mutex == slot->mutex);
        if (!first)
            continue;
        for (int j = i; j < TABLE_SIZE; j++) {
            if (atomic_load(&table[j].key) != 0 && table[j].mutex == slot->mutex) {
                count += atomic_load(&table[j].count);
                wait_ns += atomic_load(&table[j].wait_ns);
            }
        }
        if (dladdr(slot->mutex, &where) != 0 && where.dli_fname != NULL)
            fprintf(out, "%p %llu %llu %s 0x%lx\n", (void *)slot->mutex, count, wait_ns,
                    where.dli_fname[0] != '\0' ? where.dli_fname : "(the program)",
                    (unsigned long)((uintptr_t)slot->mutex - (uintptr_t)where.dli_fbase));
        else
            fprintf(out, "%p %llu %llu - -\n", (void *)slot->mutex, count, wait_ns);
    }
}

/* Writes write_locks()'s lines to profile_path with ".locks" added. */
static void write_locks_beside(const char *profile_path)
{
    char path[4096];
    FILE *out;

    snprintf(path, sizeof path, "%s.locks", profile_path);
    out = fopen(path, "w");
    if (out == NULL) {
        fprintf(stderr, "contention: cannot write %s\n", path);
        return;
    }
    write_locks(out);
    fclose(out);
}

/* Writes the profile at exit. Delays are in nanoseconds, so the clock
 * rate google-pprof should assume is 1e9 "cycles" per second. */
__attribute__((destructor)) static void contention_write(void)
{
    const char *path = getenv("CONTENTION_PROFILE");
    unsigned long long total = 0, lost;
    int stacks = 0;
    FILE *out;

    inside = 1;   /* stdio's own locking must not be recorded */
    while (pending_count > 0)
        file_pending(pending_count - 1, NULL);
    for (int i = 0; i < MAX_TALLIES; i++) {   /* threads still running */
        struct tally *t = atomic_load(&tallies[i]);

        if (t != NULL)
            file_tally(t);
    }
    if (path == NULL || *path == '\0')
        return;
    out = fopen(path, "w");
    if (out == NULL) {
        fprintf(stderr, "contention: cannot write %s\n", path);
        return;
    }
    fprintf(out, "--- contention\ncycles/second = 1000000000\nsampling period = 1\n");
    for (int i = 0; i < TABLE_SIZE; i++) {
        struct contended_stack *slot = &table[i];

        if (atomic_load(&slot->key) == 0 || !atomic_load(&slot->ready))
            continue;
        fprintf(out, "%llu %llu @", atomic_load(&slot->wait_ns), atomic_load(&slot->count));
        for (int f = 0; f < slot->depth; f++)
            fprintf(out, " %p", slot->frames[f]);
        fprintf(out, "\n");
        total += atomic_load(&slot->count);
        stacks++;
    }
    write_maps(out);
    fclose(out);
    write_locks_beside(path);
    lost = atomic_load(&lost_waits);
    fprintf(stderr, "contention: %llu contended lock call%s at %d stack%s", total,
            total == 1 ? "" : "s", stacks, stacks == 1 ? "" : "s");
    if (lost > 0)
        fprintf(stderr, " (and %llu more not recorded: at stacks beyond the table's %d, or"
                " with more than %d contended locks held at once)", lost, TABLE_SIZE, MAX_PENDING);
    fprintf(stderr, ", written to %s\n", path);
}
