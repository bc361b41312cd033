-- json_spec.lua: the architecture's JSON through cJSON (src/json.c; it
-- replaced lua/lunet/json.lua): deterministic text, exact numbers, strict
-- reading.
local core = require "lunet.core"
local encode, decode = core._json_encode, core._json_decode

local raises = require("helpers.check").raises

describe("the architecture's JSON", function()
  it("writes sorted keys, arrays for sequences, and reads them back", function()
    local v = { layers = { { type = "Dense", n_inputs = 784, n_neurons = 128 }, { type = "ReLU" } },
                optimizer = { type = "Adam", learning_rate = 0.001, beta_1 = 0.9, binary = false }, empty = {} }
    local text = encode(v)
    assert.are.equal('{"empty":[],"layers":[{"n_inputs":784,"n_neurons":128,"type":"Dense"},{"type":"ReLU"}],' ..
      '"optimizer":{"beta_1":0.9,"binary":false,"learning_rate":0.001,"type":"Adam"}}', text)
    assert.are.same(v, decode(text))
    assert.are.equal("integer", math.type(decode(text).layers[1].n_inputs))
  end)

  it("writes every double so that it reads back exactly (cJSON's own printing keeps 15 digits)", function()
    local rng = 12345
    for _ = 1, 2000 do
      rng = (rng * 1103515245 + 12345) % 2147483648
      local x = (rng / 2147483648) * 10 ^ ((rng % 40) - 20)
      assert.are.equal(x, decode(encode { x = x }).x)
    end
    for _, x in ipairs { 0.1, 1 / 3, 0.0009990009990009990, 2 ^ 53, -2 ^ -1074, 1.7976931348623157e308 } do
      assert.are.equal(x, decode(encode { x })[1])
    end
    assert.are.equal(1 << 53, decode(encode { 1 << 53 })[1])
  end)

  it("refuses what it cannot write or should not read", function()
    raises("json: cannot encode nan", encode, { 0 / 0 })
    raises("json: cannot encode inf", encode, { math.huge })
    raises("beyond 2^53", encode, { math.maxinteger })
    raises("object keys must be strings", encode, { [true] = 1 })
    raises("cannot encode a function", encode, { print })
    raises("not UTF-8", encode, { "\255" })
    local deep = {}
    for _ = 1, 100 do deep = { deep } end
    raises("nested deeper than 64 levels", encode, deep)
    raises("json: null is not supported", decode, '{"a":null}')
    raises("json: key 'a' appears twice", decode, '{"a":1,"a":2}')
    raises("json: \\u0000 in a string", decode, '{"a\\u0000":1}')
    raises("json: data after the value", decode, '{"a":1} x')
    raises("json: not valid JSON (error near byte", decode, '{"a":')
    raises("nested deeper than 64 levels", decode, string.rep("[", 100) .. string.rep("]", 100))
  end)
end)
