local lunet = require "lunet"
describe("lunet.tensor", function()
  it("builds from nested tables", function()
    local t = lunet.tensor{{1, 2, 3}, {4, 5, 6}}
    assert.same({2, 3}, {t:shape()})
  end)
end)
