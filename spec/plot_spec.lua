local lunet = require "lunet"
local check = require "helpers.check"
local slurp, error_of = check.readall, check.err
local plot = lunet.plot or require "lunet.plot"

local has_gnuplot = os.execute("gnuplot --version >/dev/null 2>&1") == true

-- Assert `path` is a PNG file of plausible size; return its width and height (from IHDR).
local function png_size(path)
  local s = slurp(path)
  assert.equal("\137PNG\r\n\26\n", s:sub(1, 8))
  assert.is_true(#s > 1000, "PNG is only " .. #s .. " bytes")
  local len, kind, w, h = string.unpack(">I4c4I4I4", s, 9)
  assert.equal(13, len)
  assert.equal("IHDR", kind)
  return w, h
end

-- A small training history (as Model:train returns it).
local function history(epochs, with_val)
  local h = { loss = {}, accuracy = {}, learning_rate = {} }
  if with_val then h.val_loss, h.val_accuracy = {}, {} end
  for e = 1, epochs do
    h.loss[e] = 1 / e
    h.accuracy[e] = 1 - 0.5 / e
    h.learning_rate[e] = 0.01 / (1 + 0.1 * e)
    if with_val then
      h.val_loss[e] = 1.2 / e
      h.val_accuracy[e] = 0.9 - 0.5 / e
    end
  end
  return h
end

-- N pictures of size w x h: picture i is a bar whose position depends on its class.
local function pictures(n, w, h, k)
  local X, y = lunet.zeros(n, w * h), lunet.zeros(n)
  for i = 1, n do
    local c = (i - 1) % k + 1
    y:set(i, c)
    for r = 1, h do
      X:set(i, (r - 1) * w + (c - 1) % w + 1, 255)
    end
  end
  return X, y
end

local tmp = {}
local function tmpfile(name)
  local p = os.tmpname() .. "-" .. name
  tmp[#tmp + 1] = p
  return p
end

describe("lunet.plot", function()
  local saved_cmd, saved_term
  before_each(function() saved_cmd, saved_term = plot.gnuplot, plot.terminal end)
  after_each(function()
    plot.gnuplot, plot.terminal = saved_cmd, saved_term
    for _, p in ipairs(tmp) do os.remove(p); os.remove((p:gsub("%-[^-]*$", ""))) end
    tmp = {}
  end)

  it("uses the gnuplot command by default", function()
    assert.equal("gnuplot", plot.gnuplot)
  end)

  describe("history()", function()
    it("validates its arguments", function()
      assert.matches("plot.history: history must be a table, got nil",
        error_of(plot.history, nil, "x.png"), 1, true)
      assert.matches("plot.history: path must be a string, got nil",
        error_of(plot.history, history(3), nil), 1, true)
      assert.matches("plot.history: unknown option 'titel'",
        error_of(plot.history, history(3), "x.png", { titel = "x" }), 1, true)
      assert.matches("plot.history: option 'title' must be a string, got number",
        error_of(plot.history, history(3), "x.png", { title = 1 }), 1, true)
      assert.matches("plot.history: history.loss[2] must be a number, got string",
        error_of(plot.history, { loss = { 1, "x" } }, "x.png"), 1, true)
      assert.matches("plot.history: history has no finite loss, val_loss, accuracy or val_accuracy values",
        error_of(plot.history, { learning_rate = { 1 } }, "x.png"), 1, true)
    end)

    if not has_gnuplot then pending("gnuplot is not installed") return end

    it("writes a two-panel PNG and returns the path", function()
      local path = tmpfile("history.png")
      assert.equal(path, plot.history(history(12, true), path, { title = "spiral" }))
      local w, h = png_size(path)
      assert.equal(800, w)
      assert.equal(2 * 360 + 40, h)
    end)

    it("honours size, draws a missing validation series, a single epoch and NaN", function()
      local path = tmpfile("h2.png")
      local h = history(1)
      h.loss[1] = 0 / 0
      plot.history(h, path, { size = { 640, 480 } })
      assert.same({ 640, 480 }, { png_size(path) })
      -- loss only: one panel
      plot.history({ loss = { 3, 2, 1 } }, path)
      assert.same({ 800, 360 }, { png_size(path) })
      -- learning-rate panel on request
      plot.history(history(5), path, { learning_rate = true })
      assert.same({ 800, 3 * 360 }, { png_size(path) })
    end)

    it("works through the libgd png terminal too", function()
      plot.terminal = "png"
      local path = tmpfile("h3.png")
      plot.history(history(4, true), path, { size = { 500, 400 } })
      assert.same({ 500, 400 }, { png_size(path) })
    end)

    it("raises with the path when the file cannot be written", function()
      assert.matches("plot.history: cannot write '/nonexistent-dir/h.png': No such file",
        error_of(plot.history, history(3), "/nonexistent-dir/h.png"), 1, true)
    end)

    it("raises with gnuplot's message when gnuplot fails", function()
      plot.terminal = "no-such-terminal"
      local path = tmpfile("h4.png")
      local err = error_of(plot.history, history(3), path)
      assert.matches("plot.history: gnuplot failed to write '" .. path .. "' (exit 1): ", err, 1, true)
      assert.matches("unknown or ambiguous terminal type", err, 1, true)
    end)

    it("raises a message naming gnuplot-nox when gnuplot is missing", function()
      plot.gnuplot = "lunet-no-such-gnuplot"
      local err = error_of(plot.history, history(3), tmpfile("h5.png"))
      assert.matches("lunet.plot: gnuplot not found; install Debian's gnuplot-nox " ..
        "(apt-get install gnuplot-nox)", err, 1, true)
      -- also when the terminal is fixed and the pipe is what fails
      plot.terminal = "png"
      err = error_of(plot.history, history(3), tmpfile("h6.png"))
      assert.matches("lunet.plot: gnuplot not found; install Debian's gnuplot-nox", err, 1, true)
    end)
  end)

  describe("images()", function()
    it("validates its arguments", function()
      local X, y = pictures(6, 4, 3, 3)
      assert.matches("plot.images: X must be a tensor, got table",
        error_of(plot.images, {}, y, "x.png"), 1, true)
      assert.matches("plot.images: X is 6x12, expected 784 columns (width 28 x height 28)",
        error_of(plot.images, X, y, "x.png"), 1, true)
      assert.matches("plot.images: y has 5 labels, X has 6 rows",
        error_of(plot.images, X, lunet.ones(5), "x.png", { width = 4, height = 3 }), 1, true)
      assert.matches("plot.images: y must be a 1-D tensor of class labels, got 6x3 " ..
        "(use :argmax() for one-hot rows)",
        error_of(plot.images, X, lunet.ones(6, 3), "x.png", { width = 4, height = 3 }), 1, true)
      assert.matches("plot.images: predicted[2] is 4, expected a class label in 1..3",
        error_of(plot.images, X, y, "x.png", { width = 4, height = 3,
          labels = { "a", "b", "c" }, predicted = { 1, 4, 1, 1, 1, 1 } }), 1, true)
      assert.matches("plot.images: y[1] is 0.5, expected a class label in 1..K",
        error_of(plot.images, X, { 0.5, 1, 1, 1, 1, 1 }, "x.png", { width = 4, height = 3 }), 1,
        true)
      assert.matches("plot.images: option 'columns' must be a positive integer, got 0",
        error_of(plot.images, X, y, "x.png", { width = 4, height = 3, columns = 0 }), 1, true)
      assert.matches("plot.images: unknown option 'cols'",
        error_of(plot.images, X, y, "x.png", { cols = 3 }), 1, true)
      assert.matches("plot.images: option 'predicted' must be a tensor or table, got string",
        error_of(plot.images, X, y, "x.png", { predicted = "x" }), 1, true)
    end)

    if not has_gnuplot then pending("gnuplot is not installed") return end

    it("writes a grid of titled pictures with wrong predictions marked", function()
      local X, y = pictures(50, 28, 28, 10)
      local p = y:clone()
      p:set(3, 7)
      p:set(12, 1)
      local names = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot" }
      local path = tmpfile("images.png")
      assert.equal(path, plot.images(X, y, path, { predicted = p, labels = names,
                                                   title = "samples" }))
      local w, h = png_size(path)
      -- 40 pictures in 4 rows of 10: much wider than tall
      assert.is_true(w > 1000 and w < 2500, "width " .. w)
      assert.is_true(h > 4 * 84 and h < 700, "height " .. h)
    end)

    it("lays out `count` pictures in `columns` columns", function()
      local X, y = pictures(12, 8, 6, 3)
      local path = tmpfile("i2.png")
      local opts = { width = 8, height = 6, columns = 2, count = 10, scale = 10 }
      plot.images(X, y, path, opts)
      local w2, h2 = png_size(path)
      opts.columns = 5
      plot.images(X, y, path, opts)
      local w5, h5 = png_size(path)
      assert.is_true(w5 > w2 and h5 < h2)
      -- 5 rows vs 2 rows of 60-pixel pictures
      assert.is_true(h2 >= 5 * 60 and h5 >= 2 * 60 and h5 < 3 * 80)
    end)

    it("survives gnuplot exiting early while much data is still to be written", function()
      local X, y = pictures(40, 28, 28, 10)  -- ~100 KB of data blocks, more than a pipe holds
      plot.terminal = "no-such-terminal"
      local path = tmpfile("i4.png")
      assert.matches("plot.images: gnuplot failed to write '" .. path .. "' (exit 1): ",
        error_of(plot.images, X, y, path), 1, true)
      plot.terminal, plot.gnuplot = "png", "lunet-no-such-gnuplot"
      assert.matches("lunet.plot: gnuplot not found",
        error_of(plot.images, X, y, tmpfile("i5.png")), 1, true)
    end)

    it("works through the libgd png terminal too", function()
      plot.terminal = "png"
      local X, y = pictures(4, 28, 28, 2)
      local path = tmpfile("i6.png")
      plot.images(X, y, path, { predicted = { 1, 1, 1, 1 } })
      png_size(path)
    end)

    it("accepts N x H x W tensors, scaled values, no labels and Lua lists", function()
      local X = lunet.rand(6, 5, 7)
      local path = tmpfile("i3.png")
      plot.images(X, nil, path)
      png_size(path)
      plot.images(X * 2 - 1, { 1, 2, 3, 1, 2, 3 }, path, { predicted = { 1, 2, 3, 3, 2, 1 } })
      png_size(path)
    end)
  end)

  describe("confusion()", function()
    it("validates its arguments", function()
      assert.matches("plot.confusion: y has 3 labels, predicted has 2",
        error_of(plot.confusion, lunet.tensor{ 1, 2, 3 }, lunet.tensor{ 1, 2 }, "c.png"), 1, true)
      assert.matches("plot.confusion: y[3] is 3, expected a class label in 1..2",
        error_of(plot.confusion, lunet.tensor{ 1, 2, 3 }, lunet.tensor{ 1, 2, 1 }, "c.png",
          { labels = { "a", "b" } }), 1, true)
      assert.matches("plot.confusion: predicted must be a 1-D tensor of class labels, got nil",
        error_of(plot.confusion, lunet.tensor{ 1 }, nil, "c.png"), 1, true)
      assert.matches("plot.confusion: option 'normalize' must be a boolean, got number",
        error_of(plot.confusion, { 1 }, { 1 }, "c.png", { normalize = 1 }), 1, true)
      assert.matches("plot.confusion: labels[2] must be a string, got table",
        error_of(plot.confusion, { 1 }, { 1 }, "c.png", { labels = { "a", {} } }), 1, true)
    end)

    if not has_gnuplot then pending("gnuplot is not installed") return end

    it("writes a heatmap with counts and class names", function()
      local y = lunet.tensor{ 1, 1, 2, 2, 3, 3, 3 }
      local p = lunet.tensor{ 1, 2, 2, 2, 3, 1, 3 }
      local path = tmpfile("confusion.png")
      assert.equal(path, plot.confusion(y, p, path, { labels = { "cat", "dog", "bird's" } }))
      assert.same({ 540, 480 }, { png_size(path) })
    end)

    it("normalizes rows and grows with the number of classes", function()
      local y, p = {}, {}
      for i = 1, 100 do y[i] = (i - 1) % 10 + 1; p[i] = (i * 7) % 10 + 1 end
      local path = tmpfile("c2.png")
      plot.confusion(lunet.tensor(y), lunet.tensor(p), path, { normalize = true })
      assert.same({ 780, 720 }, { png_size(path) })
      plot.confusion(y, p, path, { size = { 300, 200 }, title = "ten classes" })
      assert.same({ 300, 200 }, { png_size(path) })
    end)
  end)
end)
