--- lunet: Neural Networks from Scratch for Lua 5.4, with C kernels.
-- The C module `lunet.core` registers every object (tensors, layers,
-- activations, losses, optimizers, accuracies, Model); the files beside
-- this one add Lua conveniences (data helpers, training loop, callbacks,
-- plots).  The module sets no globals.
local core = require "lunet.core"

local lunet = {}
for k, v in pairs(core) do lunet[k] = v end

lunet.data = require "lunet.data"
lunet.image = core.image or {}

return lunet
