/* losses.c: placeholder until this part lands. */
#include "lunet.h"

void ln_open_losses(lua_State *L) { (void)L; }
