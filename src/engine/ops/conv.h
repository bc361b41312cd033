/*
** ops/conv.h: Conv2D's training passes over a batch, shared by the plan's
** Conv2D node (ops/conv.c) and the Lua class's own forward and backward
** (src/layers_conv.c), so both compute the same numbers.  Plain C: no Lua.
**
** Work is cut by samples.  Each part takes blocks of `blk` samples whose
** patches, their gradient and the product rows fit 256 KB (so they stay in
** the core's L2 cache between the steps that write and read them), and runs
** patches -> product -> image on one block at a time.  The weight gradient
** sums over groups of `grp` samples (whole blocks, at least
** LN_CONV_GROUP_ROWS patch rows), one partial product per group, which one
** part accumulates block by block; the partials are then added in group
** order.  Blocks (ln_conv_block) and groups depend on the geometry and the
** batch only, so every thread count gives the same numbers.
*/
#ifndef LUNET_OPS_CONV_H
#define LUNET_OPS_CONV_H

#include <stddef.h>
#include "../pool.h"
#include "../../kernels/conv.h"

#define LN_CONV_GROUP_ROWS 1024

typedef struct ln_ConvJob {
  ln_ConvGeom g;          /* g.n: the whole batch */
  size_t blk, grp;        /* samples a block, a group (ln_convjob_size) */
  size_t slot;            /* floats of one part's scratch (patches, their gradient, rows) */
  const float *x, *w, *b, *dy;
  float *y, *scratch, *dWT, *dWpart, *db, *dx;
  float *Pall;            /* the whole batch's patches (training: written by forward, read by backward) */
  int have_patches;       /* backward: Pall holds them already */
} ln_ConvJob;

/* blk, grp and slot from j->g */
void ln_convjob_size(ln_ConvJob *j);
/* floats of dWpart: one partial weight gradient (ckk x out) per group */
size_t ln_convjob_partials(const ln_ConvJob *j);
/* part `part` of `parts` of the forward: y (and Pall when set) */
void ln_convjob_forward(const ln_ConvJob *j, int part, int parts);
/* part `part` of `parts` of the backward: dWT (ckk x out), db and dx (when
** set); p NULL for one part, else its barriers are numbered from ++*nbar */
void ln_convjob_backward(const ln_ConvJob *j, ln_Pool *p, int part, int parts, unsigned *nbar);

/* batch norm's running statistics of features lo..hi-1 after a training
** batch of m values a feature: running = momentum * running + (1 -
** momentum) * batch (the unbiased variance for rv); 1, or 0 and nothing
** moved when m <= 1 */
int ln_bn_running(size_t lo, size_t hi, size_t m, double momentum, const float *mean, const float *var, float *rm,
                  float *rv);

#endif
