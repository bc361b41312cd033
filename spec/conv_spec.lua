--- Specs of lunet.Conv2D, lunet.MaxPool2D, lunet.Flatten,
-- lunet.BatchNormalization, lunet.Input(c, h, w) and the init option
-- (src/layers_conv.c, src/layers_norm.c, src/layers_init.c): direct
-- computations on small cases, finite-difference gradient checks, errors.
local lunet = require "lunet"
local check = require "helpers.check"
local close, raises, numgrad = check.close, check.raises, check.numgrad_nd

-- the convolution by its definition (zero padding top/left pt, pl), as a
-- nested table n x out x oh x ow
local function conv_ref(x, w, b, stride, pt, pl, oh, ow)
  local n, c, h, wd = x:shape()
  local out, _, kh, kw = w:shape()
  local y = {}
  for s = 1, n do
    y[s] = {}
    for o = 1, out do
      y[s][o] = {}
      for i = 1, oh do
        y[s][o][i] = {}
        for j = 1, ow do
          local acc = b:get(1, o)
          for ci = 1, c do
            for ky = 1, kh do
              for kx = 1, kw do
                local iy, ix = (i - 1) * stride[1] + ky - pt, (j - 1) * stride[2] + kx - pl
                if iy >= 1 and iy <= h and ix >= 1 and ix <= wd then
                  acc = acc + x:get(s, ci, iy, ix) * w:get(o, ci, ky, kx)
                end
              end
            end
          end
          y[s][o][i][j] = acc
        end
      end
    end
  end
  return y
end

-- loss = sum(output * R) for a fixed random R; gradient checks of every
-- tensor in `wrt` (name -> tensor) against layer:backward(R)
local function gradcheck(layer, x, wrt, tol, training)
  if training == nil then training = true end
  local out = layer:forward(x, training)
  local R = lunet.randn(out:shape())
  local function f() return (layer:forward(x, training) * R):sum() end
  f()
  layer:backward(R)
  local got = { inputs = layer.dinputs:clone(), weights = layer.dweights and layer.dweights:clone(),
                biases = layer.dbiases and layer.dbiases:clone() }
  for _, name in ipairs(wrt) do
    local t = name == "inputs" and x or layer[name]
    close(got[name], numgrad(f, t, 1e-2), tol)
  end
end

describe("lunet.Conv2D", function()
  local cases = {
    { "3x3, stride 1, no padding", 2, 3, 3, {}, 2, 6, 5 },
    { "stride 2, padding 1, non-square input", 2, 3, 3, { stride = 2, padding = 1 }, 2, 7, 5 },
    { "padding same with stride 2 (odd extra at the bottom/right)", 1, 2, 3, { stride = 2, padding = "same" },
      1, 6, 5 },
    { "a 2x3 kernel with stride {2, 1} and padding {1, 0}", 3, 2, { 2, 3 }, { stride = { 2, 1 }, padding = { 1, 0 } },
      2, 5, 6 },
    { "a batch of 1", 1, 1, 2, {}, 1, 4, 4 },
  }
  for _, cs in ipairs(cases) do
    local name, cin, cout, k, opts, n, h, w = table.unpack(cs)
    it("computes the convolution by its definition: " .. name, function()
      lunet.seed(3)
      local conv = lunet.Conv2D(cin, cout, k, opts)
      conv.biases = lunet.randn(1, cout)
      local x = lunet.randn(n, cin, h, w)
      local y = conv:forward(x)
      local kh, kw = conv.kernel[1], conv.kernel[2]
      local sh, sw = conv.stride[1], conv.stride[2]
      local pt, pl
      if conv.padding == "same" then
        local oh, ow = math.ceil(h / sh), math.ceil(w / sw)
        pt = math.max((oh - 1) * sh + kh - h, 0) // 2
        pl = math.max((ow - 1) * sw + kw - w, 0) // 2
        assert.same({ n, cout, oh, ow }, { y:shape() })
      else
        pt, pl = conv.padding[1], conv.padding[2]
      end
      local _, _, oh, ow = y:shape()
      close(y, conv_ref(x, conv.weights, conv.biases, { sh, sw }, pt, pl, oh, ow), 1e-4)
    end)
    it("matches finite differences (inputs, weights, biases): " .. name, function()
      lunet.seed(4)
      local conv = lunet.Conv2D(cin, cout, k, opts)
      gradcheck(conv, lunet.randn(n, cin, h, w), { "inputs", "weights", "biases" }, 3e-3)
    end)
  end

  it("adds L1 and L2 gradients on weights and biases like Dense", function()
    lunet.seed(5)
    local conv = lunet.Conv2D(2, 2, 2, { weight_regularizer_l2 = 0.3, bias_regularizer_l2 = 0.2 })
    conv.biases = lunet.randn(1, 2)
    local x = lunet.randn(2, 2, 3, 3)
    local R = lunet.randn(conv:forward(x):shape())
    local function f()
      local reg = 0.3 * (conv.weights * conv.weights):sum() + 0.2 * (conv.biases * conv.biases):sum()
      return (conv:forward(x) * R):sum() + reg
    end
    f()
    conv:backward(R)
    local dw, db = conv.dweights:clone(), conv.dbiases:clone()
    close(dw, numgrad(f, conv.weights, 1e-2), 3e-3)
    close(db, numgrad(f, conv.biases, 1e-2), 3e-3)
  end)

  it("gives the same numbers on 1, 2 and 3 threads", function()
    lunet.seed(6)
    local conv = lunet.Conv2D(3, 8, 3, { padding = 1 })
    local x = lunet.randn(37, 3, 9, 9)
    local outs = {}
    for _, t in ipairs { 1, 2, 3 } do
      lunet.set_threads(t)
      local y = conv:forward(x):clone()
      conv:backward(y)
      outs[t] = { y:totable(), conv.dinputs:totable(), conv.dweights:totable(), conv.dbiases:totable() }
    end
    lunet.set_threads(2)
    assert.same(outs[1], outs[2])
    assert.same(outs[1], outs[3])
  end)

  it("initialises weights he_normal by default, biases zero", function()
    lunet.seed(7)
    local conv = lunet.Conv2D(4, 16, 3)
    assert.equal("he_normal", conv.init)
    local w = conv.weights
    assert.same({ 16, 4, 3, 3 }, { w:shape() })
    lunet.seed(7)
    local ref = lunet.randn(16, 4, 3, 3) * math.sqrt(2 / 36)
    close(w, ref, 1e-6)
    assert.equal(0, conv.biases:abs():sum())
  end)

  it("names the layer and both shapes in its errors", function()
    local conv = lunet.Conv2D(3, 4, 3)
    raises({ "Conv2D:forward: inputs are 2x1x5x5", "expects images of 3 channels", "Conv2D(3 -> 4, 3x3)" },
           conv.forward, conv, lunet.ones(2, 1, 5, 5))
    raises({ "Conv2D:forward: inputs are 2x12", "expected N x 3 x H x W images" }, conv.forward, conv,
           lunet.ones(2, 12))
    raises({ "inputs are 1x3x2x2", "cannot fit its 3x3 kernel in 2x2 images" }, conv.forward, conv,
           lunet.ones(1, 3, 2, 2))
    conv:forward(lunet.ones(2, 3, 5, 5))
    raises({ "Conv2D:backward: dvalues are 2x4x4x4, expected 2x4x3x3" }, conv.backward, conv, lunet.ones(2, 4, 4, 4))
    raises("lunet.Conv2D: argument 3 (kernel) must be a number", lunet.Conv2D, 1, 2)
    raises("option 'padding' must be a number, a { h, w } pair or \"same\", got \"valid\"", lunet.Conv2D, 1, 2, 3,
           { padding = "valid" })
    raises("option 'stride' must be a positive integer", lunet.Conv2D, 1, 2, 3, { stride = 0 })
    raises("unknown option", lunet.Conv2D, 1, 2, 3, { strides = 2 })
  end)
end)

describe("lunet.MaxPool2D", function()
  it("takes each window's maximum and routes the gradient to it", function()
    local x = lunet.tensor { { { { 1, 5, 2, 0 }, { 3, 4, 8, 1 }, { 0, 0, 1, 2 }, { 7, 0, 3, 9 } } } }
    local p = lunet.MaxPool2D(2)
    assert.same({ { { { 5, 8 }, { 7, 9 } } } }, p:forward(x):totable())
    local d = p:backward(lunet.tensor { { { { 1, 2 }, { 3, 4 } } } })
    assert.same({ { { { 0, 1, 0, 0 }, { 0, 0, 2, 0 }, { 0, 0, 0, 0 }, { 3, 0, 0, 4 } } } }, d:totable())
  end)

  it("propagates the first NaN of a window (and its gradient goes there)", function()
    local nan = 0 / 0
    local x = lunet.tensor { { { { 1, nan, 3, 2 }, { nan, 0, 1, 5 } } } }
    local p = lunet.MaxPool2D(2)
    local y = p:forward(x)
    assert(y:get(1, 1, 1, 1) ~= y:get(1, 1, 1, 1))
    assert.equal(5, y:get(1, 1, 1, 2))
    local d = p:backward(lunet.tensor { { { { 7, 9 } } } })
    assert.same({ { { { 0, 7, 0, 0 }, { 0, 0, 0, 9 } } } }, d:totable())
  end)

  it("matches finite differences with overlapping windows and odd sizes", function()
    lunet.seed(8)
    local p = lunet.MaxPool2D({ 3, 2 }, { stride = { 2, 1 } })
    -- distinct values 0.1 apart, so that no step of 1e-2 changes a maximum
    local x = ((lunet.randperm(70) - 35) * 0.1):view(2, 1, 7, 5)
    gradcheck(p, x, { "inputs" }, 3e-3)
  end)

  it("names the layer and shapes in its errors", function()
    local p = lunet.MaxPool2D(3)
    raises({ "MaxPool2D:forward: inputs are 1x1x2x5", "cannot fit its 3x3 window in 2x5 images" }, p.forward, p,
           lunet.ones(1, 1, 2, 5))
    raises({ "MaxPool2D:forward: inputs are 4x9", "expected N x C x H x W images" }, p.forward, p, lunet.ones(4, 9))
  end)
end)

describe("lunet.Flatten", function()
  it("views N x C x H x W as N x (C*H*W) and back", function()
    local f = lunet.Flatten()
    local x = lunet.randn(2, 3, 2, 2)
    local y = f:forward(x)
    assert.same({ 2, 12 }, { y:shape() })
    close(y:view(2, 3, 2, 2), x, 0)
    local d = f:backward(y * 2)
    assert.same({ 2, 3, 2, 2 }, { d:shape() })
    close(d, x * 2, 0)
    -- a training step makes no new object: the same input gives the same view
    assert.equal(y, f:forward(x))
    assert.are_not.equal(y, f:forward(x:clone()))
  end)
end)

describe("lunet.BatchNormalization", function()
  it("normalises each feature with the batch's statistics and updates the running ones", function()
    local bn = lunet.BatchNormalization { momentum = 0.8 }
    local x = lunet.tensor { { 1, 10 }, { 3, 20 }, { 5, 60 } }
    local y = bn:forward(x)
    -- feature 1: mean 3, biased variance 8/3
    local s = 1 / math.sqrt(8 / 3 + 1e-5)
    close(y:narrow(2, 1, 1):view(3), { -2 * s, 0, 2 * s }, 1e-5)
    close(bn.running_mean, { { 0.2 * 3, 0.2 * 30 } }, 1e-5)
    -- running variance: the unbiased one (8/3 * 3/2 = 4; 1400/3 * 3/2 = 700)
    close(bn.running_var, { { 0.8 + 0.2 * 4, 0.8 + 0.2 * 700 } }, 1e-3)
    assert.equal(1, bn.num_batches_tracked)
    local e = bn:forward(x, false)
    local sd = math.sqrt(1.6 + 1e-5)
    close(e:narrow(2, 1, 1):view(3), { (1 - 0.6) / sd, (3 - 0.6) / sd, (5 - 0.6) / sd }, 1e-5)
  end)

  it("normalises per channel on images", function()
    local bn = lunet.BatchNormalization()
    local x = lunet.randn(3, 2, 4, 5) * 3 + 1
    local y = bn:forward(x)
    assert.same({ 1, 2 }, { bn.weights:shape() })
    for c = 1, 2 do
      local ch = y:narrow(2, c, 1)
      assert(math.abs(ch:mean()) < 1e-5)
      assert(math.abs((ch * ch):mean() - 1) < 1e-3)
    end
  end)

  local function bncheck(shape, training)
    lunet.seed(9)
    local bn = lunet.BatchNormalization()
    local x = lunet.randn(table.unpack(shape))
    bn:forward(x)
    bn.weights = lunet.randn(bn.weights:shape())
    bn.biases = lunet.randn(bn.biases:shape())
    gradcheck(bn, x, { "inputs", "weights", "biases" }, 3e-3, training)
  end
  it("matches finite differences on a matrix (training)", function() bncheck({ 5, 3 }, true) end)
  it("matches finite differences on images (training)", function() bncheck({ 3, 2, 3, 4 }, true) end)
  it("matches finite differences with the running statistics (training = false)", function()
    bncheck({ 4, 2, 3, 3 }, false)
  end)

  it("trains on one value per feature (a last batch of 1) without touching the running values; names shapes",
     function()
    local bn = lunet.BatchNormalization { features = 4 }
    bn.biases = lunet.tensor { { 1, 2, 3, 4 } }
    local y = bn:forward(lunet.tensor { { 5, -1, 7, 0 } })
    assert.same({ { 1, 2, 3, 4 } }, y:totable())
    assert.same({ { 0, 0, 0, 0 } }, bn.running_mean:totable())
    assert.same({ { 1, 1, 1, 1 } }, bn.running_var:totable())
    assert.equal(0, bn.num_batches_tracked)
    bn:backward(lunet.ones(1, 4))
    assert.same({ { 0, 0, 0, 0 } }, bn.dinputs:totable())
    bn:forward(lunet.randn(2, 4))
    raises({ "BatchNormalization:forward: inputs are 2x5", "expects 4 features" }, bn.forward, bn, lunet.ones(2, 5))
    raises("option 'momentum' must be in [0, 1]", lunet.BatchNormalization, { momentum = 2 })
  end)
end)

describe("the init option", function()
  local function stats(t)
    local n = t:numel()
    local mean = t:sum() / n
    local var = ((t - mean) * (t - mean)):sum() / n
    return mean, var, t:abs():max()
  end
  it("draws each initializer's distribution (Dense: fan_in = inputs, fan_out = neurons)", function()
    lunet.seed(10)
    local nin, nout = 400, 300
    local _, v = stats(lunet.Dense(nin, nout, { init = "he_normal" }).weights)
    assert(math.abs(v / (2 / nin) - 1) < 0.03, v)
    _, v = stats(lunet.Dense(nin, nout, { init = "glorot_normal" }).weights)
    assert(math.abs(v / (2 / (nin + nout)) - 1) < 0.03, v)
    local m, mx
    _, v, mx = stats(lunet.Dense(nin, nout, { init = "he_uniform" }).weights)
    assert(mx <= math.sqrt(6 / nin) and mx > 0.99 * math.sqrt(6 / nin))
    assert(math.abs(v / (2 / nin) - 1) < 0.03, v) -- U(+-a) has variance a^2 / 3
    m, _, mx = stats(lunet.Dense(nin, nout, { init = "glorot_uniform" }).weights)
    assert(mx <= math.sqrt(6 / (nin + nout)) and math.abs(m) < 1e-3)
    lunet.seed(1)
    local d = lunet.Dense(3, 2, { init = "book" })
    lunet.seed(1)
    close(d.weights, lunet.randn(3, 2) * 0.01, 0)
  end)
  it("uses fan_in = in * kh * kw and fan_out = out * kh * kw on Conv2D", function()
    lunet.seed(11)
    local c = lunet.Conv2D(8, 16, 5, { init = "glorot_normal" })
    local _, v = stats(c.weights)
    assert(math.abs(v / (2 / (8 * 25 + 16 * 25)) - 1) < 0.05, v)
  end)
  it("rejects unknown names", function()
    raises("option 'init' must be one of", lunet.Dense, 2, 2, { init = "xavier" })
  end)
end)

describe("lunet.Input(c, h, w)", function()
  it("declares a sample's shape: finalize checks every size and names both ends", function()
    local m = lunet.Model()
    m:add(lunet.Input(1, 28, 28)); m:add(lunet.Conv2D(1, 8, 3)); m:add(lunet.ReLU()); m:add(lunet.MaxPool2D(2))
    m:add(lunet.Flatten()); m:add(lunet.Dense(1000, 10))
    raises("Model:finalize: layer 6 (Dense(1000 -> 10)) expects 1000 inputs but layer 5 (Flatten) gives 1352",
           m.finalize, m)
    local m2 = lunet.Model()
    m2:add(lunet.Input(3, 8, 8)); m2:add(lunet.Conv2D(1, 2, 3))
    raises("layer 2 (Conv2D(1 -> 2, 3x3)) expects images of 1 channel (C x H x W samples) but layer 1 "
           .. "(Input(3, 8, 8)) gives 3x8x8",
           m2.finalize, m2)
  end)
  it("checks the inputs it is given", function()
    local i = lunet.Input(1, 4, 4)
    raises({ "Input:forward: inputs are 2x1x4x5", "expected N x 1x4x4" }, i.forward, i, lunet.ones(2, 1, 4, 5))
    assert.same({ 1, 4, 4 }, i.shape)
    raises("lunet.Input: takes no sizes, one (features) or three", lunet.Input, 1, 2)
  end)
end)

describe("a convolutional Model", function()
  -- 3 classes told apart by which third of the image holds a bright column
  local function data(n, seed)
    lunet.seed(seed)
    local X, y = lunet.randn(n, 1, 9, 9) * 0.1, lunet.zeros(n)
    for i = 1, n do
      local c = (i - 1) % 3
      y:set(i, c + 1)
      for r = 1, 9 do X:set(i, 1, r, 2 + 3 * c, X:get(i, 1, r, 2 + 3 * c) + 1) end
    end
    return X, y
  end
  local function build(bn, optimizer)
    local m = lunet.Model()
    m:add(lunet.Input(1, 9, 9)); m:add(lunet.Conv2D(1, 4, 3, { padding = "same", weight_regularizer_l2 = 1e-4 }))
    if bn then m:add(lunet.BatchNormalization()) end
    m:add(lunet.ReLU()); m:add(lunet.MaxPool2D(2)); m:add(lunet.Conv2D(4, 6, 2, { stride = 2 }))
    m:add(lunet.ReLU()); m:add(lunet.Flatten()); m:add(lunet.Dense(24, 8)); m:add(lunet.ReLU())
    m:add(lunet.Dropout(0.1)); m:add(lunet.Dense(8, 3)); m:add(lunet.Softmax())
    m:set { loss = lunet.CategoricalCrossentropy(), optimizer = optimizer or lunet.Adam { learning_rate = 0.02 },
            accuracy = lunet.CategoricalAccuracy() }
    m:finalize()
    return m
  end

  it("learns, with every optimizer, and with batch normalisation", function()
    local X, y = data(120, 1)
    for _, opt in ipairs { lunet.SGD { learning_rate = 0.1, momentum = 0.9 }, lunet.Adagrad { learning_rate = 0.05 },
                           lunet.RMSprop { learning_rate = 0.005 }, lunet.Adam { learning_rate = 0.02 } } do
      for _, bn in ipairs { false, true } do
        lunet.seed(2)
        local m = build(bn, opt)
        local before = m.layers[2].weights:clone()
        m:train(X, y, { epochs = 15, batch_size = 20, verbose = 0 })
        local _, acc = m:evaluate(X, y, { verbose = 0 })
        assert(acc >= 0.9, tostring(opt) .. (bn and " with batch norm" or "") .. ": accuracy " .. acc)
        assert((m.layers[2].weights - before):abs():max() > 0)
      end
    end
  end)

  it("trains bit for bit the same on 1, 2 and 3 threads", function()
    local X, y = data(70, 3)
    local results = {}
    for _, t in ipairs { 1, 2, 3 } do
      lunet.set_threads(t)
      lunet.seed(4)
      local m = build(true)
      m:train(X, y, { epochs = 2, batch_size = 33, verbose = 0, shuffle = true })
      results[t] = { m.layers[2].weights:totable(), m.layers[3].running_var:totable(), m:predict(X):totable() }
    end
    lunet.set_threads(2)
    assert.same(results[1], results[2])
    assert.same(results[1], results[3])
  end)

  it("saves and loads: predictions, running statistics and training resume", function()
    local X, y = data(60, 5)
    lunet.seed(6)
    local m = build(true)
    m:train(X, y, { epochs = 2, batch_size = 20, verbose = 0 })
    local dir = check.tmpdir()
    local path = dir .. "/cnn.lunet"
    m:save(path)
    local m2 = lunet.Model.load(path)
    assert.same(m:predict(X):totable(), m2:predict(X):totable())
    assert.same(m.layers[3].running_mean:totable(), m2.layers[3].running_mean:totable())
    assert.equal(m.layers[3].num_batches_tracked, m2.layers[3].num_batches_tracked)
    assert.equal(tostring(m.layers[5]), tostring(m2.layers[5]))
    assert.equal("same", m2.layers[2].padding)
    assert.equal(m:summary_string(), m2:summary_string())
    os.remove(path)
  end)

  it("checks shapes at the first batch without a declared Input", function()
    local m = lunet.Model()
    m:add(lunet.Conv2D(1, 2, 3)); m:add(lunet.Flatten()); m:add(lunet.Dense(10, 2)); m:add(lunet.Softmax())
    m:set { loss = lunet.CategoricalCrossentropy(), optimizer = lunet.Adam(), accuracy = lunet.CategoricalAccuracy() }
    m:finalize()
    raises({ "layer 3", "Dense(10 -> 2)", "inputs are 4x18", "expected 10 columns" }, m.predict, m,
           lunet.randn(4, 1, 5, 5))
  end)
end)

describe("image-shaped data", function()
  it("image_folder(dir, { shape = 'image' }) gives N x C x H x W, gray and RGB", function()
    local dir = check.tmpdir()
    os.execute("mkdir -p '" .. dir .. "/0' '" .. dir .. "/1'")
    local a = lunet.tensor { { { 10, 20, 30 }, { 40, 50, 60 } }, { { 70, 80, 90 }, { 100, 110, 120 } } } -- 2x2x3
    local b = a + 5
    lunet.image.save(dir .. "/0/a.png", a)
    lunet.image.save(dir .. "/1/b.png", b)
    local flat, y = lunet.data.image_folder(dir, { gray = false })
    local X = lunet.data.image_folder(dir, { gray = false, shape = "image" })
    assert.same({ 2, 12 }, { flat:shape() })
    assert.same({ 2, 3, 2, 2 }, { X:shape() })
    assert.same({ 1, 2 }, y:totable())
    for c = 1, 3 do
      for r = 1, 2 do
        for col = 1, 2 do assert.equal(a:get(r, col, c), X:get(1, c, r, col)) end
      end
    end
    local G = lunet.data.image_folder(dir, { shape = "image" })
    assert.same({ 2, 1, 2, 2 }, { G:shape() })
    raises("option 'shape' must be \"flat\"", lunet.data.image_folder, dir, { shape = "nchw" })
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("fashion_mnist(dir, { shape = 'image' }) gives N x 1 x 28 x 28 (when the data set is installed)", function()
    local ok, X, y = pcall(lunet.data.fashion_mnist, nil, { shape = "image" })
    if not ok then pending("Fashion-MNIST is not installed: " .. tostring(X)) return end
    assert.same({ 60000, 1, 28, 28 }, { X:shape() })
    assert.equal(60000, #y)
    raises("option 'shape' must be", lunet.data.fashion_mnist, nil, { shape = "square" })
  end)
end)
