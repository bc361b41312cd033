/*
** plan.h: the engine's plan for the training steps of a leading run of
** Dense/ReLU layers (and a last Softmax with the combined
** softmax/cross-entropy loss), set up by the Model's bindings (src/model.c)
** over the layers' own buffers and run here on one thread or on the pool's
** n parts (lunet.set_threads).  Plain C over the kernels: no Lua.
**
** The leading Dense/ReLU layers of a training step, and a last Softmax with
** the combined softmax/cross-entropy loss, run as one C plan: the batch
** rows are split across n threads (the caller and n - 1 workers kept by the
** model) at multiples of LN_GEMM_MB rows, each calling a 1-thread GEMM.  Forward (with the batch gather,
** softmax and predictions) and the input gradients split by rows, except a
** first Dense with a split sum (ln_nn_dense_split) on exactly two threads:
** there each thread gathers half of every row's inputs and computes that
** half of the sum for all rows (on more threads each computes both halves
** for its rows); weight gradients split by rows of dweights (the same halves of
** the inputs) and bias gradients by columns (so each element is still one
** full sum over the batch).  The split never changes
** which products are summed, only who computes them, so results do not
** depend on the thread count (spec/model_spec.lua checks both against the
** book's layer-by-layer loop).  The first layer's input gradient is not
** computed by train (nothing reads it).  For the book's classifier
** (steps_book) each thread also gathers its rows' labels and, from a batch
** size's second step, computes their losses and correct predictions, so the
** caller's own work between the two jobs of a step is a few sums.
** Where ln_gemm_rows can (AVX-512), the first Dense's products read the
** batch's rows in place from X (direct), so the rows come from memory while
** the tiles compute instead of in a copy loop of their own: 0.175 -> 0.161
** s/epoch.  The copy the first layer keeps as `inputs` is then made only
** when someone can see it, by model:_sync_inputs (Model:train says when).
** When every trainable layer is in the plan, the optimizer runs inside the
** backward job (fused): each thread updates the parameters whose gradients
** it computed; otherwise a third job (PLAN_UPDATE) updates a part of every
** tensor on each thread.  The update kernels are elementwise, so any split gives the same
** numbers as one loop.
** Default: the batch is split across as many threads as the machine has
** cores (the 2-core machine of `make bench`: 0.128 s/epoch against
** 0.240 on one thread).  Steps too small to gain (SPLIT_WORK, SPLIT_UPDATE)
** run on the calling thread with a 1-thread GEMM, so no thread spins on
** tiny products.  lunet.set_threads(1) or LUNET_SPLIT=0 keep everything on
** the calling thread; LUNET_SPLIT=blas uses OpenBLAS' own threads instead
** (products that go to lunet's AVX-512 tiles stay on one thread). */
#ifndef LUNET_PLAN_H
#define LUNET_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include "../kernels/kernels.h"
#include "../kernels/optim.h"
#include "pool.h"

#define MAXFAST 32        /* most layers the plan takes */

enum { F_RELU, F_DENSE, F_SOFTMAX, F_SIGMOID, F_LINEAR, F_DROPOUT, F_SOFTMAX_PLAIN };

/* one thread's count of correct predictions; bad: its labels failed the check */
typedef struct ln_Tally { size_t hits; int bad; } ln_Tally;

typedef struct ln_FLayer {
  int kind;               /* F_DENSE, F_RELU, F_SIGMOID, F_LINEAR, F_DROPOUT, F_SOFTMAX_PLAIN (a Softmax
                             layer), or F_SOFTMAX (last, with the combined loss) */
  size_t n_in, n_out;     /* columns of inputs and outputs */
  float *in, *out, *w, *b, *dw, *db, *din;
  const float *dv;        /* backward: gradient of the output */
  float wl1, wl2, bl1, bl2; /* Dense: the regularizers */
  size_t h;               /* Dense: the split of the inputs' sum (ln_nn_dense_split), 0 for none */
  float *part;            /* Dense with h: the second partial sum, rows x n_out (the first goes to out, */
  float *p0;              /* or for the first Dense split between threads here: see plan_forward) */
  const ln_Update *up;    /* Dense, fused plans: the weights' and biases' updates */
  double rate;            /* Dropout: the fraction dropped */
  float *mask;            /* Dropout: rows x n_out, drawn by each thread for its rows (see ln_plan_masks) */
  uint64_t moff;          /* Dropout: where its mask starts in the step's stream of draws */
} ln_FLayer;

enum { PLAN_FORWARD, PLAN_BACKWARD, PLAN_UPDATE };

typedef struct ln_Plan {
  int n, mode;
  int fused;              /* backward: then the optimizer's updates (ln_FLayer.up) */
  size_t rows;
  ln_FLayer l[MAXFAST];
  /* forward: each thread first gathers its rows of the batch into l[0].in,
  ** row i from src row perm[first + i] (or first + i when perm is NULL) */
  const float *src;
  const size_t *perm;
  size_t first;
  /* forward with a Softmax last: the predictions (argmax labels, 1-based);
  ** backward with it: the combined softmax/cross-entropy gradient from the
  ** labels y (cce_sparse) or one-hot rows */
  float *pred;
  const float *y;
  int sparse;
  /* forward with a Softmax last, when set (steps_book): each thread also
  ** writes its rows' losses (categorical cross-entropy) and counts its
  ** correct predictions; bad: its labels failed ln_labels_check */
  float *losses;
  ln_Tally *tally;        /* one per part */
  /* forward, when set (steps_book): each thread first copies its rows of
  ** the batch's targets (rows of ycols values, from ysrc as the batch rows
  ** of X) into ydst, the buffer y points to */
  const float *ysrc;
  float *ydst;
  size_t ycols;
  int direct;             /* the first Dense reads the batch rows from src (ln_gemm_rows), no gather */
  int at;                 /* the model's position of l[0] (1: the plan starts the model) */
  ln_Rng rng0;            /* forward with Dropout: the generator where this step's masks start */
  /* update: the optimizer's prepared updates, each split in two ranges */
  int nup;
  ln_Update up[2 * MAXFAST];
} ln_Plan;


/* batch rows i0..i1-1 of width values each: row i of dst (rows ld apart)
** from row first + i of src, or row perm[first + i] */
void ln_batchrows(float *dst, const float *src, size_t ld, size_t width, const size_t *perm, size_t first,
                  size_t i0, size_t i1);
/* before a forward plan with Dropout layers: their masks are the next draws
** of r in layer order, as the layers' own forward passes would draw them;
** the plan keeps where they start and r moves past them (ln_rng_jump), and
** each thread then draws its rows' part of the stream itself */
void ln_plan_masks(ln_Plan *pl, ln_Rng *r);
/* run a plan on one thread (p NULL or not started) or two, with a 1-thread
** product each (LUNET_SPLIT=blas keeps OpenBLAS' threads on one) */
void ln_plan_run(ln_Pool *p, ln_Plan *pl);

#endif
