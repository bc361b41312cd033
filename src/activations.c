/* activations.c: placeholder until this part lands. */
#include "lunet.h"

void ln_open_activations(lua_State *L) { (void)L; }
