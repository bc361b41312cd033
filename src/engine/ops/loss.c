/* ops/loss.c: the losses as the last node of a training plan (plan.h), so
** that they run on the plan's threads like the layers before them.  The
** node's input is the model's output (in values a row), its output each
** row's loss (one value a row); forward reads the targets pl->y (labels
** when pl->sparse, else rows of in values), backward writes the gradient of
** the batch's mean loss with respect to the inputs (f->din) over the
** thread's rows.  The caller checked the targets first (src/losses.c,
** ln_loss_planop).  Not kinds of the model file: training only. */
#include "../op.h"
#include "../plan.h"
#include "../../kernels/loss.h"

/* this thread's rows r0..r1-1: in, out and targets from row r0 */
#define LOSS_ROWS(pl, f, r0, in, y)                                                                          \
  size_t cols = (f)->node.in;                                                                                \
  const float *in = (f)->in + (r0) * cols, *y = (pl)->y + ((pl)->sparse ? (r0) : (r0) * cols)

static void cce_forward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {
  LOSS_ROWS(pl, f, t->r0, in, y);
  if (pl->sparse) ln_cce_sparse_forward(t->r1 - t->r0, cols, in, y, f->out + t->r0);
  else ln_cce_onehot_forward(t->r1 - t->r0, cols, in, y, f->out + t->r0);
}

static void cce_backward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {
  size_t r0 = t->r0, r1 = t->r1;
  LOSS_ROWS(pl, f, r0, in, y);
  if (pl->sparse) ln_cce_sparse_backward(r1 - r0, cols, in, y, pl->rows, f->din + r0 * cols);
  else ln_cce_onehot_backward(r1 - r0, cols, in, y, pl->rows, f->din + r0 * cols);
}

/* the losses whose targets are rows like the predictions */
#define TARGET_LOSS(pre, fwd, bwd)                                                                           \
  static void pre##_forward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {                  \
    LOSS_ROWS(pl, f, t->r0, in, y);                                                                          \
    fwd(t->r1 - t->r0, cols, in, y, f->out + t->r0);                                                         \
  }                                                                                                          \
  static void pre##_backward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {                \
    LOSS_ROWS(pl, f, t->r0, in, y);                                                                          \
    bwd(t->r1 - t->r0, cols, in, y, pl->rows, f->din + t->r0 * cols);                                        \
  }

TARGET_LOSS(bce, ln_bce_forward, ln_bce_backward)
TARGET_LOSS(mse, ln_mse_forward, ln_mse_backward)
TARGET_LOSS(mae, ln_mae_forward, ln_mae_backward)

const ln_OpDef ln_op_loss_cce = {
  .name = "CategoricalCrossentropy", .train_forward = cce_forward, .backward = cce_backward, .loss = 1
};
const ln_OpDef ln_op_loss_bce = {
  .name = "BinaryCrossentropy", .train_forward = bce_forward, .backward = bce_backward, .loss = 1
};
const ln_OpDef ln_op_loss_mse = {
  .name = "MeanSquaredError", .train_forward = mse_forward, .backward = mse_backward, .loss = 1
};
const ln_OpDef ln_op_loss_mae = {
  .name = "MeanAbsoluteError", .train_forward = mae_forward, .backward = mae_backward, .loss = 1
};
