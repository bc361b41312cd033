/*
** pool.h: the engine's thread pool.  One worker thread beside the caller
** runs part 1 of each job while the caller runs part 0 (a job is a function
** and its argument: the pool knows nothing about what it computes); parts
** meet at numbered barriers.  Between jobs the worker spins (a training step
** posts jobs microseconds apart; waking a sleeping thread costs more), then
** sleeps after IDLE_NS or at once when parked.  Plain C with pthreads: no Lua.
*/
#ifndef LUNET_POOL_H
#define LUNET_POOL_H

#include <pthread.h>

typedef struct ln_Pool ln_Pool;
/* a job: the caller runs part 0, the worker part 1, parts = 2 (or the
** caller alone: part 0 of 1, p NULL) */
typedef void (*ln_Job)(ln_Pool *p, void *arg, int part, int parts);

struct ln_Pool {
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int started, quit;
  unsigned go, done, bar;  /* atomics (__atomic builtins) */
  int park;                /* atomic: sleep now instead of spinning */
  ln_Job job;
  void *arg;
};

/* start the worker of a zeroed pool; 0, or -1 (no thread: run jobs alone) */
int ln_pool_start(ln_Pool *p);
/* stop and join the worker (safe twice) */
void ln_pool_stop(ln_Pool *p);
/* run job on both threads and return when both parts are done */
void ln_pool_run(ln_Pool *p, ln_Job job, void *arg);
/* barrier number k (1, 2, ...) of the current job; nothing for parts 1 */
void ln_pool_barrier(ln_Pool *p, int parts, unsigned k);
/* the worker sleeps until the next job instead of spinning for it */
void ln_pool_park(ln_Pool *p);
/* the number of online cores, read once */
long ln_ncores(void);

#endif
