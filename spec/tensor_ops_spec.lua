-- tensor_ops_spec.lua: tensors for experimenting (issue 15): reductions over
-- each dimension, NumPy broadcasting, comparisons, where/masked_fill_, the
-- element-wise functions and their in-place variants, shape functions.
-- Expected values come from hand-written cases and from plain Lua loops
-- over get() (an implementation independent of the C kernels).
local lunet = require "lunet"

local raises = require("helpers.check").raises

-- all index tuples of a shape, in row-major order
local function indices(shape)
  local out, idx = {}, {}
  local function rec(d)
    if d > #shape then out[#out + 1] = { table.unpack(idx) }; return end
    for i = 1, shape[d] do idx[d] = i; rec(d + 1) end
  end
  rec(1)
  return out
end

local function close(a, b, tol)
  return a == b or math.abs(a - b) <= tol * math.max(1, math.abs(a), math.abs(b)) or (a ~= a and b ~= b)
end

-- reference reduction of t over dimension d at the kept-dim index idx
local function ref_reduce(t, d, idx, kind)
  local n = select(d, t:shape())
  local vals = {}
  for k = 1, n do
    local j = { table.unpack(idx) }
    j[d] = k
    vals[k] = t:get(table.unpack(j))
  end
  if kind == "sum" or kind == "mean" then
    local s = 0
    for _, v in ipairs(vals) do s = s + v end
    return kind == "sum" and s or s / n
  elseif kind == "std" then
    local s = 0
    for _, v in ipairs(vals) do s = s + v end
    local m, ss = s / n, 0
    for _, v in ipairs(vals) do ss = ss + (v - m) ^ 2 end
    return math.sqrt(ss / n)
  end
  local best, bi = vals[1], 1
  for k = 2, n do
    if (kind:find("max") and vals[k] > best) or (kind:find("min") and vals[k] < best) then best, bi = vals[k], k end
  end
  if kind:find("^arg") then return bi end
  return best
end

describe("reductions over one dimension", function()
  it("give per-row and per-column results of the issue's example, keeping the dimension", function()
    local t = lunet.tensor { { 1, 2, 3 }, { 4, 5, 6 } }
    assert.are.same({ { 4, 5, 6 } }, t:max(1):totable())
    assert.are.same({ { 2 }, { 5 } }, t:mean(2):totable())
    assert.are.same({ { 2, 2, 2 } }, t:argmax(1):totable())
    assert.are.same({ { 1 }, { 1 } }, t:argmin(2):totable())
    assert.are.same({ { 5, 7, 9 } }, t:sum(1):totable())
    assert.are.same({ { 1 }, { 4 } }, t:min(2):totable())
    assert.are.same({ { 1.5, 1.5, 1.5 } }, t:std(1):totable())
    assert.are.equal(21, t:sum()) -- without dim: a number, as before
    -- the book's softmax: exp(x - max(x, axis=1, keepdims=True)) / sum(..., axis=1, keepdims=True)
    local e = (t - t:max(2)):exp()
    local p = e / e:sum(2)
    for r = 1, 2 do assert(close(p:sum(2):get(r, 1), 1, 1e-6)) end
  end)

  it("match a plain-Lua reference on every dimension of 3-D and 4-D tensors", function()
    lunet.seed(3)
    for _, shape in ipairs { { 2, 3, 4 }, { 3, 1, 2, 5 }, { 2, 2, 3, 2 }, { 7 } } do
      local t = lunet.randn(table.unpack(shape))
      for d = 1, #shape do
        for _, kind in ipairs { "sum", "mean", "std", "min", "max", "argmax", "argmin" } do
          local r = t[kind](t, d)
          local want = { table.unpack(shape) }
          want[d] = 1
          assert.are.same(want, { r:shape() }, kind .. " over " .. d)
          for _, idx in ipairs(indices(want)) do
            local got, exp = r:get(table.unpack(idx)), ref_reduce(t, d, idx, kind)
            assert(close(got, exp, 1e-5), string.format("%s over dim %d of %s at %s: %g vs %g", kind, d,
              table.concat(shape, "x"), table.concat(idx, ","), got, exp))
          end
        end
      end
    end
  end)

  it("raise on a dim that is not an integer in 1..dim(), and on extra arguments", function()
    local t = lunet.tensor { { 1, 2, 3 }, { 4, 5, 6 } }
    raises({ "Tensor:sum: dim must be an integer in 1..2 (the tensor has 2 dimensions), got string" }, t.sum, t, "axis")
    raises({ "Tensor:max: dim must be an integer in 1..2", "got 3" }, t.max, t, 3)
    raises({ "Tensor:mean: dim must be an integer", "got 0" }, t.mean, t, 0)
    raises({ "Tensor:argmax: dim must be an integer", "got 1.5" }, t.argmax, t, 1.5)
    raises({ "Tensor:std: takes at most one argument (dim), got 2" }, t.std, t, 1, true)
  end)

  it("ignore NaN in min/max/argmax unless every value is NaN", function()
    local nan = 0 / 0
    local t = lunet.tensor { { nan, 2, 1 }, { nan, nan, nan } }
    assert.are.equal(2, t:max(2):get(1, 1))
    assert.are.equal(2, t:argmax(2):get(1, 1))
    assert.are.equal(3, t:argmin(2):get(1, 1))
    local m = t:max(2):get(2, 1)
    assert.is_true(m ~= m)
  end)
end)

describe("broadcasting (NumPy's rules)", function()
  local function ref_bin(a, b, f)
    local sa, sb = { a:shape() }, { b:shape() }
    local n = math.max(#sa, #sb)
    local out = {}
    for i = 1, n do
      local x = sa[#sa - n + i] or 1
      local y = sb[#sb - n + i] or 1
      out[i] = math.max(x, y)
    end
    return out, function(idx)
      local ia, ib = {}, {}
      for i = 1, #sa do ia[i] = sa[i] == 1 and 1 or idx[n - #sa + i] end
      for i = 1, #sb do ib[i] = sb[i] == 1 and 1 or idx[n - #sb + i] end
      return f(a:get(table.unpack(ia)), b:get(table.unpack(ib)))
    end
  end

  it("stretches size-1 dimensions on either side, for every operator and function", function()
    lunet.seed(4)
    local ops = {
      { "+", function(a, b) return a + b end, function(x, y) return x + y end },
      { "-", function(a, b) return a - b end, function(x, y) return x - y end },
      { "*", function(a, b) return a * b end, function(x, y) return x * y end },
      { "/", function(a, b) return a / b end, function(x, y) return x / y end },
      { "gt", function(a, b) return a:gt(b) end, function(x, y) return x > y and 1 or 0 end },
      { "le", function(a, b) return a:le(b) end, function(x, y) return x <= y and 1 or 0 end },
      { "eq", function(a, b) return a:eq(b) end, function(x, y) return x == y and 1 or 0 end },
      { "maximum", function(a, b) return lunet.maximum(a, b) end, math.max },
      { "minimum", function(a, b) return lunet.minimum(a, b) end, math.min },
    }
    local shapes = { { { 3, 1 }, { 1, 4 } }, { { 2, 3, 4 }, { 4 } }, { { 2, 1, 4 }, { 3, 1 } },
                     { { 2, 3, 1, 5 }, { 1, 3, 4, 1 } }, { { 4 }, { 2, 3, 4 } }, { { 1 }, { 2, 2 } },
                     { { 1, 3 }, { 3 } } }
    for _, sh in ipairs(shapes) do
      local a = lunet.randn(table.unpack(sh[1]))
      local b = lunet.randn(table.unpack(sh[2])):clamp(-2, 2) + 3 -- no division by ~0
      for _, op in ipairs(ops) do
        local r = op[2](a, b)
        local want, at = ref_bin(a, b, op[3])
        local what = op[1] .. " " .. table.concat(sh[1], "x") .. " " .. table.concat(sh[2], "x")
        assert.are.same(want, { r:shape() }, what)
        for _, idx in ipairs(indices(want)) do
          assert(close(r:get(table.unpack(idx)), at(idx), 1e-6), op[1])
        end
      end
    end
  end)

  it("works in place when the result keeps the left operand's shape", function()
    local t = lunet.tensor { { 1, 2, 3 }, { 4, 5, 6 } }
    t:sub_(t:mean(2))
    assert.are.same({ { -1, 0, 1 }, { -1, 0, 1 } }, t:totable())
    t:mul_(lunet.tensor { 1, 2, 3 })
    assert.are.same({ { -1, 0, 3 }, { -1, 0, 3 } }, t:totable())
    t:div_(lunet.tensor { { 1 }, { -1 } })
    assert.are.same({ { -1, 0, 3 }, { 1, 0, -3 } }, t:totable())
    raises({ "Tensor:add_: the result would be 2x2x3, not the tensor's own 2x3" }, t.add_, t, lunet.zeros(2, 1, 3))
    -- a view of the tensor itself as the right operand
    local u = lunet.tensor { { 1, 2 }, { 3, 4 } }
    u:sub_(u:rows(1, 1))
    assert.are.same({ { 0, 0 }, { 2, 2 } }, u:totable())
  end)

  it("names both shapes when they do not broadcast, and refuses an N x 1 column against N", function()
    local a = lunet.zeros(2, 3)
    raises({ "Tensor +: shapes 2x3 and 4 do not broadcast (last dimensions 3 and 4" },
      function() return a + lunet.zeros(4) end)
    raises({ "Tensor:gt: shapes 2x3 and 3x3 do not broadcast (sizes 2 and 3, dimension 2 from the end" },
      a.gt, a, lunet.zeros(3, 3))
    raises({ "Tensor:eq: shapes 3x1 and 3: an N x 1 column against a 1-D tensor of N would make N x N",
             "squeeze(2)" }, lunet.zeros(3, 1).eq, lunet.zeros(3, 1), lunet.zeros(3))
    -- the fix it suggests
    local o = lunet.tensor { { 0.1, 0.9 }, { 0.8, 0.2 }, { 0.3, 0.7 } }
    local y = lunet.tensor { 2, 1, 1 }
    assert.are.same({ 1, 1, 0 }, o:argmax(2):squeeze(2):eq(y):totable())
    assert.are.same({ 1, 1 }, { (lunet.zeros(1, 1) + lunet.zeros(1)):shape() }) -- N = 1 is fine
  end)
end)

describe("comparisons, where, masked_fill_", function()
  it("give 0/1 tensors, with numbers on either side", function()
    local t = lunet.tensor { 1, 2, 3, 4 }
    assert.are.same({ 0, 0, 1, 1 }, t:gt(2):totable())
    assert.are.same({ 0, 1, 1, 1 }, t:ge(2):totable())
    assert.are.same({ 1, 0, 0, 0 }, t:lt(2):totable())
    assert.are.same({ 1, 1, 0, 0 }, t:le(2):totable())
    assert.are.same({ 1, 0, 1, 1 }, t:ne(2):totable())
    assert.are.same({ 0, 1, 0, 0 }, t:eq(2):totable())
    local nan = lunet.tensor { 0 / 0 }
    assert.are.same({ 1 }, nan:ne(nan):totable())
    assert.are.same({ 0 }, nan:eq(nan):totable())
  end)

  it("lunet.where picks per element, broadcasting mask and values", function()
    local x = lunet.tensor { { -1, 2 }, { 3, -4 } }
    assert.are.same({ { 0, 2 }, { 3, 0 } }, lunet.where(x:gt(0), x, 0):totable())
    assert.are.same({ { 10, 2 }, { 3, 20 } }, lunet.where(x:gt(0), x, lunet.tensor { { 10 }, { 20 } }):totable())
    assert.are.same({ { 1 }, { 2 } }, lunet.where(lunet.tensor { { 1 }, { 0 } }, 1, 2):totable())
    raises({ "lunet.where: mask must be a tensor, got number" }, lunet.where, 1, x, x)
    raises({ "lunet.where: shapes 2x2 and 3 do not broadcast" }, lunet.where, x, lunet.zeros(3), 0)
  end)

  it("masked_fill_ writes the book's dinputs[inputs <= 0] = 0", function()
    local inputs = lunet.tensor { { -1, 2 }, { 0, 5 } }
    local d = lunet.tensor { { 7, 8 }, { 9, 10 } }
    assert.are.equal(d, d:masked_fill_(inputs:le(0), 0))
    assert.are.same({ { 0, 8 }, { 0, 10 } }, d:totable())
    d:masked_fill_(lunet.tensor { 1, 0 }, -1) -- a row mask broadcasts
    assert.are.same({ { -1, 8 }, { -1, 10 } }, d:totable())
    raises({ "Tensor:masked_fill_: shapes 2x2 and 3 do not broadcast" }, d.masked_fill_, d, lunet.zeros(3), 1)
    raises({ "Tensor:masked_fill_: argument 2 (value) must be a number, got no value" }, d.masked_fill_, d, inputs)
  end)
end)

describe("element-wise functions and their in-place variants", function()
  local x = lunet.tensor { -2, -0.5, 0, 0.5, 3 }
  local cases = {
    { "exp", math.exp, lunet.tensor { 0.1, 1, 2 } }, { "log", math.log, lunet.tensor { 0.5, 1, 4 } },
    { "abs", math.abs, x }, { "sqrt", math.sqrt, lunet.tensor { 0, 2, 9 } },
    { "tanh", function(v) return (math.exp(2 * v) - 1) / (math.exp(2 * v) + 1) end, x },
    { "sign", function(v) return v > 0 and 1 or v < 0 and -1 or 0 end, x },
    { "neg", function(v) return -v end, x },
  }
  for _, c in ipairs(cases) do
    it(c[1] .. " and " .. c[1] .. "_", function()
      local t = c[3]
      local r = t[c[1]](t)
      for i = 1, t:numel() do assert(close(r:get(i), c[2](t:get(i)), 1e-6), c[1]) end
      local u = t:clone()
      assert.are.equal(u, u[c[1] .. "_"](u))
      assert.are.same(r:totable(), u:totable())
      raises({ "Tensor:" .. c[1] .. ": takes no arguments, got 1" }, t[c[1]], t, 2)
    end)
  end
  it("pow with a number or a broadcast tensor, t ^ p, clamp_, maximum_/minimum_", function()
    local t = lunet.tensor { { 1, 2 }, { 3, 4 } }
    assert.are.same({ { 1, 4 }, { 9, 16 } }, t:pow(2):totable())
    assert.are.same({ { 1, 4 }, { 9, 16 } }, (t ^ 2):totable())
    assert.are.same({ { 1, 2 }, { 27, 64 } }, t:pow(lunet.tensor { { 1 }, { 3 } }):totable())
    assert.are.same({ { 2, 4 }, { 8, 16 } }, (2 ^ t):totable())
    local u = t:clone():pow_(0.5)
    assert(close(u:get(2, 2), 2, 1e-7))
    assert.are.same({ { 2, 2 }, { 3, 3 } }, t:clone():clamp_(2, 3):totable())
    assert.are.same({ { 2, 2 }, { 3, 4 } }, t:clone():maximum_(2):totable())
    assert.are.same({ { 1, 2 }, { 2, 2 } }, t:clone():minimum_(lunet.tensor { 9, 2 }):minimum_(2):totable())
    local nan = lunet.maximum(lunet.tensor { 0 / 0, 1 }, 0):get(1)
    assert.is_true(nan ~= nan) -- NaN propagates (NumPy's maximum)
    raises({ "lunet.maximum: cannot combine string with lunet.Tensor" }, lunet.maximum, "x", t)
  end)
end)

describe("shape functions", function()
  local t = lunet.tensor { { 1, 2, 3 }, { 4, 5, 6 } }
  it("squeeze and unsqueeze are views", function()
    local u = t:unsqueeze(1)
    assert.are.same({ 1, 2, 3 }, { u:shape() })
    assert.are.same({ 2, 1, 3 }, { t:unsqueeze(2):shape() })
    assert.are.same({ 2, 3, 1 }, { t:unsqueeze(3):shape() })
    assert.are.same({ 2, 3 }, { u:squeeze():shape() })
    assert.are.same({ 2, 3 }, { u:squeeze(1):shape() })
    assert.are.same({ 3 }, { t:sum(1):squeeze(1):shape() })
    assert.are.same({ 1 }, { lunet.zeros(1, 1):squeeze():shape() })
    u:set(1, 1, 1, 9)
    assert.are.equal(9, t:get(1, 1))
    t:set(1, 1, 1)
    raises({ "Tensor:squeeze: dimension 2 of 2x3 has size 3, not 1" }, t.squeeze, t, 2)
    raises({ "Tensor:unsqueeze: dim must be an integer in 1..3, got 4" }, t.unsqueeze, t, 4)
    raises({ "Tensor:unsqueeze: 1x1x1x1 has 4 dimensions already" }, lunet.zeros(1, 1, 1, 1).unsqueeze,
      lunet.zeros(1, 1, 1, 1), 1)
  end)
  it("narrow: a view along dimension 1, a copy along the others", function()
    local r = t:narrow(1, 2, 1)
    assert.are.same({ { 4, 5, 6 } }, r:totable())
    r:set(1, 1, 40)
    assert.are.equal(40, t:get(2, 1))
    t:set(2, 1, 4)
    local c = t:narrow(2, 2, 2)
    assert.are.same({ { 2, 3 }, { 5, 6 } }, c:totable())
    c:set(1, 1, 0)
    assert.are.equal(2, t:get(1, 2))
    raises({ "Tensor:narrow: 3 positions from 2 pass the end of dimension 2 (size 3) of 2x3" }, t.narrow, t, 2, 2, 3)
  end)
  it("transpose and permute copy, and permute back to the original", function()
    assert.are.same({ { 1, 4 }, { 2, 5 }, { 3, 6 } }, t:transpose(1, 2):totable())
    lunet.seed(5)
    local x = lunet.randn(2, 3, 4, 5)
    local p = x:permute(4, 2, 1, 3)
    assert.are.same({ 5, 3, 2, 4 }, { p:shape() })
    for _, idx in ipairs { { 1, 1, 1, 1 }, { 2, 3, 4, 5 }, { 1, 2, 3, 4 }, { 2, 1, 4, 2 } } do
      assert.are.equal(x:get(table.unpack(idx)), p:get(idx[4], idx[2], idx[1], idx[3]))
    end
    assert.are.same(x:totable(), p:permute(3, 2, 4, 1):totable())
    assert.are.same(x:transpose(2, 4):totable(), x:permute(1, 4, 3, 2):totable())
    raises({ "Tensor:permute: dimension 1 appears twice" }, x.permute, x, 1, 1, 2, 3)
    raises({ "Tensor:permute: expected 4 dimension numbers" }, x.permute, x, 1, 2)
  end)
  it("lunet.cat joins along any dimension", function()
    local a, b = lunet.tensor { { 1, 2 } }, lunet.tensor { { 3, 4 }, { 5, 6 } }
    assert.are.same({ { 1, 2 }, { 3, 4 }, { 5, 6 } }, lunet.cat { a, b }:totable())
    assert.are.same({ { 3, 4, 3, 4 }, { 5, 6, 5, 6 } }, lunet.cat({ b, b }, 2):totable())
    local x, y = lunet.randn(2, 3, 4), lunet.randn(2, 1, 4)
    local z = lunet.cat({ x, y }, 2)
    assert.are.same({ 2, 4, 4 }, { z:shape() })
    assert.are.same(x:totable(), z:narrow(2, 1, 3):totable())
    assert.are.same(y:totable(), z:narrow(2, 4, 1):totable())
    raises({ "lunet.cat: entry 2 is 2x2 but entry 1 is 1x2 (sizes must agree except along dim 2)" },
      lunet.cat, { a, b }, 2)
    raises({ "lunet.cat: entry 2 must be a tensor, got number" }, lunet.cat, { a, 3 })
  end)
  it("randperm, arange, eye", function()
    lunet.seed(7)
    local p = lunet.randperm(10)
    local seen = {}
    for i = 1, 10 do seen[p:get(i)] = true end
    for i = 1, 10 do assert.is_true(seen[i]) end
    lunet.seed(7)
    assert.are.same(p:totable(), lunet.randperm(10):totable())
    assert.are.same({ 1, 2, 3, 4, 5 }, lunet.arange(5):totable())
    assert.are.same({ 0, 0.5, 1 }, lunet.arange(0, 1, 0.5):totable())
    assert.are.same({ 5, 3, 1 }, lunet.arange(5, 1, -2):totable())
    assert.are.same({ 2, 3 }, lunet.arange(2, 3):totable())
    assert.are.same({ { 1, 0, 0 }, { 0, 1, 0 } }, lunet.eye(2, 3):totable())
    assert.are.same({ { 1, 0 }, { 0, 1 } }, lunet.eye(2):totable())
    raises({ "lunet.arange: 5..1 with step 1 holds nothing" }, lunet.arange, 5, 1)
    raises({ "step not 0" }, lunet.arange, 1, 2, 0)
    raises({ "lunet.randperm: n must be an integer in 1.." }, lunet.randperm, 0)
  end)
end)

describe("binary targets", function()
  it("binary cross-entropy and binary accuracy refuse labels 1..2, naming the row and suggesting y - 1", function()
    local pred = lunet.tensor { { 0.2 }, { 0.9 }, { 0.6 } }
    local y = lunet.tensor { { 1 }, { 2 }, { 1 } }
    raises({ "BinaryCrossentropy", "y_true 2 at row 2 is outside [0, 1]", "pass y - 1" },
      lunet.BinaryCrossentropy().calculate, lunet.BinaryCrossentropy(), pred, y)
    raises({ "y_true 2 at row 2 is outside [0, 1]" }, lunet.BinaryCrossentropy().backward,
      lunet.BinaryCrossentropy(), pred, y)
    local acc = lunet.CategoricalAccuracy { binary = true }
    raises({ "y 2 at row 2 is not 0 or 1", "pass y - 1" }, acc.calculate, acc, lunet.tensor { { 0 }, { 1 }, { 1 } }, y)
    -- y - 1 is what they suggest, and it works
    local l = lunet.BinaryCrossentropy():calculate(pred, y - 1)
    assert(l > 0 and l < 1)
    assert.are.equal(2 / 3, acc:calculate(lunet.tensor { { 0 }, { 1 }, { 1 } }, y - 1))
    -- probabilities are fine for the loss
    assert(lunet.BinaryCrossentropy():calculate(pred, lunet.tensor { { 0.5 }, { 0.25 }, { 1 } }) > 0)
  end)
  it("Model:train names the row of y", function()
    lunet.seed(1)
    local m = lunet.Model()
    m:add(lunet.Dense(2, 4)); m:add(lunet.ReLU()); m:add(lunet.Dense(4, 1)); m:add(lunet.Sigmoid())
    m:set { loss = lunet.BinaryCrossentropy(), optimizer = lunet.Adam(),
            accuracy = lunet.CategoricalAccuracy { binary = true } }
    m:finalize()
    local X, y = lunet.data.spiral(100, 2)
    raises({ "Model:train: loss: y 2 at row 101 of y is outside [0, 1]", "pass y - 1" }, m.train, m, X,
      y:reshape(200, 1), { batch_size = 32, verbose = 0 })
    m:train(X, (y - 1):reshape(200, 1), { batch_size = 32, verbose = 0 })
  end)
end)

describe("the method-call mistake obj.method(args)", function()
  it("says to use ':' for every object, naming the method and what came as self", function()
    local X = lunet.zeros(2, 2)
    local m = lunet.Model()
    m:add(lunet.Dense(2, 2)); m:add(lunet.Softmax())
    m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.SGD(), accuracy = lunet.CategoricalAccuracy() }
    m:finalize()
    local cases = {
      { X, "sum", "Tensor:sum", "lunet.Tensor" }, { X, "reshape", "Tensor:reshape", "lunet.Tensor" },
      { lunet.Dense(2, 2), "forward", "Dense:forward", "lunet.Dense" },
      { lunet.ReLU(), "backward", "ReLU:backward", "lunet.ReLU" },
      { lunet.Dropout(0.1), "forward", "Dropout:forward", "lunet.Dropout" },
      { lunet.Softmax(), "predictions", "Softmax:predictions", "lunet.Softmax" },
      { lunet.MeanSquaredError(), "calculate", "MeanSquaredError:calculate", "lunet.MeanSquaredError" },
      { lunet.RegressionAccuracy(), "init", "RegressionAccuracy:init", "lunet.RegressionAccuracy" },
      { lunet.Adam(), "update_params", "Adam:update_params", "lunet.Adam" },
      { m, "predict", "Model:predict", "lunet.Model" }, { m, "train", "Model:train", "lunet.Model" },
      { m, "evaluate", "Model:evaluate", "lunet.Model" }, { m, "save", "Model:save", "lunet.Model" },
    }
    for _, c in ipairs(cases) do
      local obj, name = c[1], c[2]
      local wrong = c[4] == "lunet.Tensor" and 5 or X -- what obj.method(x) passes as self
      raises({ c[3] .. ": self must be a " .. c[4] .. ", got " .. (wrong == 5 and "number" or "lunet.Tensor") ..
               ": call the method with ':' (obj:" .. name .. "(...))" }, obj[name], wrong, X)
    end
  end)
  it("Model:save, save_parameters and load_parameters take no options they would ignore", function()
    local m = lunet.Model()
    m:add(lunet.Dense(2, 2)); m:finalize()
    local p = os.tmpname()
    raises({ "Model:save: takes at most 1 argument, got 2" }, m.save, m, p, { bogus = 1 })
    raises({ "Model:save_parameters: unknown option 'bogus'" }, m.save_parameters, m, p, { bogus = 1 })
    raises({ "Model:save_parameters: takes at most 2 arguments, got 3" }, m.save_parameters, m, p, {}, 1)
    raises({ "Model:load_parameters: takes at most 2 arguments, got 3" }, m.load_parameters, m, p, {}, {})
    raises({ "lunet.Model.load: takes one argument (path), got 2" }, lunet.Model.load, p, {})
    os.remove(p)
  end)
end)

describe("no function ignores an argument", function()
  it("every public function and method raises on one argument too many", function()
    local t = lunet.zeros(2, 2)
    local d = lunet.Dense(2, 2)
    local m = lunet.Model()
    m:add(lunet.Dense(2, 2)); m:finalize()
    local extra = {}
    local cases = {
      { "lunet.ReLU", lunet.ReLU, {} }, { "lunet.Softmax", lunet.Softmax, {} },
      { "lunet.Input", lunet.Input, { 1, 2, 3 } },
      { "lunet.Conv2D", lunet.Conv2D, { 1, 2, 3, {} } }, { "lunet.MaxPool2D", lunet.MaxPool2D, { 2, {} } },
      { "lunet.Flatten", lunet.Flatten, {} },
      { "lunet.BatchNormalization", lunet.BatchNormalization, { {} } },
      { "lunet.Dropout", lunet.Dropout, { 0.1 } }, { "lunet.Dense", lunet.Dense, { 2, 3, {} } },
      { "lunet.Model", lunet.Model, {} }, { "lunet.tensor", lunet.tensor, { { 1 } } },
      { "lunet.seed", lunet.seed, { 1 } },
      { "lunet.CategoricalCrossentropy", lunet.CategoricalCrossentropy, { {} } },
      { "lunet.RegressionAccuracy", lunet.RegressionAccuracy, { {} } }, { "lunet.Adam", lunet.Adam, { {} } },
      { "lunet.dot", lunet.dot, { t, t } }, { "lunet.now", lunet.now, {} },
      { "lunet.data.spiral", lunet.data.spiral, { 2, 2 } }, { "lunet.data.sine", lunet.data.sine, { 4 } },
      { "lunet.data.one_hot", lunet.data.one_hot, { lunet.tensor { 1 }, 1 } },
      { "lunet.image.resize", lunet.image.resize, { t, 2, 2, {} } },
      { "Tensor:clone", t.clone, { t } }, { "Tensor:totable", t.totable, { t } }, { "Tensor:fill_", t.fill_, { t, 1 } },
      { "Tensor:rows", t.rows, { t, 1, 2 } }, { "Tensor:exp", t.exp, { t } }, { "Tensor:sum", t.sum, { t, 1 } },
      { "Dense:forward", d.forward, { d, t, true } }, { "Dense:get_parameters", d.get_parameters, { d } },
      { "Model:finalize", m.finalize, { m } }, { "Model:predict", m.predict, { m, t, {} } },
      { "Model:summary", m.summary, { m } },
    }
    for _, c in ipairs(cases) do
      local args = { table.unpack(c[3]) }
      args[#args + 1] = extra
      local ok, err = pcall(c[2], table.unpack(args))
      assert(not ok and tostring(err):find(c[1] .. ": takes", 1, true),
        c[1] .. " with an extra argument: " .. tostring(err))
    end
  end)
end)

describe("against NumPy", function()
  local test = require("helpers.check").has_numpy and it or pending
  test("broadcasting, keepdims reductions, comparisons and where agree with NumPy on 3-D and 4-D", function()
    lunet.seed(11)
    local a, b = lunet.randn(2, 3, 4), lunet.randn(3, 1)
    local c = lunet.randn(2, 1, 3, 4)
    local p = os.tmpname()
    lunet.safetensors.save(p, { a = a, b = b, c = c })
    -- NumPy computes each expression from the same float32 values
    local py = [==[
import sys, json, struct, numpy as np
raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
h = json.loads(raw[8:8 + n]); data = raw[8 + n:]
t = {k: np.frombuffer(data[v['data_offsets'][0]:v['data_offsets'][1]], '<f4').reshape(v['shape'])
     for k, v in h.items() if k != '__metadata__'}
a, b, c = t['a'], t['b'], t['c']
out = {
  'add': a + b, 'mul': c * a, 'sub': b - a[0], 'div': a / (np.abs(b) + 1),
  'gt': (a > b).astype('f4'), 'where': np.where(a > 0, a, b),
  'max1': a.max(axis=0, keepdims=True), 'sum2': a.sum(axis=1, keepdims=True, dtype='f8').astype('f4'),
  'mean3': a.mean(axis=2, keepdims=True, dtype='f8').astype('f4'),
  'std4': c.std(axis=3, keepdims=True, dtype='f8').astype('f4'),
  'argmin2': c.argmin(axis=1)[:, None].astype('f4') + 1, 'maximum': np.maximum(c, a),
}
print(json.dumps({k: [float(x) for x in v.ravel()] for k, v in out.items()}))
]==]
    local script = os.tmpname()
    local f = assert(io.open(script, "w")); f:write(py); f:close()
    local pipe = assert(io.popen("/usr/bin/python3 " .. script .. " " .. p))
    local want = require("lunet.core")._json_decode(pipe:read("a"))
    pipe:close()
    os.remove(script); os.remove(p)
    local got = {
      add = a + b, mul = c * a, sub = b - a[1], div = a / (b:abs() + 1), gt = a:gt(b),
      where = lunet.where(a:gt(0), a, b), max1 = a:max(1), sum2 = a:sum(2), mean3 = a:mean(3), std4 = c:std(4),
      argmin2 = c:argmin(2), maximum = lunet.maximum(c, a),
    }
    for k, t in pairs(got) do
      local flat = t:reshape(t:numel())
      assert.are.equal(#want[k], flat:numel(), k)
      for i = 1, #want[k] do
        local x, y = flat:get(i), want[k][i]
        assert(x == y or math.abs(x - y) <= 1e-6 * math.max(1, math.abs(y)),
          string.format("%s[%d]: %.9g vs NumPy %.9g", k, i, x, y))
      end
    end
  end)
end)
