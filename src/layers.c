/* layers.c: placeholder until this part lands. */
#include "lunet.h"

void ln_open_layers(lua_State *L) { (void)L; }
