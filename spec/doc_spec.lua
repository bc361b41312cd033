-- doc_spec.lua: every ```lua example of doc/api.md runs (a documented
-- example that raises is a documentation bug).  The CSV example reads a
-- small iris.csv written here.
local lunet = require "lunet"

describe("doc/api.md", function()
  it("every Lua example runs", function()
    local f = assert(io.open("doc/api.md", "rb")); local text = f:read("a"); f:close()
    local iris = os.tmpname()
    local w = assert(io.open(iris, "wb"))
    w:write("sepal_length,sepal_width,species\n5.1,3.5,setosa\n4.9,3.0,setosa\n6.3,2.5,virginica\n",
      "5.8,2.7,versicolor\n6.4,3.2,versicolor\n")
    w:close()
    local n = 0
    for block in text:gmatch("```lua\n(.-)```") do
      n = n + 1
      block = block:gsub('"iris%.csv"', string.format("%q", iris))
      local env = setmetatable({ lunet = lunet, print = function() end }, { __index = _G })
      local chunk = assert(load(block, "doc/api.md example " .. n, "t", env))
      local ok, err = pcall(chunk)
      assert(ok, "example " .. n .. " raises: " .. tostring(err) .. "\n" .. block)
    end
    os.remove(iris)
    assert(n >= 15, "only " .. n .. " examples found")
  end)
end)
