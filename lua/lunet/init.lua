--- lunet: Neural Networks from Scratch for Lua 5.4, with C kernels.
-- The C module `lunet.core` registers every object (tensors, layers,
-- activations, losses, optimizers, accuracies, Model); the files beside
-- this one add Lua conveniences (data helpers, training loop, callbacks,
-- plots).  The module sets no globals.
local core = require "lunet.core"

local lunet = {}
for k, v in pairs(core) do lunet[k] = v end

--- lunet.config(): how this build was made (BLAS, threads, flags); prints
-- readably in the REPL
function lunet.config()
  local c = core.config()
  return setmetatable(c, { __tostring = function(t)
    local keys, out = {}, {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do out[#out + 1] = string.format("%s = %s", k, tostring(t[k])) end
    return "{ " .. table.concat(out, ", ") .. " }"
  end })
end

lunet.data = require "lunet.data"
lunet.image = core.image or {}

-- lunet.callbacks and lunet.plot load on first use
local lazy = { callbacks = "lunet.callbacks", plot = "lunet.plot" }
setmetatable(lunet, {
  __index = function(t, k)
    local name = lazy[k]
    if name then
      local m = require(name)
      rawset(t, k, m)
      return m
    end
  end,
})

-- lunet.Model() builds a model; lunet.Model.load(path) reads a saved one
local model = require "lunet.model"

--- lunet.float_repr(x): x the way Python prints a float (the shortest text
-- that reads back to the same double, "1.0" for integral values), so ports
-- of the book print its learning rates exactly as the book does
lunet.float_repr = model.pyfloat
lunet.Model = setmetatable({ load = model.load }, {
  __call = function(_, ...) return core.Model(...) end,
  __tostring = function() return "lunet.Model" end,
})

return lunet
