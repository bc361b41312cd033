-- Specs of lunet.ReLU, lunet.Sigmoid, lunet.Softmax and lunet.Linear
-- (src/activations.c).
local lunet = require "lunet"
local check = require "helpers.check"
local assert_close, assert_error_has, numgrad = check.close, check.error_has, check.numgrad

-- backward(R) against the finite-difference gradient of sum(output .* R)
local function gradcheck(act, x, h, tol)
  local R = lunet.randn(x:shape())
  local function f() return (act:forward(x) * R):sum() end
  f()
  local din = act:backward(R):clone()
  assert_close(din, numgrad(f, x, h), tol)
end

-- the shared protocol of the four activations
for _, name in ipairs{ "ReLU", "Sigmoid", "Softmax", "Linear" } do
  describe("lunet." .. name, function()
    it("describes itself", function()
      assert.are.equal(name, tostring(lunet[name]()))
    end)

    it("keeps output, dinputs and inputs, reusing its buffers", function()
      local a = lunet[name]()
      assert.is_nil(a.output)
      local x = lunet.randn(4, 3)
      local out = a:forward(x)
      assert.are.equal(out, a.output)
      assert.are.equal(x, a.inputs)
      assert.are.equal(out, a:forward(lunet.randn(4, 3)))
      local din = a:backward(lunet.randn(4, 3))
      assert.are.equal(din, a.dinputs)
      assert.are.equal(din, a:backward(lunet.randn(4, 3)))
      assert.is_nil(a.weights)
    end)

    it("matches finite differences", function()
      lunet.seed(21)
      local x = lunet.randn(3, 5)
      if name == "ReLU" then
        -- keep inputs away from the kink at 0
        for i = 1, 3 do for j = 1, 5 do
          local v = x:get(i, j)
          if math.abs(v) < 0.1 then x:set(i, j, v < 0 and v - 0.1 or v + 0.1) end
        end end
      end
      gradcheck(lunet[name](), x, 1e-2, 2e-3)
    end)

    it("raises on bad dvalues and before forward", function()
      local a = lunet[name]()
      assert_error_has(name .. ":backward: no forward pass yet (call forward before backward)",
                       a.backward, a, lunet.ones(2, 3))
      a:forward(lunet.ones(2, 3))
      assert_error_has(name .. ":backward: dvalues are 3x2, expected 2x3 (the last forward's output shape)",
                       a.backward, a, lunet.ones(3, 2))
      assert_error_has(name .. ":backward: argument 1 (dvalues) must be a lunet.Tensor, got number",
                       a.backward, a, 1)
    end)

    it("raises on bad inputs and assignments", function()
      local a = lunet[name]()
      assert_error_has(name .. ":forward: argument 1 (inputs) must be a lunet.Tensor, got table",
                       a.forward, a, {1, 2})
      assert_error_has(name .. ":forward: argument 2 (training) must be a boolean or nil, got string",
                       a.forward, a, lunet.ones(2, 2), "yes")
      assert_error_has(name .. ":predictions: argument 1 (outputs) must be a lunet.Tensor, got nil",
                       a.predictions, a, nil)
      assert_error_has(name .. ": cannot assign field 'output'", function() a.output = lunet.ones(1, 1) end)
    end)
  end)
end

describe("lunet.ReLU", function()
  describe("forward()", function()
    it("computes max(0, x) on any shape", function()
      local r = lunet.ReLU()
      assert_close(r:forward(lunet.tensor{{-1, 0, 2}, {3, -0.5, 0.25}}), {{0, 0, 2}, {3, 0, 0.25}}, 0)
      assert_close(r:forward(lunet.tensor{-2, 5}), {0, 5}, 0)
    end)
  end)

  describe("backward()", function()
    it("zeroes dvalues where inputs <= 0", function()
      local r = lunet.ReLU()
      r:forward(lunet.tensor{{-1, 0, 2}})
      assert_close(r:backward(lunet.tensor{{5, 6, 7}}), {{0, 0, 7}}, 0)
    end)
  end)

  describe("predictions()", function()
    it("returns a copy of the outputs", function()
      local r = lunet.ReLU()
      local out = lunet.tensor{{1, 2}, {3, 4}}
      local p = r:predictions(out)
      assert.same(out:totable(), p:totable())
      assert.are_not.equal(out, p)
    end)
  end)
end)

describe("lunet.Sigmoid", function()
  describe("forward()", function()
    it("computes 1 / (1 + exp(-x))", function()
      local s = lunet.Sigmoid()
      local out = s:forward(lunet.tensor{{0, 2, -2}})
      assert_close(out, {{0.5, 1 / (1 + math.exp(-2)), 1 / (1 + math.exp(2))}}, 1e-7)
      assert_close(s:forward(lunet.tensor{{100, -100}}), {{1, 0}}, 1e-7)
    end)
  end)

  describe("backward()", function()
    it("computes dvalues * (1 - out) * out", function()
      local s = lunet.Sigmoid()
      s:forward(lunet.tensor{{0, 2}})
      local o = 1 / (1 + math.exp(-2))
      assert_close(s:backward(lunet.tensor{{1, 3}}), {{0.25, 3 * (1 - o) * o}}, 1e-6)
    end)
  end)

  describe("predictions()", function()
    it("gives 1 where the output is above 0.5, else 0", function()
      local p = lunet.Sigmoid():predictions(lunet.tensor{{0.2, 0.6}, {0.5, 0.9}})
      assert.same({{0, 1}, {0, 1}}, p:totable())
    end)
  end)
end)

describe("lunet.Softmax", function()
  describe("forward()", function()
    it("normalises each row, subtracting its maximum first", function()
      local s = lunet.Softmax()
      local out = s:forward(lunet.tensor{{1, 1}, {0, math.log(3)}, {1000, 1000}, {-1000, 0}})
      assert_close(out, {{0.5, 0.5}, {0.25, 0.75}, {0.5, 0.5}, {0, 1}}, 1e-6)
    end)

    it("requires a 2-D tensor", function()
      local s = lunet.Softmax()
      assert_error_has("Softmax:forward: inputs are 3, expected a 2-D tensor", s.forward, s, lunet.ones(3))
      assert_error_has("Softmax:forward: inputs are 2x2x2, expected a 2-D tensor", s.forward, s, lunet.ones(2, 2, 2))
    end)
  end)

  describe("backward()", function()
    it("multiplies dvalues by the Jacobian of each row", function()
      local s = lunet.Softmax()
      s:forward(lunet.tensor{{0, 0}, {0, math.log(3)}})
      -- row 1: out = (0.5, 0.5), dv = (1, 0): dot = 0.5, din = out * (dv - 0.5)
      -- row 2: out = (0.25, 0.75), dv = (0, 2): dot = 1.5, din = (0.25 * -1.5, 0.75 * 0.5)
      assert_close(s:backward(lunet.tensor{{1, 0}, {0, 2}}), {{0.25, -0.25}, {-0.375, 0.375}}, 1e-6)
    end)
  end)

  describe("predictions()", function()
    it("gives the 1-based argmax of each row (the first one on ties)", function()
      local p = lunet.Softmax():predictions(lunet.tensor{{0.1, 0.7, 0.2}, {0.5, 0.3, 0.2}, {0.4, 0.2, 0.4}})
      assert.same({3}, {p:shape()})
      assert.same({2, 1, 1}, p:totable())
    end)

    it("requires 2-D outputs", function()
      local s = lunet.Softmax()
      assert_error_has("Softmax:predictions: outputs are 4, expected a 2-D tensor", s.predictions, s, lunet.ones(4))
    end)
  end)
end)

describe("lunet.Linear", function()
  describe("forward()", function()
    it("returns the inputs' values in its own buffer", function()
      local l = lunet.Linear()
      local x = lunet.tensor{{1, -2}, {3, 4}}
      local out = l:forward(x)
      assert.same(x:totable(), out:totable())
      x:set(1, 1, 9)
      assert.are.equal(1, out:get(1, 1))
    end)
  end)

  describe("backward()", function()
    it("copies dvalues", function()
      local l = lunet.Linear()
      l:forward(lunet.ones(1, 2))
      local dv = lunet.tensor{{5, 6}}
      local din = l:backward(dv)
      assert.same({{5, 6}}, din:totable())
      assert.are_not.equal(dv, din)
    end)
  end)

  describe("predictions()", function()
    it("returns a copy of the outputs", function()
      local out = lunet.tensor{{1.5}, {-2}}
      local p = lunet.Linear():predictions(out)
      assert.same(out:totable(), p:totable())
      assert.are_not.equal(out, p)
    end)
  end)
end)
