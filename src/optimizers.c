/* optimizers.c: placeholder until this part lands. */
#include "lunet.h"

void ln_open_optimizers(lua_State *L) { (void)L; }
