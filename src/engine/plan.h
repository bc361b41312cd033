/*
** plan.h: the engine's training plan: a run of nodes (engine ops, op.h,
** with their training entries) over buffers the Model's bindings own
** (src/model_plan.c sets it up), run here on one thread or on the pool's n
** parts (lunet.set_threads).  Plain C over the kernels: no Lua, and no
** layer kind by name: each op's file holds its arithmetic.
**
** Forward: the batch rows are split across the n threads at multiples of
** LN_GEMM_MB rows (ln_plan_span), each thread gathering its rows of the
** batch (or, where ln_gemm_rows can, the first node reading them in place:
** direct) and running every node's train_forward on them with 1-thread
** products.  A first node whose inputs' sum is taken in two halves
** (op->split: a Dense with 256+ inputs) on exactly two threads splits by
** columns instead (ln_PlanPart.split0).  A 'whole' op (Conv2D: blocks of
** samples; BatchNormalization: features) splits the batch its own way
** between two barriers.  Backward: each node's input gradient over the
** thread's rows (nodes n-1..0; a whole op's backward, its parameters'
** gradients included, between barriers), one barrier, then each row-wise
** node's parameter gradients over the thread's share of their columns (so
** each element is still one full sum over the batch).  The splits never
** change which products are summed, only who computes them, so results do
** not depend on the thread count (spec/engine_spec.lua, hardening_spec.lua
** check them against the layer-by-layer loop).
** When every trainable layer is in the plan, the optimizer runs inside the
** backward job (fused: op->update, each thread updating the parameters whose
** gradients it computed); otherwise a third job (PLAN_UPDATE) updates a part
** of every tensor on each thread.  A plan that ends the model also runs
** the loss (a loss node, or the combined ln_op_softmax_cce's losses) and
** the predictions and accuracy's hits of each part's rows.
** Steps too small to gain run on the calling thread; LUNET_SPLIT=blas uses
** OpenBLAS' own threads instead.
*/
#ifndef LUNET_PLAN_H
#define LUNET_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include "../kernels/kernels.h"
#include "../kernels/optim.h"
#include "pool.h"
#include "op.h"

#define MAXFAST 32        /* most layers the plan takes */

/* one thread's count of correct predictions; bad: its labels failed the check */
typedef struct ln_Tally { size_t hits; int bad; } ln_Tally;

/* a node of a training plan: the engine's node (its op, sizes in/out per
** row, parameters param[0] weights and param[1] biases) and the buffers of
** this step, which the layer's binding owns */
typedef struct ln_FLayer {
  ln_Node node;
  float *in, *out, *din;
  const float *dv;        /* backward: gradient of the output */
  float *dw, *db;         /* the parameters' gradients */
  float wl1, wl2, bl1, bl2; /* the parameters' L1/L2 regularizers */
  size_t h;               /* the inputs' sum taken in two halves from column h (op->split), 0 for none */
  float *part;            /* with h: the second partial sum, rows x out (the first goes to out, */
  float *p0;              /* or for the first node split between threads here: see ln_PlanPart.split0) */
  const ln_Update *up;    /* fused plans: the updates of param[0] and param[1] (NULL: none) */
  float *mask;            /* op->draws: rows x out values drawn by each thread for its rows */
  uint64_t moff;          /* where they start in the step's stream of draws (ln_plan_masks) */
  float *buf[LN_OP_MAXBUFS]; /* the op's own training buffers (op->buffers) */
} ln_FLayer;

/* what a thread's part of a forward plan knows of itself: its rows r0..r1-1,
** the pool and barrier count, and split0: the first node's inputs' sum is
** split between the two threads by columns (each computes its half of the
** sum for every row, then both combine their own rows) */
typedef struct ln_PlanPart {
  ln_Pool *pool;
  int part, parts, split0;
  unsigned *nbar;
  size_t r0, r1;
} ln_PlanPart;

enum { PLAN_FORWARD, PLAN_BACKWARD, PLAN_UPDATE };

typedef struct ln_Plan {
  int n, mode;
  int whole;              /* some node's op is whole (op.h): every part runs every node */
  int fused;              /* backward: then the optimizer's updates (ln_FLayer.up) */
  size_t rows;
  ln_FLayer l[MAXFAST + 1]; /* (+ 1: a loss node after the model's last layer) */
  /* forward: each thread first gathers its rows of the batch into l[0].in,
  ** row i from src row perm[first + i] (or first + i when perm is NULL) */
  const float *src;
  const size_t *perm;
  size_t first;
  /* the targets y: labels (sparse) or rows of ycols values, read by a loss
  ** node or the combined softmax/cross-entropy and by the accuracy */
  const float *y;
  int sparse;
  /* forward of a plan ending at the model's last layer, when set: each part
  ** writes its rows' predictions (the last layer's op->predict), and with
  ** acc (LN_ACC_*, kernels/loss.h) counts their hits against y into
  ** tally[part] (precision: the regression accuracy's) */
  float *pred;
  int acc;
  float precision;
  /* forward with the combined softmax/cross-entropy, when set (from a batch
  ** size's second step): each thread also writes its rows' losses; tally's
  ** bad: its labels failed ln_labels_check */
  float *losses;
  ln_Tally *tally;        /* one per part */
  size_t ycols;           /* values a row of y (for the accuracy) */
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
/* [lo, hi) of n split in parts parts, at multiples of LN_GEMM_MB (so that
** split products run the same CBLAS calls on each row as one thread would);
** trailing parts may get nothing */
void ln_plan_span(size_t n, int part, int parts, size_t *lo, size_t *hi);
/* C (M x N) = op(A) B, A being node f's inputs from column c (transA: A^T,
** for weight gradients): read in place from the batch when f is the plan's
** first node and the plan is direct, else from f->in */
void ln_plan_product(const ln_Plan *pl, const ln_FLayer *f, int transA, size_t M, size_t N, size_t K, size_t c,
                     const float *B, float *C);
/* the batch rows i0.. of a direct plan from column c, as ln_gemm_rows takes
** them: returns A and sets *idx (NULL: consecutive rows) */
const float *ln_plan_batch(const ln_Plan *pl, size_t i0, size_t c, const size_t **idx);
/* part `part` of `parts` of an update, split at a multiple of 16 elements
** (whole cache lines) */
void ln_plan_update_share(const ln_Update *u, int part, int parts);
/* run a plan on one thread (p NULL or not started) or two, with a 1-thread
** product each (LUNET_SPLIT=blas keeps OpenBLAS' threads on one) */
void ln_plan_run(ln_Pool *p, ln_Plan *pl);

#endif
