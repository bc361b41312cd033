-- test/onnx_export.lua DIR: writes the models the ONNX check uses (issue 17):
-- those of test/export_models.lua, exported with model:export_onnx, with
-- its inputs and model:predict's outputs as raw float32 files and a manifest
-- (DIR/manifest.txt: name and input shape per line).  test/onnx_check.py runs
-- python3-onnx's checker on them, test/onnx_check.js ONNX Runtime (its
-- WebAssembly build under node).
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.path = "./test/?.lua;" .. package.path
package.cpath = "./?.so;" .. package.cpath
local models = require "export_models"

local dir = assert(arg[1], "usage: lua5.4 test/onnx_export.lua DIR")

local manifest = {}
models.each(function(name, m, X)
  m:export_onnx(string.format("%s/%s.onnx", dir, name))
  models.f32(X, string.format("%s/%s.x", dir, name))
  models.f32(m:predict(X), string.format("%s/%s.p", dir, name))
  manifest[#manifest + 1] = name .. " " .. table.concat({ X:shape() }, " ")
  print("exported " .. name)
end)
local f = assert(io.open(dir .. "/manifest.txt", "w"))
f:write(table.concat(manifest, "\n"), "\n")
f:close()
