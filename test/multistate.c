/*
** multistate.c: lunet in several lua_States of one process at once.
**
** Each worker thread opens its own lua_State, requires lunet and runs the
** same seeded workload (data set, Model training with shuffling and
** dropout, save and load through safetensors, predict, a few raising
** calls, a PNG saved and read back, an image folder of 300 files written
** and read, which decodes in two threads).  The main thread first runs
** every seed alone to get the expected results; then NTHREADS threads
** run them at the same time, each with a seed chosen so that neighbours
** differ.  Any mutable state shared
** between lua_States (the RNG, a scratch buffer, an error message, a class
** registry) would make a thread's result differ from its solo run.
**
** usage: multistate ROOT CPATH   (ROOT holds lua/lunet/, CPATH e.g. build/?.so)
** exit status 0 when every thread matched its solo run.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#define NTHREADS 4
#define ROUNDS 3
#define NSEEDS 2

static const char *const workload =
  "local seed, path = ...\n"
  "local lunet = require 'lunet'\n"
  "lunet.seed(seed)\n"
  "local X, y = lunet.data.spiral(60, 3)\n"
  "local m = lunet.Model()\n"
  "m:add(lunet.Dense(2, 16)); m:add(lunet.ReLU()); m:add(lunet.Dropout(0.1))\n"
  "m:add(lunet.Dense(16, 3)); m:add(lunet.Softmax())\n"
  "m:set{ loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam{ learning_rate = 0.02 },\n"
  "       accuracy = lunet.CategoricalAccuracy() }\n"
  "m:finalize()\n"
  "local h = m:train(X, y, { epochs = 60, batch_size = 32, shuffle = true, verbose = 0 })\n"
  "m:save(path)\n"
  "local m2 = lunet.Model.load(path)\n"
  "os.remove(path)\n"
  "local p = m2:predict(X)\n"
  "local ok, err = pcall(lunet.Dense, 0, 3)\n"
  "assert(not ok and err:find('Dense'), 'Dense(0, 3) must raise')\n"
  "ok, err = pcall(m.predict, m, lunet.zeros(4, 5))\n"
  "assert(not ok and err:find('4x5'), 'predict on 4x5 must raise naming the shape: ' .. tostring(err))\n"
  "local r = lunet.randn(3, 3)\n"
  "local img, back = (lunet.rand(5, 6, 3) * 255)\n"
  "lunet.image.save(path .. '.png', img)\n"
  "back = lunet.image.load(path .. '.png', { gray = true })\n"
  "os.remove(path .. '.png')\n"
  "local labels = {}\n"
  "for i = 1, 300 do labels[i] = i % 3 + 1 end\n" /* over 256 files: image_folder's two threads */
  "lunet.data.export_image_folder(lunet.rand(300, 12) * 255, lunet.tensor(labels), path .. '.d', 4, 3)\n"
  "local FX, Fy = lunet.data.image_folder(path .. '.d')\n"
  "os.execute(\"rm -rf '\" .. path .. \".d'\")\n"
  "back = back + FX:sum() / 1000 + Fy:sum()\n"
  "return string.format('%.9g %.9g %.9g %.9g %.9g', h.loss[#h.loss], h.accuracy[#h.accuracy], (p * p):sum(),\n"
  "                     r:sum(), back:sum())\n";

typedef struct Job {
  const char *root, *cpath;
  int seed, index;
  char result[256];      /* workload's string, or "error: ..." */
} Job;

/* run the workload once in a fresh lua_State; the result into job->result */
static void run_once(Job *job, int tag) {
  char path[512], setup[2048];
  lua_State *L = luaL_newstate();
  if (L == NULL) { snprintf(job->result, sizeof job->result, "error: no lua_State"); return; }
  luaL_openlibs(L);
  snprintf(setup, sizeof setup,
           "package.path = '%s/lua/?.lua;%s/lua/?/init.lua;' .. package.path\n"
           "package.cpath = '%s;' .. package.cpath\n", job->root, job->root, job->cpath);
  snprintf(path, sizeof path, "/tmp/lunet_multistate_%ld_%d_%d.safetensors", (long)getpid(), job->seed, tag);
  if (luaL_dostring(L, setup) != LUA_OK ||
      luaL_loadstring(L, workload) != LUA_OK ||
      (lua_pushinteger(L, job->seed), lua_pushstring(L, path), lua_pcall(L, 2, 1, 0)) != LUA_OK)
    snprintf(job->result, sizeof job->result, "error: %s", lua_tostring(L, -1));
  else
    snprintf(job->result, sizeof job->result, "%s", lua_tostring(L, -1));
  lua_close(L);
}

/* thread body: ROUNDS runs, all must give the same string */
static void *worker(void *arg) {
  Job *job = (Job *)arg;
  char first[256];
  int i;
  for (i = 0; i < ROUNDS; i++) {
    run_once(job, job->index + 1000 * i);
    if (i == 0) snprintf(first, sizeof first, "%s", job->result);
    else if (strcmp(first, job->result) != 0) {
      snprintf(job->result, sizeof job->result, "error: round %d differs from round 1 (%.200s)", i + 1, first);
      break;
    }
  }
  return NULL;
}

/* open a lua_State with lunet required and seeded with seed */
static lua_State *open_seeded(const char *root, const char *cpath, int seed) {
  char setup[2048];
  lua_State *L = luaL_newstate();
  if (L == NULL) return NULL;
  luaL_openlibs(L);
  snprintf(setup, sizeof setup,
           "package.path = '%s/lua/?.lua;%s/lua/?/init.lua;' .. package.path\n"
           "package.cpath = '%s;' .. package.cpath\n"
           "lunet = require 'lunet'; lunet.seed(%d)", root, root, cpath, seed);
  if (luaL_dostring(L, setup) != LUA_OK) {
    fprintf(stderr, "setup: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  return L;
}

/* one random number from lunet.randn in L */
static double draw(lua_State *L) {
  double v = 0;
  if (luaL_dostring(L, "return lunet.randn(1):get(1)") == LUA_OK) v = lua_tonumber(L, -1);
  lua_settop(L, 0);
  return v;
}

/* two states in one thread, drawing alternately, must each give the
** sequence a state drawing alone gives: the generator is per lua_State */
static int interleaved(const char *root, const char *cpath) {
  double alone[8], mixed[8];
  lua_State *A, *B;
  int i, bad = 0;
  A = open_seeded(root, cpath, 7);
  if (A == NULL) return 1;
  for (i = 0; i < 8; i++) alone[i] = draw(A);
  lua_close(A);
  A = open_seeded(root, cpath, 7);
  B = open_seeded(root, cpath, 7);
  if (A == NULL || B == NULL) return 1;
  for (i = 0; i < 8; i++) { mixed[i] = draw(A); (void)draw(B); (void)draw(B); }
  for (i = 0; i < 8; i++) if (mixed[i] != alone[i]) bad = 1;
  lua_close(A);
  lua_close(B);
  printf("interleaved generators in two lua_States: %s\n", bad ? "MISMATCH" : "ok");
  return bad;
}

/* solo runs, then NTHREADS threads at once, then compare */
int main(int argc, char **argv) {
  Job solo[NSEEDS], jobs[NTHREADS];
  pthread_t th[NTHREADS];
  int i, bad = 0;
  if (argc != 3) { fprintf(stderr, "usage: %s ROOT CPATH\n", argv[0]); return 2; }
  for (i = 0; i < NSEEDS; i++) {
    solo[i].root = argv[1]; solo[i].cpath = argv[2]; solo[i].seed = 42 + i; solo[i].index = -1 - i;
    run_once(&solo[i], -1);
    printf("solo seed %d: %s\n", solo[i].seed, solo[i].result);
    if (strncmp(solo[i].result, "error", 5) == 0) bad = 1;
  }
  if (bad || interleaved(argv[1], argv[2])) return 1;
  for (i = 0; i < NTHREADS; i++) {
    jobs[i].root = argv[1]; jobs[i].cpath = argv[2]; jobs[i].seed = 42 + i % NSEEDS; jobs[i].index = i;
    if (pthread_create(&th[i], NULL, worker, &jobs[i]) != 0) { perror("pthread_create"); return 1; }
  }
  for (i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
  for (i = 0; i < NTHREADS; i++) {
    int ok = strcmp(jobs[i].result, solo[i % NSEEDS].result) == 0;
    printf("thread %d seed %d: %s %s\n", i + 1, jobs[i].seed, jobs[i].result, ok ? "ok" : "MISMATCH");
    if (!ok) bad = 1;
  }
  printf("%s: %d lua_States in %d threads, %d rounds each\n", bad ? "FAILED" : "ok", NTHREADS * ROUNDS,
         NTHREADS, ROUNDS);
  return bad;
}
