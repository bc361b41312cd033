/* safetensors.c: placeholder until this part lands. */
#include "lunet.h"

void ln_open_safetensors(lua_State *L) { (void)L; }
