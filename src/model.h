/*
** model.h: what the four files of lunet.Model share (private to them):
** model.c (the object, add/set/finalize, the layer-by-layer forward and
** backward, predict, parameters), model_plan.c (the shapes and the training
** plans' setup over the layers' buffers), model_step.c (the training step)
** and model_train.c (the entry points Model:train and Model:evaluate call).
*/
#ifndef LUNET_MODEL_H
#define LUNET_MODEL_H

#include "lunet.h"
#include "engine/plan.h"

#define LN_MODEL "lunet.Model"

/* user values of a Model */
enum {
  UV_LAYERS = 1,  /* list of layers, in order */
  UV_LOSS,        /* loss object */
  UV_OPT,         /* optimizer */
  UV_ACC,         /* accuracy */
  UV_COMBINED,    /* SoftmaxCategoricalCrossentropy when it applies */
  UV_TRAINABLE,   /* list of trainable layers (after finalize) */
  UV_BX,          /* batch inputs buffer */
  UV_BY,          /* batch targets buffer */
  UV_PRED,        /* predictions buffer */
  UV_PERM,        /* permutation buffer (userdata of size_t) */
  UV_OUT,         /* predict() result while it is being filled */
  UV_POOL,        /* unused (the pool is the state's: threads.c) */
  UV_P0,          /* the split step's first partial sum of the first Dense (see plan_forward) */
  UV_PLANS,       /* step_any's plans (MAXSEG segments and the update job) */
  MODEL_NUV = UV_PLANS
};

#define SPLIT_WORK 200000  /* multiply-adds per step below which one thread runs */
#define SPLIT_UPDATE 32768 /* parameters below which one thread updates them */
#define MAXSEG 8           /* plan segments a step runs on the threads (more: layer by layer) */
#define WHO_CACHED 32 /* trainable layers whose optimizer message the model keeps */
/* most rows of a data set (tensors hold at most 2^40 elements): keeps the
** internal entry points' sizes far from overflow */
#define MAXROWS ((lua_Integer)1 << 40)

typedef struct Model {
  int finalized;
  /* the generator of the model's dropout masks and shuffles (API.md: each
  ** Model owns one, seeded from the state's at the first finalize, saved
  ** with the model) */
  ln_Rng rng;
  int has_rng;
  size_t perm_n;  /* entries in the UV_PERM buffer */
  /* the last step's batch, not yet copied into UV_BX (the first layer's
  ** inputs): rows first.. of X (or of the permutation), see setpending */
  int pending, pending_perm;
  size_t pending_first, pending_count;
  /* "Model:train: optimizer, trainable: layer j (...)" of the fused step's
  ** updates, made once per layer instead of every step (see trainwho) */
  const ln_Layer *who_layer[WHO_CACHED];
  char who[WHO_CACHED][256];
} Model;

Model *ln_model_check(lua_State *L, int idx);
/* walk the layers' sample shapes (model_plan.c): raises "<who>: layer 3
** (Dense(4 -> 3)) expects 4 inputs but layer 1 (Dense(2 -> 8)) gives 8",
** builds the layers sized by their input; with shapes a stack index, sets
** shapes[i] to layer i's output shape (a list) or false where unknown */
void ln_model_walkshapes(lua_State *L, int model, int shapes, const char *who);
/* the model's generator (seeded from the state's on first use) */
ln_Rng *ln_model_rng(lua_State *L, Model *m);
/* number of layers of the model at stack index model */
int ln_model_nlayers(lua_State *L, int model);
/* push layer i (1-based); returns it, or NULL for a Lua layer */
ln_Layer *ln_model_layer(lua_State *L, int model, int i);
/* "Model:train: layer 3 (Dense(128 -> 10))" for layer i (l, at stack index idx) */
const char *ln_model_layerwho(lua_State *L, int idx, char *buf, size_t n, const char *fn, int i, const ln_Layer *l);
/* the same for trainable layer j's optimizer, cached in the model */
const char *ln_model_trainwho(lua_State *L, Model *m, char *buf, size_t n, int j, const ln_Layer *l);
/* raise unless finalized and, for training, loss/optimizer/accuracy set */
void ln_model_checkready(lua_State *L, Model *m, const char *who, int needtrain);
/* forward through layers first..last from the tensor on the stack top (replaced by the output) */
void ln_model_forward_range(lua_State *L, int first, int last, int training, const char *fn);
/* forward through all layers from the tensor at in_idx; leaves the output on top */
void ln_model_forward_all(lua_State *L, int in_idx, int training, const char *fn);
/* backward through layers hi..lo from the gradient on top (replaced by layer lo's dinputs) */
void ln_model_backward_range(lua_State *L, int hi, int lo, const char *fn);
/* rows first.. of src (or perm[first..]) into model buffer uv (copied when copy); pushes it, returns its index */
int ln_model_gather(lua_State *L, int uv, const ln_Tensor *src, size_t first, size_t count, const size_t *perm,
                    int copy);
void ln_model_checkxy(lua_State *L, const ln_Tensor *X, const ln_Tensor *Y, const char *who);
/* the last layer's predictions of the output at out_idx into the model's buffer; pushes it */
int ln_model_predictions(lua_State *L, int out_idx);
/* raise naming the row of y when a label or binary target of the batch is out of range */
void ln_model_checklabels(lua_State *L, int loss, int out, int by, size_t first, const size_t *perm, const char *who);

/* model_plan.c */
ln_Pool *ln_model_pool(lua_State *L);
int ln_model_segment(lua_State *L, int first, const ln_Tensor *in, size_t *work);
#define ln_model_fastprefix(L, bx, work) ln_model_segment(L, 1, bx, work)
void ln_model_forward_setup(lua_State *L, ln_Plan *pl, int bx, int first, int last);
void ln_model_backward_setup(lua_State *L, Model *m, ln_Plan *pl, int opt, int fused, int din);
ln_Pool *ln_model_plan_begin(lua_State *L, ln_Plan *pl, const ln_Tensor *X, const size_t *perm, size_t count,
                             size_t work);
void ln_model_setpending(Model *m, const ln_Plan *pl, const size_t *perm, size_t first, size_t count);

/* model_step.c: what the steps of one call of model:_steps keep of the
** plans a batch size's first step set up (the plans are the model's) */
typedef struct ln_Steps {
  int nolua;              /* no Lua layer: nothing but C runs between steps, so plans can run again */
  int reg_any;            /* a trainable layer has a regularizer */
  size_t count;           /* the batch size the plans are set up for */
  int nseg, sega[MAXSEG], segb[MAXSEG]; /* the segments: layers sega..segb */
  ln_Pool *segpool[MAXSEG];
  int setup[MAXSEG];      /* this step set segment s up (its backward too) */
  float *top[MAXSEG];     /* the output gradient its backward was set up on */
  int k, skip;            /* the first segment's last layer (0: none); leading Input layers */
  size_t work;            /* the first segment's multiply-adds per sample */
  int lossnode;           /* the last segment ends with the loss's node */
  float *losses;          /* where that node writes each row's loss */
  int combined_ready;     /* the combined softmax/cross-entropy checked its targets once (sparse known) */
} ln_Steps;
void ln_model_steps_begin(lua_State *L, ln_Steps *S);
/* one training step on rows first..first+count-1 (0-based) of X and y (the
** model and both at stack 1..3, checked), or those positions of perm;
** res = data_loss, reg_loss, accuracy */
void ln_model_step(lua_State *L, Model *m, const ln_Tensor *X, const ln_Tensor *Y, size_t first, size_t count,
                   const size_t *perm, double res[3], ln_Steps *S);

/* model_train.c */
extern const ln_Method ln_model_train_methods[];

#endif
