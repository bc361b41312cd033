/*
** pool.h: the engine's thread pool.  The caller and n - 1 worker threads
** run the parts 0 .. n-1 of each job (a job is a function and its argument:
** the pool knows nothing about what it computes); parts meet at numbered
** barriers.  Between jobs the workers spin (a training step posts jobs
** microseconds apart; waking a sleeping thread costs more), then sleep after
** IDLE_NS or at once when parked.  Plain C with pthreads: no Lua.
** (ggml's compute threads and KANN's kann_mt divide work the same way: every
** part gets its index and the count, and splits rows by them.)
*/
#ifndef LUNET_POOL_H
#define LUNET_POOL_H

#include <pthread.h>
#include <stddef.h>

#define LN_MAXTHREADS 1024 /* lunet.set_threads' range */

/* a job: part `part` of `parts` (the caller runs part 0; p is NULL when the
** caller runs the only part); lunet.h declares the same two names */
#ifndef LN_POOL_TYPES
#define LN_POOL_TYPES
typedef struct ln_Pool ln_Pool;
typedef void (*ln_Job)(ln_Pool *p, void *arg, int part, int parts);
#endif

struct ln_Pool {
  pthread_t *th;           /* the workers (parts 1 .. nworkers) */
  int nworkers;            /* started */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int started, quit;
  unsigned go, done, bar;  /* atomics (__atomic builtins) */
  int park;                /* atomic: sleep now instead of spinning */
  ln_Job job;
  void *arg;
};

/* start n - 1 workers in a zeroed pool (1 <= n <= LN_MAXTHREADS); 0, or -1
** (no thread: jobs run on the caller alone) */
int ln_pool_start(ln_Pool *p, int n);
/* stop and join the workers (safe twice) */
void ln_pool_stop(ln_Pool *p);
/* the parts a job of the pool runs in: its workers and the caller */
int ln_pool_parts(const ln_Pool *p);
/* run job in ln_pool_parts(p) parts and return when all are done */
void ln_pool_run(ln_Pool *p, ln_Job job, void *arg);
/* barrier number k (1, 2, ...) of the current job; nothing for parts 1 */
void ln_pool_barrier(ln_Pool *p, int parts, unsigned k);
/* the workers sleep until the next job instead of spinning for it */
void ln_pool_park(ln_Pool *p);
/* part `part` of `parts` of 0 .. n, cut at multiples of align (trailing
** parts may get nothing) */
void ln_partrange(size_t n, size_t align, int part, int parts, size_t *lo, size_t *hi);
/* the number of online cores, read once */
long ln_ncores(void);

#endif
