-- Export a saved model as C source (Model:export_c): one .c file and its .h,
-- the weights as constants, <name>_predict needing only libm.
-- Run: lua5.4 examples/export_c.lua MODEL.safetensors OUT.c [name]
--      (name defaults to OUT's base name: fashion.c -> fashion_predict)
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local lunet = require "lunet"

local model_path, out = arg[1], arg[2]
if not model_path or not out then error("usage: lua5.4 examples/export_c.lua MODEL.safetensors OUT.c [name]") end
local name = arg[3] or out:match("([%w_]+)%.c$")
lunet.Model.load(model_path):export_c(out, { name = name })
print(string.format("wrote %s and %s (%s_predict)", out, (out:gsub("%.c$", ".h")), name))
