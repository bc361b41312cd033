--- lunet.data: data sets and loaders (placeholder until the data part lands).
local core = require "lunet.core"
local data = core.data or {}
return data
