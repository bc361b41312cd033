-- bench/memory_natural.lua: the training set scaled the way a Lua user
-- writes it, X = (X - 127.5) / 127.5 after lunet.data.shuffle; bench/run.sh
-- reports its peak RSS (three live 188 MB copies are what it needs)
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = (os.getenv("LUNET_CPATH") or "./?.so") .. ";" .. package.cpath
local lunet = require "lunet"
local X, y = lunet.data.fashion_mnist()
X, y = lunet.data.shuffle(X, y)
X = (X - 127.5) / 127.5
assert(#X == #y)
