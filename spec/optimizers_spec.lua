local lunet = require "lunet"
local check = require "helpers.check"
local errmsg = check.err

-- The tiny layer of spec/optimizers_reference.py: 2x3 weights, 1x3 biases,
-- and a Dense backward whose dweights/dbiases are the fixed arrays below.
local WEIGHTS = {{0.2, -0.5, 1.0}, {0.8, 0.3, -0.7}}
local BIASES = {{0.1, -0.2, 0.05}}
local INPUTS = {{1, 0}, {0, 1}, {0, 0}}
local DVALUES = {{0.5, -0.25, 1.0}, {-1.5, 0.75, 0.125}, {0.25, 0.5, -0.375}}
local DWEIGHTS = {{0.5, -0.25, 1}, {-1.5, 0.75, 0.125}}
local DBIASES = {{-0.75, 1, 0.75}}

-- a Dense(2 -> 3) with the reference parameters and gradients
local function layer(weights, dvalues)
  local d = lunet.Dense(2, 3)
  d:set_parameters(lunet.tensor(weights or WEIGHTS), lunet.tensor(BIASES))
  d:forward(lunet.tensor(INPUTS), true)
  d:backward(lunet.tensor(dvalues or DVALUES))
  return d
end

-- one book training step on the given layers
local function step(opt, ...)
  opt:pre_update_params()
  for i = 1, select("#", ...) do opt:update_params((select(i, ...))) end
  opt:post_update_params()
end

-- |a - e| <= tol * |e| for every element (relative; 1e-6 by default)
local function assert_close(t, expected, tol)
  tol = tol or 1e-6
  local a = type(t) == "table" and t or t:totable()
  assert.are.equal(#expected, #a)
  for i = 1, #expected do
    assert.are.equal(#expected[i], #a[i])
    for j = 1, #expected[i] do
      local e, x = expected[i][j], a[i][j]
      if math.abs(x - e) > tol * math.abs(e) then
        error(string.format("element [%d][%d] is %.9g, expected %.9g", i, j, x, e), 2)
      end
    end
  end
end

-- the exact element values of two tensors are the same
local function assert_same(a, b)
  assert.are.same(a:totable(), b:totable())
end

-- Numbers printed by `/usr/bin/python3 spec/optimizers_reference.py` (the
-- book's optimizer classes in float32 NumPy, 3 steps; lrs = the
-- current_learning_rate seen at each step).
-- dweights = {{0.5, -0.25, 1}, {-1.5, 0.75, 0.125}}
-- dbiases = {{-0.75, 1, 0.75}}
local REFERENCE = {
  sgd = {
    make = function() return lunet.SGD() end,
    weights = {{-1.29999995, 0.25, -2}, {5.30000019, -1.95000005, -1.07500005}},
    biases = {{2.3499999, -3.20000005, -2.20000005}},
    lrs = {1.0, 1.0, 1.0},
  },
  sgd_decay_momentum = {
    make = function() return lunet.SGD{ learning_rate = 0.5, decay = 0.1, momentum = 0.9 } end,
    weights = {{-1.11765146, 0.158825725, -1.6353029}, {4.75295448, -1.67647719, -1.02941287}},
    biases = {{2.07647729, -2.83530283, -1.92647731}},
    lrs = {0.5, 0.45454545454545453, 0.4166666666666667},
  },
  adagrad = {
    make = function() return lunet.Adagrad{ learning_rate = 0.5 } end,
    weights = {{-0.942228317, 0.642228186, -0.142228425}, {1.94222856, -0.842228353, -1.8422277}},
    biases = {{1.24222839, -1.34222841, -1.09222841}},
    lrs = {0.5, 0.5, 0.5},
  },
  rmsprop = {
    make = function() return lunet.RMSprop{ learning_rate = 0.02, decay = 0.05, rho = 0.95 } end,
    weights = {{0.00141252205, -0.301412672, 0.801412463}, {0.998587549, 0.101412505, -0.898587048}},
    biases = {{0.298587531, -0.398587555, -0.14858751}},
    lrs = {0.02, 0.019047619047619046, 0.01818181818181818},
  },
  adam = {
    make = function() return lunet.Adam() end,
    weights = {{0.196999997, -0.497000039, 0.997000039}, {0.802999973, 0.297000051, -0.702999949}},
    biases = {{0.103000008, -0.203000009, 0.0470000058}},
    lrs = {0.001, 0.001, 0.001},
  },
  adam_decay = {
    make = function() return lunet.Adam{ learning_rate = 0.05, decay = 0.1 } end,
    weights = {{0.0628788173, -0.362878829, 0.86287874}, {0.937121272, 0.162878826, -0.837121069}},
    biases = {{0.237121195, -0.337121189, -0.0871211961}},
    lrs = {0.05, 0.045454545454545456, 0.04166666666666667},
  },
}
local CASES = { "sgd", "sgd_decay_momentum", "adagrad", "rmsprop", "adam", "adam_decay" }

describe("lunet optimizers", function()

  describe("the reference layer", function()
    it("gets the fixed gradients from a Dense backward", function()
      local d = layer()
      assert_close(d.dweights, DWEIGHTS, 0)
      assert_close(d.dbiases, DBIASES, 0)
    end)
  end)

  describe("constructors", function()
    it("use the book's defaults", function()
      local sgd, ada, rms, adam = lunet.SGD(), lunet.Adagrad(), lunet.RMSprop(), lunet.Adam()
      assert.are.equal(1, sgd.learning_rate)
      assert.are.equal(0, sgd.decay)
      assert.are.equal(0, sgd.momentum)
      assert.are.equal(1, ada.learning_rate)
      assert.are.equal(1e-7, ada.epsilon)
      assert.are.equal(0.001, rms.learning_rate)
      assert.are.equal(1e-7, rms.epsilon)
      assert.are.equal(0.9, rms.rho)
      assert.are.equal(0.001, adam.learning_rate)
      assert.are.equal(0, adam.decay)
      assert.are.equal(1e-7, adam.epsilon)
      assert.are.equal(0.9, adam.beta_1)
      assert.are.equal(0.999, adam.beta_2)
      for _, o in ipairs{ sgd, ada, rms, adam } do
        assert.are.equal(0, o.iterations)
        assert.is_true(math.type(o.iterations) == "integer")
        assert.are.equal(o.learning_rate, o.current_learning_rate)
      end
    end)

    it("take options", function()
      local o = lunet.Adam{ learning_rate = 0.02, decay = 1e-3, epsilon = 1e-8, beta_1 = 0.8, beta_2 = 0.99 }
      assert.are.equal(0.02, o.learning_rate)
      assert.are.equal(0.02, o.current_learning_rate)
      assert.are.equal(1e-3, o.decay)
      assert.are.equal(1e-8, o.epsilon)
      assert.are.equal(0.8, o.beta_1)
      assert.are.equal(0.99, o.beta_2)
      assert.are.equal(0.5, lunet.SGD{ momentum = 0.5 }.momentum)
      assert.are.equal(0.95, lunet.RMSprop{ rho = 0.95 }.rho)
    end)

    it("give nil for fields that do not apply", function()
      assert.is_nil(lunet.SGD().epsilon)
      assert.is_nil(lunet.Adam().momentum)
      assert.is_nil(lunet.Adagrad().rho)
      assert.is_nil(lunet.RMSprop().beta_1)
      assert.is_nil(lunet.Adam().nonsense)
    end)

    it("reject unknown options", function()
      assert.matches("lunet.Adam: unknown option 'momentum' "
                     .. "(expected one of: learning_rate, decay, epsilon, beta_1, beta_2)",
        errmsg(lunet.Adam, { momentum = 0.9 }), 1, true)
      assert.matches("lunet.SGD: unknown option 'lr'", errmsg(lunet.SGD, { lr = 0.1 }), 1, true)
      assert.matches("lunet.Adagrad: unknown option 'rho'", errmsg(lunet.Adagrad, { rho = 0.9 }), 1, true)
      assert.matches("lunet.RMSprop: unknown option 'beta_1'", errmsg(lunet.RMSprop, { beta_1 = 0.9 }), 1, true)
      assert.matches("lunet.Adam: options must be a table, got number", errmsg(lunet.Adam, 0.001), 1, true)
    end)

    it("reject bad hyperparameters", function()
      local cases = {
        { lunet.SGD, { learning_rate = -1 }, "lunet.SGD: learning_rate must be a finite number >= 0, got -1" },
        { lunet.Adam, { learning_rate = math.huge },
          "lunet.Adam: learning_rate must be a finite number >= 0, got inf" },
        { lunet.Adam, { learning_rate = 0 / 0 }, "lunet.Adam: option 'learning_rate' is NaN" },
        { lunet.Adam, { learning_rate = "fast" }, "lunet.Adam: option 'learning_rate' must be a number, got string" },
        { lunet.Adagrad, { decay = -1e-3 }, "lunet.Adagrad: decay must be a finite number >= 0, got -0.001" },
        { lunet.Adagrad, { epsilon = 0 }, "lunet.Adagrad: epsilon must be a finite number > 0, got 0" },
        { lunet.RMSprop, { epsilon = -1e-7 }, "lunet.RMSprop: epsilon must be a finite number > 0, got -1e-07" },
        { lunet.SGD, { momentum = 1 }, "lunet.SGD: momentum must be in [0, 1), got 1" },
        { lunet.SGD, { momentum = -0.1 }, "lunet.SGD: momentum must be in [0, 1), got -0.1" },
        { lunet.RMSprop, { rho = 1 }, "lunet.RMSprop: rho must be in [0, 1), got 1" },
        { lunet.Adam, { beta_1 = 1.5 }, "lunet.Adam: beta_1 must be in [0, 1), got 1.5" },
        { lunet.Adam, { beta_2 = -0.5 }, "lunet.Adam: beta_2 must be in [0, 1), got -0.5" },
      }
      for _, c in ipairs(cases) do
        assert.matches(c[3], errmsg(c[1], c[2]), 1, true)
      end
    end)

    it("accept the edges of the ranges", function()
      assert.are.equal(0, lunet.SGD{ learning_rate = 0 }.learning_rate)
      assert.are.equal(0, lunet.Adam{ beta_1 = 0, beta_2 = 0 }.beta_1)
      assert.are.equal(0, lunet.RMSprop{ rho = 0 }.rho)
    end)
  end)

  describe("__tostring", function()
    it("shows the hyperparameters like Python prints them", function()
      assert.are.equal("Adam(learning_rate=0.001, decay=0.001, epsilon=1e-07, beta_1=0.9, beta_2=0.999)",
        tostring(lunet.Adam{ decay = 1e-3 }))
      assert.are.equal("SGD(learning_rate=1, decay=0, momentum=0.9)", tostring(lunet.SGD{ momentum = 0.9 }))
      assert.are.equal("Adagrad(learning_rate=1, decay=0.0001, epsilon=1e-07)", tostring(lunet.Adagrad{ decay = 1e-4 }))
      assert.are.equal("RMSprop(learning_rate=0.02, decay=1e-05, epsilon=1e-07, rho=0.999)",
        tostring(lunet.RMSprop{ learning_rate = 0.02, decay = 1e-5, rho = 0.999 }))
    end)
  end)

  describe("update_params()", function()
    for _, name in ipairs(CASES) do
      it("matches the book's NumPy code for " .. name, function()
        local ref = REFERENCE[name]
        local opt, d = ref.make(), layer()
        for i = 1, 3 do
          opt:pre_update_params()
          assert.is_true(math.abs(opt.current_learning_rate - ref.lrs[i]) <= 1e-15 * ref.lrs[i])
          opt:update_params(d)
          opt:post_update_params()
        end
        assert.are.equal(3, opt.iterations)
        assert_close(d.weights, ref.weights)
        assert_close(d.biases, ref.biases)
      end)
    end

    it("keeps the state of two layers apart", function()
      local opt, d1, d2 = lunet.Adam{ learning_rate = 0.05, decay = 0.1 }, layer(), layer()
      for _ = 1, 3 do step(opt, d1, d2) end
      assert_close(d1.weights, REFERENCE.adam_decay.weights)
      assert_close(d2.weights, REFERENCE.adam_decay.weights)
      assert_close(d1.biases, REFERENCE.adam_decay.biases)
      assert_close(d2.biases, REFERENCE.adam_decay.biases)
      -- different gradients give different states
      local d3 = layer(nil, {{1, 1, 1}, {1, 1, 1}, {1, 1, 1}})
      step(opt, d3)
      assert.are_not.same(opt:state(d1).weight_momentums:totable(), opt:state(d3).weight_momentums:totable())
    end)

    it("leaves parameters alone with a learning rate of 0", function()
      local opt, d = lunet.Adam{ learning_rate = 0 }, layer()
      step(opt, d)
      assert_close(d.weights, WEIGHTS, 1e-7)
    end)

    it("raises on a non-layer", function()
      local opt = lunet.Adam()
      assert.matches("Adam:update_params: expected a layer, got lunet.Tensor",
        errmsg(opt.update_params, opt, lunet.zeros(2, 3)), 1, true)
      assert.matches("SGD:update_params: expected a layer, got no value",
        errmsg(function() lunet.SGD():update_params() end), 1, true)
      assert.matches("SGD:update_params: expected a layer, got table",
        errmsg(function() lunet.SGD():update_params({}) end), 1, true)
    end)

    it("raises on a layer without parameters", function()
      assert.matches("Adam:update_params: layer ReLU has no parameters to update",
        errmsg(function() lunet.Adam():update_params(lunet.ReLU()) end), 1, true)
      assert.matches("RMSprop:update_params: layer Dropout(0.5) has no parameters to update",
        errmsg(function() lunet.RMSprop():update_params(lunet.Dropout(0.5)) end), 1, true)
    end)

    it("raises before backward produced gradients", function()
      assert.matches("Adam:update_params: layer Dense(2 -> 3) has no gradients yet (call backward first)",
        errmsg(function() lunet.Adam():update_params(lunet.Dense(2, 3)) end), 1, true)
      assert.matches("SGD:update_params: layer Dense(4 -> 1) has no gradients yet (call backward first)",
        errmsg(function() lunet.SGD():update_params(lunet.Dense(4, 1)) end), 1, true)
    end)

    it("raises on gradients whose shape differs from the parameters'", function()
      -- not reachable through Dense's API; forced through the debug library
      local d = layer()
      debug.setuservalue(d, lunet.zeros(3, 2), 6) -- LN_UV_DWEIGHTS
      assert.matches("Adagrad:update_params: layer Dense(2 -> 3): dweights are 3x2 but weights are 2x3",
        errmsg(function() lunet.Adagrad():update_params(d) end), 1, true)
      d = layer()
      debug.setuservalue(d, lunet.zeros(3), 7) -- LN_UV_DBIASES
      assert.matches("Adam:update_params: layer Dense(2 -> 3): dbiases are 3 but biases are 1x3",
        errmsg(function() lunet.Adam():update_params(d) end), 1, true)
    end)

    it("raises on a state whose shape differs from the parameters'", function()
      local opt, d = lunet.Adam(), layer()
      step(opt, d)
      debug.getuservalue(opt, 1)[d].weight_cache = lunet.zeros(3, 3)
      assert.matches("Adam:update_params: layer Dense(2 -> 3): weight_cache state is 3x3 but the parameters are 2x3",
        errmsg(opt.update_params, opt, d), 1, true)
    end)

    it("raises when self is not an optimizer", function()
      local opt = lunet.Adam()
      assert.matches("Adam:update_params: self must be a lunet.Adam, got lunet.Dense: call the method with ':' " ..
        "(obj:update_params(...)), not '.'",
        errmsg(opt.update_params, layer()), 1, true)
    end)
  end)

  describe("Adam on tiny values", function()
    -- x rounded to float32 (the C cast, subnormals included)
    local function f(x) return (string.unpack("<f", string.pack("<f", x))) end

    -- epsilon 1e-30 makes the step depend on every bit of a tiny cache's sqrt(v / c2)
    for _, epsilon in ipairs { 1e-7, 1e-30 } do
      it("matches the float expression bit for bit with subnormal momentums and dead units (epsilon "
         .. epsilon .. ")", function()
        local rows, cols = 24, 40 -- 960 weights: whole vector chunks and a remainder
        local seed = 12345
        local function rnd() seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 end
        local W, G, M, V = {}, {}, {}, {}
        for i = 1, rows do
          W[i], G[i], M[i], V[i] = {}, {}, {}, {}
          for j = 1, cols do
            local s = rnd() < 0.5 and -1 or 1
            local w, g, m, v = s * (0.01 + rnd()), (rnd() - 0.5) * 1e-2, (rnd() - 0.5) * 1e-3, rnd() * 1e-6
            local kind = (i * cols + j) % 16
            -- kinds 8 and 9 make their whole 16-element vector divide: 8 in rows 1-6, 9 in rows 7-12
            if kind == 8 or kind == 9 then kind = i <= 6 and 8 or i <= 12 and 9 or 13 end
            if kind == 0 then g, m = 0, s * math.floor(1 + rnd() * 5000) * 2^-149 -- dead unit, subnormal m
            elseif kind == 1 then g, m = 0, s * 2^-149                          -- stuck at the smallest subnormal
            elseif kind == 2 then g, m = 0, s * (1 + rnd()) * 2^-110            -- tiny normal momentum
            elseif kind == 3 then g = s * (1 + rnd()) * 2^-60                   -- tiny gradient
            elseif kind == 4 then v = (1 + rnd()) * 2^-120                      -- tiny cache
            elseif kind == 5 then g, m, v = 0, s * 2^-140, (1 + rnd()) * 2^-135 -- all tiny
            elseif kind == 6 then g, m, w = 0, s * 2^-130, s * 2^-100           -- small w: the step may move it
            elseif kind == 7 then g, m, v = 0, s * 3 * 2^-149, 0                -- no cache yet
            -- the edges of the AVX-512 loop's division without a divide (optim.c, div_fast)
            elseif kind == 8 then g, v = s * (1 + rnd()) * 2^-56, 0             -- a cache near 2^-121: divides
            elseif kind == 9 then m = s * 1.5 * 2^127                           -- m / c1 overflows: divides
            elseif kind == 10 then g = s * (1 + rnd()) * 2^-40; m = f(-f(0.1 * g) / 0.9) -- b1 m + a1 g cancel
            elseif kind == 11 then g, m, w = -0.0, -0.0, -0.0                   -- signed zeros
            elseif kind >= 13 then w = 0                                        -- w1 is the step itself
            end
            W[i][j], G[i][j], M[i][j], V[i][j] = w, g, m, v
          end
        end
        local opt = lunet.Adam{ learning_rate = 0.001, decay = 1e-3, epsilon = epsilon }
        for _ = 1, 3 do step(opt, layer()) end -- iterations 3: c1, c2 away from their first values
        local d = lunet.Dense(rows, cols)
        d:set_parameters(lunet.tensor(W), lunet.zeros(1, cols))
        d:forward(lunet.zeros(1, rows), true)
        d:backward(lunet.zeros(1, cols))
        d.dweights:copy_(lunet.tensor(G))
        opt:set_state(d, { weight_momentums = lunet.tensor(M), weight_cache = lunet.tensor(V),
                           bias_momentums = lunet.zeros(1, cols), bias_cache = lunet.zeros(1, cols) })
        local w0, g0 = d.weights:totable(), d.dweights:totable()
        local st = opt:state(d)
        local m0, v0 = st.weight_momentums:totable(), st.weight_cache:totable()
        opt:pre_update_params()
        local t = opt.iterations + 1
        local lr, eps = f(opt.current_learning_rate), f(opt.epsilon)
        local b1, a1, b2, a2 = f(opt.beta_1), f(1 - opt.beta_1), f(opt.beta_2), f(1 - opt.beta_2)
        local c1, c2 = f(1 - opt.beta_1 ^ t), f(1 - opt.beta_2 ^ t)
        opt:update_params(d)
        opt:post_update_params()
        st = opt:state(d)
        local w1, m1, v1 = d.weights:totable(), st.weight_momentums:totable(), st.weight_cache:totable()
        local bad, first = 0, nil
        for i = 1, rows do
          for j = 1, cols do
            local g, m, v, w = g0[i][j], m0[i][j], v0[i][j], w0[i][j]
            local em = f(f(b1 * m) + f(a1 * g))
            local ev = f(f(b2 * v) + f(a2 * f(g * g)))
            local ew = f(w + f(f(-lr * f(em / c1)) / f(f(math.sqrt(f(ev / c2))) + eps)))
            local function same(x, y) return string.pack("<f", x) == string.pack("<f", y) end -- -0 ~= 0
            if not (same(em, m1[i][j]) and same(ev, v1[i][j]) and same(ew, w1[i][j])) then
              bad = bad + 1
              first = first or string.format("[%d][%d] m %a/%a v %a/%a w %a/%a", i, j, m1[i][j], em, v1[i][j], ev,
                                             w1[i][j], ew)
            end
          end
        end
        assert.is_true(bad == 0, bad .. " elements differ, first " .. tostring(first))
      end)
    end
  end)

  describe("pre_update_params() and post_update_params()", function()
    it("count iterations", function()
      local opt = lunet.SGD()
      for i = 1, 5 do
        opt:pre_update_params()
        opt:post_update_params()
        assert.are.equal(i, opt.iterations)
      end
    end)

    it("decay the learning rate as the book does", function()
      local opt = lunet.Adam{ decay = 1e-3 }
      for i = 0, 100 do
        opt:pre_update_params()
        assert.are.equal(0.001 * (1 / (1 + 1e-3 * i)), opt.current_learning_rate)
        opt:post_update_params()
      end
      assert.are.equal(0.0009090909090909091, 0.001 * (1 / (1 + 1e-3 * 100)))
    end)

    it("leave the learning rate alone without decay", function()
      local opt = lunet.RMSprop{ learning_rate = 0.01 }
      for _ = 1, 10 do step(opt) end
      assert.are.equal(0.01, opt.current_learning_rate)
    end)
  end)

  describe("fields", function()
    it("allow assigning iterations and the learning rates", function()
      local opt = lunet.Adam{ decay = 0.5 }
      opt.iterations = 2
      assert.are.equal(2, opt.iterations)
      opt.iterations = 4.0
      assert.is_true(math.type(opt.iterations) == "integer")
      opt.learning_rate = 0.1
      opt:pre_update_params()
      assert.are.equal(0.1 * (1 / (1 + 0.5 * 4)), opt.current_learning_rate)
      opt.current_learning_rate = 0.25
      assert.are.equal(0.25, opt.current_learning_rate)
      assert.are.equal(0.1, opt.learning_rate)
    end)

    it("reject other assignments", function()
      local opt = lunet.Adam()
      assert.matches("Adam: iterations must be an integer in 0..2^53, got -1",
        errmsg(function() opt.iterations = -1 end), 1, true)
      assert.matches("Adam: iterations must be an integer in 0..2^53, got a non-integer number",
        errmsg(function() opt.iterations = 1.5 end), 1, true)
      assert.matches("Adam: iterations must be an integer in 0..2^53, got string",
        errmsg(function() opt.iterations = "x" end), 1, true)
      assert.matches("Adam: learning_rate must be a finite number >= 0, got -0.1",
        errmsg(function() opt.learning_rate = -0.1 end), 1, true)
      assert.matches("Adam: current_learning_rate must be a finite number >= 0, got inf",
        errmsg(function() opt.current_learning_rate = math.huge end), 1, true)
      assert.matches("Adam: current_learning_rate must be a finite number >= 0, got nan",
        errmsg(function() opt.current_learning_rate = 0 / 0 end), 1, true)
      assert.matches("Adam: learning_rate must be a number, got nil",
        errmsg(function() opt.learning_rate = nil end), 1, true)
      assert.matches("Adam: cannot assign field 'decay' "
                     .. "(only iterations, learning_rate and current_learning_rate can be set)",
        errmsg(function() opt.decay = 0.1 end), 1, true)
      assert.matches("SGD: cannot assign field 'momentum'",
        errmsg(function() lunet.SGD().momentum = 0.1 end), 1, true)
      assert.matches("Adam: cannot assign field 'number'",
        errmsg(function() opt[1] = 0.1 end), 1, true)
      assert.are.equal(0, opt.iterations)
      assert.are.equal(0.001, opt.learning_rate)
    end)
  end)

  describe("state()", function()
    it("is nil before the first update", function()
      assert.is_nil(lunet.Adam():state(layer()))
    end)

    it("holds Adam's momentums and caches after one step", function()
      local opt, d = lunet.Adam(), layer()
      step(opt, d)
      local st = opt:state(d)
      local keys = {}
      for k in pairs(st) do keys[#keys + 1] = k end
      table.sort(keys)
      assert.are.same({ "bias_cache", "bias_momentums", "weight_cache", "weight_momentums" }, keys)
      assert.are.same({2, 3}, {st.weight_momentums:shape()})
      assert.are.same({1, 3}, {st.bias_cache:shape()})
      local m, v = {}, {}
      for i, row in ipairs(DWEIGHTS) do
        m[i], v[i] = {}, {}
        for j, g in ipairs(row) do m[i][j], v[i][j] = 0.1 * g, 0.001 * g * g end
      end
      assert_close(st.weight_momentums, m)
      assert_close(st.weight_cache, v)
      assert_close(st.bias_momentums, {{0.1 * -0.75, 0.1, 0.1 * 0.75}})
    end)

    it("holds only the caches for Adagrad and RMSprop, only momentums for SGD", function()
      local d = layer()
      local ada, rms, sgd, plain = lunet.Adagrad(), lunet.RMSprop(), lunet.SGD{ momentum = 0.5 }, lunet.SGD()
      step(ada, d); step(rms, d); step(sgd, d); step(plain, d)
      local function keys(t)
        local r = {}
        for k in pairs(t) do r[#r + 1] = k end
        table.sort(r)
        return r
      end
      assert.are.same({ "bias_cache", "weight_cache" }, keys(ada:state(d)))
      assert.are.same({ "bias_cache", "weight_cache" }, keys(rms:state(d)))
      assert.are.same({ "bias_momentums", "weight_momentums" }, keys(sgd:state(d)))
      assert.is_nil(plain:state(d)) -- the book's plain SGD keeps nothing
      assert_close(ada:state(d).weight_cache, {{0.25, 0.0625, 1}, {2.25, 0.5625, 0.015625}})
      assert_close(sgd:state(d).bias_momentums, {{0.75, -1, -0.75}})
    end)

    it("forgets layers that were collected (weak keys)", function()
      local opt = lunet.Adam()
      do step(opt, layer()) end
      collectgarbage(); collectgarbage()
      assert.is_nil(next((debug.getuservalue(opt, 1))))
    end)

    it("returns a copy", function()
      local opt, d = lunet.Adagrad(), layer()
      step(opt, d)
      local st = opt:state(d)
      st.weight_cache:set(1, 1, 100)
      st.bias_cache = nil
      assert.are.equal(0.25, opt:state(d).weight_cache:get(1, 1))
      assert.is_not_nil(opt:state(d).bias_cache)
    end)

    it("raises on a non-layer", function()
      assert.matches("Adam:state: expected a layer, got number",
        errmsg(function() return lunet.Adam():state(1) end), 1, true)
      assert.matches("Adam:state: layer Softmax has no parameters to update",
        errmsg(function() return lunet.Adam():state(lunet.Softmax()) end), 1, true)
    end)
  end)

  describe("set_state()", function()
    it("restores a run exactly", function()
      for _, name in ipairs(CASES) do
        local ref = REFERENCE[name]
        local a, b = ref.make(), ref.make()
        local d1, d2 = layer(), layer()
        step(a, d1); step(a, d1)
        -- a second optimizer and layer restored from the first
        d2:set_parameters(d1.weights:clone(), d1.biases:clone())
        local st = a:state(d1)
        if st then b:set_state(d2, st) end
        b.iterations = a.iterations
        b.current_learning_rate = a.current_learning_rate
        step(a, d1); step(b, d2)
        assert_same(d1.weights, d2.weights)
        assert_same(d1.biases, d2.biases)
        assert_close(d2.weights, ref.weights)
        assert.are.equal(a.current_learning_rate, b.current_learning_rate)
      end
    end)

    it("copies the tensors in", function()
      local opt, d = lunet.RMSprop(), layer()
      local st = { weight_cache = lunet.full(2, 2, 3), bias_cache = lunet.full(3, 1, 3) }
      opt:set_state(d, st)
      st.weight_cache:set(1, 1, 7)
      assert.are.equal(2, opt:state(d).weight_cache:get(1, 1))
      assert.are.equal(3, opt:state(d).bias_cache:get(1, 2))
    end)

    it("clears the state with nil", function()
      local opt, d = lunet.Adam(), layer()
      step(opt, d)
      opt:set_state(d, nil)
      assert.is_nil(opt:state(d))
    end)

    it("raises on missing, extra or misshapen tensors and keeps the old state", function()
      local opt, d = lunet.Adam(), layer()
      step(opt, d)
      local good = opt:state(d)
      local function with(k, v)
        local t = {}
        for key, val in pairs(good) do t[key] = val end
        t[k] = v
        return t
      end
      assert.matches("Adam:set_state: bias_cache must be a tensor, got nil",
        errmsg(opt.set_state, opt, d, with("bias_cache", nil)), 1, true)
      assert.matches("Adam:set_state: weight_momentums must be a tensor, got number",
        errmsg(opt.set_state, opt, d, with("weight_momentums", 1)), 1, true)
      assert.matches("Adam:set_state: weight_cache is 3x2 but layer Dense(2 -> 3) has weights of 2x3",
        errmsg(opt.set_state, opt, d, with("weight_cache", lunet.zeros(3, 2))), 1, true)
      assert.matches("Adam:set_state: bias_momentums is 3 but layer Dense(2 -> 3) has biases of 1x3",
        errmsg(opt.set_state, opt, d, with("bias_momentums", lunet.zeros(3))), 1, true)
      assert.matches("Adam:set_state: unexpected key 'velocity' "
                     .. "(this Adam keeps: weight_momentums, weight_cache, bias_momentums, bias_cache)",
        errmsg(opt.set_state, opt, d, with("velocity", lunet.zeros(2, 3))), 1, true)
      assert.matches("Adagrad:set_state: unexpected key 'weight_momentums' "
                     .. "(this Adagrad keeps: weight_cache, bias_cache)",
        errmsg(function()
          lunet.Adagrad():set_state(d, { weight_cache = good.weight_cache, bias_cache = good.bias_cache,
                                         weight_momentums = good.weight_momentums })
        end), 1, true)
      assert.matches("SGD:set_state: unexpected key 'weight_cache' (this SGD keeps: nothing)",
        errmsg(function() lunet.SGD():set_state(d, { weight_cache = lunet.zeros(2, 3) }) end), 1, true)
      assert.matches("Adam:set_state: argument 2 must be a table of tensors, got lunet.Tensor",
        errmsg(opt.set_state, opt, d, lunet.zeros(2, 3)), 1, true)
      assert.matches("Adam:set_state: expected a layer, got string",
        errmsg(opt.set_state, opt, "layer", good), 1, true)
      assert_same(good.weight_cache, opt:state(d).weight_cache)
    end)
  end)
end)
