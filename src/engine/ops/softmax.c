/* ops/softmax.c: Softmax over each row (kernels.h ln_softmax_rows), and the
** last Softmax trained with categorical cross-entropy as one op (the book's
** combined gradient), which also writes the step's predictions and, when the
** plan asks (plan.h: losses), each row's loss and each thread's hits. */
#include "../op.h"
#include "../plan.h"
#include "../../kernels/kernels.h"
#include "../../kernels/nn.h"
#include "../../kernels/loss.h"

static void softmax_forward(const ln_Node *n, size_t rows, const float *in, float *out, float *scratch) {
  (void)scratch;
  ln_softmax_rows(rows, n->in, in, out);
}

static void softmax_backward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {
  size_t r0 = t->r0, r1 = t->r1;
  size_t o = r0 * f->node.out;
  (void)pl;
  ln_nn_softmax_backward(r1 - r0, f->node.out, f->out + o, f->dv + o, f->din + o);
}

/* the labels of the rows' largest values (1-based) */
static void softmax_predict(const ln_Node *n, size_t rows, const float *out, float *pred) {
  ln_argmax_labels(rows, n->out, out, pred);
}

const ln_OpDef ln_op_softmax = {
  .name = "Softmax", .setup = ln_op_keepwidth, .forward = softmax_forward, .backward = softmax_backward,
  .predict = softmax_predict, .pred_argmax = 1
};

/* the losses of n rows from r0, as the loss's calculate would find them
** (it checks the labels first: bad) */
static void cce_loss(const ln_Plan *pl, size_t n, size_t r0, size_t cols, const float *out, ln_Tally *t) {
  t->bad = 0;
  if (pl->sparse) {
    const float *y = pl->y + r0;
    if (ln_labels_check(n, y, cols) != n) t->bad = 1;
    else ln_cce_sparse_forward(n, cols, out, y, pl->losses + r0);
  } else {
    ln_cce_onehot_forward(n, cols, out, pl->y + r0 * cols, pl->losses + r0);
  }
}

/* Softmax, and with pl->losses each row's loss */
static void softmax_cce_train_forward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {
  size_t r0 = t->r0, r1 = t->r1, no = f->node.out;
  float *out = f->out + r0 * no;
  ln_softmax_rows(r1 - r0, no, f->in + r0 * no, out);
  if (pl->losses) cce_loss(pl, r1 - r0, r0, no, out, &pl->tally[t->part]);
}

/* the combined softmax/cross-entropy gradient of rows r0.. from the labels
** (pl->y: sparse, or one-hot rows) */
static void softmax_cce_backward(const ln_Plan *pl, const ln_FLayer *f, const ln_PlanPart *t) {
  size_t r0 = t->r0, r1 = t->r1;
  size_t no = f->node.out;
  if (pl->sparse)
    ln_softmax_cce_grad_sparse(r1 - r0, no, f->out + r0 * no, pl->y + r0, pl->rows, f->din + r0 * no);
  else
    ln_softmax_cce_grad_onehot(r1 - r0, no, f->out + r0 * no, pl->y + r0 * no, pl->rows, f->din + r0 * no);
}

const ln_OpDef ln_op_softmax_cce = {
  .name = "Softmax", .setup = ln_op_keepwidth, .forward = softmax_forward, .train_forward = softmax_cce_train_forward,
  .backward = softmax_cce_backward, .predict = softmax_predict, .pred_argmax = 1
};
