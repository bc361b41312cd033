/*
** op.h: the engine's layer kinds.  Each kind is one op table (ln_OpDef) in
** its own file under ops/, registered in one place (ops/registry.c); a
** network (net.h) is a list of nodes, each an op with its sizes, settings
** and parameters.  Plain C over the kernels: no Lua.
**
** Adding a kind: write ops/<kind>.c with its ln_OpDef (name as the model
** file writes it, parameter names, setup from the architecture entry,
** forward over a block of rows), and list it in ops/registry.c.  A kind
** that trains in the engine's plan (plan.h) adds backward over a block of
** rows, its parameters' gradients over a share of their columns and their
** fused update; plan.c runs any sequence of such ops on N threads and knows
** no kind by name.  The Lua-facing classes (src/layers*.c,
** src/activations.c) point at their op (ln_LayerClass.op).  Input and
** Flatten (which compute nothing) carry inference only and train through
** their classes between plans (doc/design.md).
*/
#ifndef LUNET_OP_H
#define LUNET_OP_H

#include <stddef.h>
#include <stdint.h>

#define LN_OP_MAXPARAMS 4
#define LN_OP_MAXBUFS 5

typedef struct ln_OpDef ln_OpDef;
struct ln_Plan;
struct ln_FLayer;
struct ln_PlanPart;

/* one layer of a network */
typedef struct ln_Node {
  const ln_OpDef *op;
  size_t in, out;                       /* values per row in and out (0: not known yet) */
  int ind, ond;                         /* a row's shape in and out: sizes of ishape / oshape (0: flat or unknown) */
  size_t ishape[3], oshape[3];          /* (images: c, h, w) */
  float *param[LN_OP_MAXPARAMS];        /* owned by the network; op->params[k] names param k */
  int pnd[LN_OP_MAXPARAMS];             /* their shapes: pnd[k] sizes in pdims[k] */
  size_t pdims[LN_OP_MAXPARAMS][4];
  size_t scratch;                       /* floats of scratch forward needs beyond rows x out (0: none) */
  double setting[8];                    /* the kind's numbers (Dense: n_inputs, n_neurons; Conv2D: kernel, ...) */
  int64_t *counter;                     /* training: a count the op advances (batch norm's batches), or NULL */
} ln_Node;

/* the architecture entry of a node, as its op reads it: number(key, &v)
** returns 1 and sets v when the entry has that number, else 0 */
typedef struct ln_OpSpec {
  const void *entry;
  int (*number)(const struct ln_OpSpec *s, const char *key, double *v);
  /* element idx (0-based) of the entry's list of numbers key, as number() */
  int (*element)(const struct ln_OpSpec *s, const char *key, int idx, double *v);
  /* the entry's string key, or NULL */
  const char *(*string)(const struct ln_OpSpec *s, const char *key);
} ln_OpSpec;

struct ln_OpDef {
  const char *name;                     /* "Dense": the model file's type */
  int nparams;
  const char *params[LN_OP_MAXPARAMS];  /* file names: layers.<i>.<name> */
  /* read the settings and set in/out and the parameters' shapes (in may be
  ** 0: decided by a later layer); 0, or -1 with a reason in err */
  int (*setup)(ln_Node *n, const ln_OpSpec *spec, char *err, size_t errlen);
  /* inference over rows rows of in (rows x n->in) into out (rows x n->out);
  ** scratch holds max(rows x n->out, n->scratch) floats; out never aliases in */
  void (*forward)(const ln_Node *n, size_t rows, const float *in, float *out, float *scratch);
  /* ---- training in a plan (plan.h; all NULL: the kind trains through its Lua class) ----
  ** this thread's part of the training forward (NULL: forward over the
  ** part's rows, scratch the node's split-sum buffer) */
  void (*train_forward)(const struct ln_Plan *pl, const struct ln_FLayer *f, const struct ln_PlanPart *t);
  /* the input gradient f->din of the part's rows t->r0..r1-1 from f->dv (f->din
  ** NULL: nobody wants it); a whole op: its part of the batch's backward,
  ** its parameters' gradients included */
  void (*backward)(const struct ln_Plan *pl, const struct ln_FLayer *f, const struct ln_PlanPart *t);
  /* the parameters' gradients, sums over every row of the step: this thread's share (NULL: none) */
  void (*grads)(const struct ln_Plan *pl, const struct ln_FLayer *f, int part, int parts);
  /* fused plans: the optimizer's update of the share grads computed */
  void (*update)(const struct ln_FLayer *f, int part, int parts);
  /* the inputs' sum of a row taken in two halves from this column (0: none;
  ** the plan can then split the first such node by columns on two threads) */
  size_t (*split)(const ln_Node *n);
  int draws;                            /* training draws one random value per output (Dropout's mask) */
  /* training splits the whole batch its own way (Conv2D's blocks of
  ** samples): the plan puts a barrier before and after it, and calls its
  ** train_forward and backward on every part, rows or none */
  int whole;
  /* the op's own training buffer k (0..LN_OP_MAXBUFS-1) for rows rows on threads parts:
  ** its sizes in dims and their count returned (0: none).  The Model keeps
  ** buffer k in the layer's user value LN_UV_EXTRA + k */
  int (*buffers)(const ln_Node *n, size_t rows, int threads, int k, size_t dims[4]);
  int direct;                           /* as a plan's first node it can read the batch in place (ln_plan_product) */
  int skip_din;                         /* backward takes f->din NULL (a first node's input gradient) */
  /* the predictions of rows rows of its outputs (Softmax: labels, one a
  ** row when pred_argmax; Sigmoid: 0/1); NULL: the outputs themselves */
  void (*predict)(const ln_Node *n, size_t rows, const float *out, float *pred);
  int pred_argmax;
  int loss;                             /* a loss: the plan's last node, after the model's last layer */
};

/* the kinds (one file each in ops/) */
extern const ln_OpDef ln_op_dense, ln_op_relu, ln_op_sigmoid, ln_op_softmax, ln_op_linear, ln_op_dropout,
                      ln_op_input, ln_op_conv2d, ln_op_maxpool2d, ln_op_flatten, ln_op_batchnorm;
/* the last Softmax trained with categorical cross-entropy as one op (the
** book's combined gradient); not a kind of the model file */
extern const ln_OpDef ln_op_softmax_cce;
/* the losses as a plan's last node (ops/loss.c); training only */
extern const ln_OpDef ln_op_loss_cce, ln_op_loss_bce, ln_op_loss_mse, ln_op_loss_mae;

/* setup of the kinds whose output is as wide as their input */
int ln_op_keepwidth(ln_Node *n, const ln_OpSpec *s, char *err, size_t errlen);

/* the op of a model file's layer type, or NULL */
const ln_OpDef *ln_op_find(const char *name);

#endif
