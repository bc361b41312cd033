/*
** folder_fuzz.c: libFuzzer target for lunet.data.image_folder (src/data.c
** with the PNG decoder), driven through the module in a lua_State.
**
** The input is a little archive that becomes a folder tree: records of
**   1 byte  folder (low 2 bits: "0", "1", "7", "cat") and file name
**           (bits 2..4: f0..f7; bit 5: ".txt" instead of ".png")
**   2 bytes little-endian length, then that many bytes of file content.
** The first byte of the input picks gray (even) or color (odd).  The tree
** is written under a private scratch folder, read with image_folder under
** pcall (any Lua error is fine; a crash or a sanitizer report is not), and
** removed again.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int luaopen_lunet_core(lua_State *L);

static const char *const folders[4] = {"0", "1", "7", "cat"};

/* the scratch root for this process */
static const char *root(void) {
  static char buf[256];
  if (buf[0] == '\0') {
    const char *t = getenv("TMPDIR");
    snprintf(buf, sizeof buf, "%s/lunet_folder_fuzz.%ld", t && *t ? t : "/tmp", (long)getpid());
  }
  return buf;
}

/* remove every file and folder the archive format can name */
static void cleanup(void) {
  char p[512];
  int f, k, x;
  for (f = 0; f < 4; f++) {
    for (k = 0; k < 8; k++)
      for (x = 0; x < 2; x++) {
        snprintf(p, sizeof p, "%s/%s/f%d.%s", root(), folders[f], k, x ? "txt" : "png");
        unlink(p);
      }
    snprintf(p, sizeof p, "%s/%s", root(), folders[f]);
    rmdir(p);
  }
  rmdir(root());
}

/* one lua_State for the whole run, with lunet.core loaded as a global */
static lua_State *state(void) {
  static lua_State *L = NULL;
  if (L == NULL) {
    L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "lunet.core", luaopen_lunet_core, 0);
    lua_setglobal(L, "core");
    if (luaL_loadstring(L, "local dir, gray = ...\n"
                           "local ok, X, y = pcall(core.data.image_folder, dir, { gray = gray })\n"
                           "if ok then assert(#X == #y and X:numel() > 0) else assert(type(X) == 'string') end\n") != LUA_OK)
      abort();
    lua_setglobal(L, "probe");
  }
  return L;
}

/* archive -> folder tree -> image_folder -> cleanup */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = state();
  char p[512];
  size_t pos = 1;
  int gray;
  if (size < 1) return 0;
  gray = (data[0] & 1) == 0;
  cleanup();
  mkdir(root(), 0700);
  while (pos + 3 <= size) {
    unsigned sel = data[pos];
    size_t len = (size_t)data[pos + 1] | ((size_t)data[pos + 2] << 8);
    FILE *fp;
    pos += 3;
    if (len > size - pos) len = size - pos;
    snprintf(p, sizeof p, "%s/%s", root(), folders[sel & 3]);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/%s/f%u.%s", root(), folders[sel & 3], (sel >> 2) & 7, (sel & 32) ? "txt" : "png");
    fp = fopen(p, "wb");
    if (fp != NULL) {
      if (len) fwrite(data + pos, 1, len, fp);
      fclose(fp);
    }
    pos += len;
  }
  lua_getglobal(L, "probe");
  lua_pushstring(L, root());
  lua_pushboolean(L, gray);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    fprintf(stderr, "folder_fuzz: %s\n", lua_tostring(L, -1));
    abort();
  }
  lua_gc(L, LUA_GCCOLLECT, 0);
  cleanup();
  return 0;
}
