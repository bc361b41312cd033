--- lunet: Neural Networks from Scratch for Lua 5.4, with C kernels.
-- The C module `lunet.core` registers every object (tensors, layers,
-- activations, losses, optimizers, accuracies, Model); this file adds the
-- Lua conveniences (data helpers, callbacks, plots) and returns the table.
local core = require "lunet.core"

local lunet = {}
for k, v in pairs(core) do lunet[k] = v end

return lunet
