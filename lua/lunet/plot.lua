--- lunet.plot: PNG pictures of training curves, sample images and confusion matrices.
--
-- Drawn by gnuplot (Debian's gnuplot-nox), driven through a pipe; data go to gnuplot as
-- inline data blocks ($name << EOD ... EOD).  The pngcairo terminal is used when gnuplot
-- has it, the libgd png terminal otherwise.  Set `plot.gnuplot` to use another command.
--
--   plot.history(history, path, { title, size = { w, h }, learning_rate = false })
--   plot.images(X, y, path, { predicted, labels, width = 28, height = 28, columns = 10,
--                             count = 40, range, title, scale = 3 })
--   plot.confusion(y, predicted, path, { labels, normalize = false, title, size = { w, h } })
--
-- plot.gnuplot = "gnuplot" (the command) and plot.terminal = nil (auto) may be changed.
-- Each returns `path` and raises when gnuplot is missing or fails (with the path and
-- gnuplot's message).
local core = require "lunet.core"

-- gnuplot: the command to run; terminal: nil to pick pngcairo or png, or a terminal name
local plot = { gnuplot = "gnuplot", terminal = nil }

local NOT_FOUND = "lunet.plot: gnuplot not found; install Debian's gnuplot-nox " ..
                  "(apt-get install gnuplot-nox)"

-- terminal name per gnuplot command, found once
local terminal_cache = {}

------------------------------------------------------------------ helpers

-- Raise a formatted message at the level of the caller of the public function.
local function fail(fmt, ...)
  error(string.format(fmt, ...), 3)
end

-- A gnuplot single-quoted string literal (no escapes; ' doubled).
local function gq(s)
  return "'" .. tostring(s):gsub("'", "''") .. "'"
end

-- A POSIX shell single-quoted word.
local function shq(s)
  return "'" .. tostring(s):gsub("'", [['\'']]) .. "'"
end

-- A number as gnuplot reads it (NaN for missing or non-finite values).
local function num(v)
  if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then return "NaN" end
  if math.type(v) == "integer" then return tostring(v) end
  return string.format("%.9g", v)
end

-- "5x3" for a tensor's shape.
local function shape_text(t)
  return table.concat({ t:shape() }, "x")
end

-- The terminal to use ("pngcairo" or "png"), asking gnuplot once per command.
local function terminal()
  if plot.terminal then return plot.terminal end
  local cmd = plot.gnuplot
  local term = terminal_cache[cmd]
  if term then return term end
  local p = io.popen(cmd .. ' -e "set terminal" 2>&1', "r")
  if not p then error(NOT_FOUND, 3) end
  local out = p:read("a") or ""
  local _, _, code = p:close()
  if code == 127 or code == 126 then error(NOT_FOUND, 3) end
  if out:find("pngcairo", 1, true) then
    term = "pngcairo"
  elseif out:find("%f[%w]png%f[%W]") then
    term = "png"
  else
    error("lunet.plot: '" .. cmd .. "' offers no png terminal; install Debian's gnuplot-nox", 3)
  end
  terminal_cache[cmd] = term
  return term
end

-- Feed `script` (a list of strings) to gnuplot; raise with the path and gnuplot's stderr.
local function render(fname, path, script)
  local term = terminal()
  -- open the output ourselves first: a clear reason, and gnuplot never dies mid-data
  local f, err = io.open(path, "wb")
  if not f then
    local reason = err or "unknown error"
    if reason:sub(1, #path + 2) == path .. ": " then reason = reason:sub(#path + 3) end
    error(string.format("%s: cannot write '%s': %s", fname, path, reason), 3)
  end
  f:close()
  local header = string.format("set encoding utf8\nset terminal %s noenhanced size %d,%d " ..
    "font %s\nset output %s\n", term, script.width, script.height,
    gq(term == "pngcairo" and "sans,10" or "sans,9"), gq(path))
  local errfile = os.tmpname()
  -- after gnuplot exits, `cat` drains what it left unread: an early exit (an error, or no
  -- gnuplot at all) must not kill us with SIGPIPE while we are still writing
  local p = io.popen("{ " .. plot.gnuplot .. "; } 2>" .. shq(errfile) ..
                     "; s=$?; cat >/dev/null; exit $s", "w")
  if not p then
    os.remove(errfile)
    error(NOT_FOUND, 3)
  end
  p:write(header, table.concat(script), "\nunset multiplot\nset output\n")
  local ok, _, code = p:close()
  local ef = io.open(errfile, "r")
  local msg = ef and ef:read("a") or ""
  if ef then ef:close() end
  os.remove(errfile)
  if code == 127 then error(NOT_FOUND, 3) end
  if not ok then
    msg = msg:gsub("^%s+", ""):gsub("%s+$", "")
    error(string.format("%s: gnuplot failed to write '%s' (exit %s): %s", fname, path,
      tostring(code), msg ~= "" and msg or "no message"), 3)
  end
  local out = io.open(path, "rb")
  local size = out and out:seek("end") or 0
  if out then out:close() end
  if size == 0 then
    error(string.format("%s: gnuplot wrote nothing to '%s': %s", fname, path, msg), 3)
  end
  return path
end

-- Check an option table against `spec` (key -> type) and return it (or {}).
local function check_options(fname, opts, spec)
  if opts == nil then return {} end
  if type(opts) ~= "table" then fail("%s: options must be a table, got %s", fname, type(opts)) end
  for k, v in pairs(opts) do
    local want = spec[k]
    if want == nil then fail("%s: unknown option '%s'", fname, tostring(k)) end
    local got = core.is_tensor(v) and "tensor" or type(v)
    if not want:find(got, 1, true) then
      fail("%s: option '%s' must be a %s, got %s", fname, k, want:gsub("|", " or "), got)
    end
  end
  return opts
end

-- A positive integer option (or its default).
local function count_option(fname, opts, key, default)
  local v = opts[key]
  if v == nil then return default end
  if math.tointeger(v) == nil or v < 1 then
    fail("%s: option '%s' must be a positive integer, got %s", fname, key, tostring(v))
  end
  return math.tointeger(v)
end

-- size = { w, h } option in pixels, or the default.
local function size_option(fname, opts, w, h)
  local s = opts.size
  if s == nil then return w, h end
  if type(s[1]) ~= "number" or type(s[2]) ~= "number" or s[1] < 16 or s[2] < 16 then
    fail("%s: option 'size' must be { width, height } in pixels (16 or more)", fname)
  end
  return math.floor(s[1]), math.floor(s[2])
end

-- Class names option: a list of strings (or nil).
local function labels_option(fname, opts)
  local names = opts.labels
  if names == nil then return nil end
  for i = 1, #names do
    if type(names[i]) ~= "string" and type(names[i]) ~= "number" then
      fail("%s: labels[%d] must be a string, got %s", fname, i, type(names[i]))
    end
  end
  if #names == 0 then fail("%s: option 'labels' must not be empty", fname) end
  return names
end

-- Class labels (1-D tensor, N x 1 tensor or Lua list) as a Lua list of integers 1..K.
-- `k` may be nil (any positive integer is accepted then).
local function label_list(fname, arg, v, k)
  local list
  if core.is_tensor(v) then
    local d1, d2 = v:shape()
    if v:dim() == 1 or (v:dim() == 2 and d2 == 1) then
      list = v:reshape(d1):totable()
    else
      fail("%s: %s must be a 1-D tensor of class labels, got %s (use :argmax() for one-hot rows)",
        fname, arg, shape_text(v))
    end
  elseif type(v) == "table" then
    list = v
  else
    fail("%s: %s must be a 1-D tensor of class labels, got %s", fname, arg, type(v))
  end
  local out = {}
  for i = 1, #list do
    local c = list[i]
    local ci = type(c) == "number" and math.tointeger(c) or nil
    if ci == nil or ci < 1 or (k and ci > k) then
      local shown = type(c) == "number" and num(math.tointeger(c) or c) or tostring(c)
      fail("%s: %s[%d] is %s, expected a class label in 1..%s", fname, arg, i, shown,
        k and tostring(k) or "K")
    end
    out[i] = ci
  end
  return out
end

-- Name of class c.
local function class_name(names, c)
  return names and tostring(names[c]) or tostring(c)
end

--------------------------------------------------------------- history

local SERIES = {
  { key = "loss", title = "training", color = "#1f77b4" },
  { key = "val_loss", title = "validation", color = "#ff7f0e" },
  { key = "accuracy", title = "training", color = "#1f77b4" },
  { key = "val_accuracy", title = "validation", color = "#ff7f0e" },
  { key = "learning_rate", title = "learning rate", color = "#2ca02c" },
}

local PANELS = {
  { name = "loss", keys = { 1, 2 }, key = "top right" },
  { name = "accuracy", keys = { 3, 4 }, key = "bottom right" },
  { name = "learning rate", keys = { 5 }, optional = true, key = "top right" },
}

-- plot.history(history, path, opts): loss and accuracy (training and validation) per epoch.
function plot.history(history, path, opts)
  local F = "plot.history"
  if type(history) ~= "table" then fail("%s: history must be a table, got %s", F, type(history)) end
  if type(path) ~= "string" then fail("%s: path must be a string, got %s", F, type(path)) end
  opts = check_options(F, opts, { title = "string", size = "table", learning_rate = "boolean" })
  local script, epochs, drawn = {}, 0, {}
  for i, s in ipairs(SERIES) do
    local v = history[s.key]
    if v ~= nil then
      if type(v) ~= "table" then
        fail("%s: history.%s must be a list of numbers, got %s", F, s.key, type(v))
      end
      local finite = 0
      for e = 1, #v do
        if type(v[e]) ~= "number" then
          fail("%s: history.%s[%d] must be a number, got %s", F, s.key, e, type(v[e]))
        end
        if num(v[e]) ~= "NaN" then finite = finite + 1 end
      end
      drawn[i] = finite > 0
      if finite > 0 then
        script[#script + 1] = string.format("$s%d << EOD\n", i)
        for e = 1, #v do
          script[#script + 1] = e .. " " .. num(v[e]) .. "\n"
        end
        script[#script + 1] = "EOD\n"
        epochs = math.max(epochs, #v)
      end
    end
  end
  local panels = {}
  for _, p in ipairs(PANELS) do
    local plots = {}
    for _, i in ipairs(p.keys) do
      if drawn[i] then
        plots[#plots + 1] = string.format("$s%d using 1:2 with %s lw 2 " ..
          "lc rgb %s title %s", i, epochs <= 50 and "linespoints pt 7 ps 0.6" or "lines",
          gq(SERIES[i].color), gq(SERIES[i].title))
      end
    end
    if #plots > 0 and (not p.optional or opts.learning_rate) then
      panels[#panels + 1] = { name = p.name, plots = plots, key = p.key }
    end
  end
  if #panels == 0 then
    fail("%s: history has no finite loss, val_loss, accuracy or val_accuracy values", F)
  end
  script.width, script.height = size_option(F, opts, 800, 360 * #panels + (opts.title and 40 or 0))
  script[#script + 1] = string.format("set multiplot layout %d,1%s\n", #panels,
    opts.title and " title " .. gq(opts.title) or "")
  script[#script + 1] = "set grid\nset xlabel 'epoch'\n"
  if epochs == 1 then
    script[#script + 1] = "set xrange [0.5:1.5]\n"
  else
    script[#script + 1] = string.format("set xrange [1:%d]\n", epochs)
  end
  if epochs <= 20 then script[#script + 1] = "set xtics 1\n" end
  for _, p in ipairs(panels) do
    script[#script + 1] = string.format("set title %s\nset ylabel %s\nset key %s opaque box\n",
      gq(p.name), gq(p.name), p.key)
    script[#script + 1] = "plot " .. table.concat(p.plots, ", \\\n  ") .. "\n"
  end
  return render(F, path, script)
end

---------------------------------------------------------------- images

-- plot.images(X, y, path, opts): a grid of sample pictures titled "true / predicted".
function plot.images(X, y, path, opts)
  local F = "plot.images"
  opts = check_options(F, opts, {
    predicted = "tensor|table", labels = "table", width = "number", height = "number",
    columns = "number", count = "number", range = "table", title = "string", scale = "number",
  })
  if type(path) ~= "string" then fail("%s: path must be a string, got %s", F, type(path)) end
  if not core.is_tensor(X) then fail("%s: X must be a tensor, got %s", F, type(X)) end
  local w = count_option(F, opts, "width", 28)
  local h = count_option(F, opts, "height", 28)
  if X:dim() == 3 then
    local n, xh, xw = X:shape()
    if opts.width == nil and opts.height == nil then w, h = xw, xh end
    if xh * xw ~= w * h then
      fail("%s: X is %s, expected N x %d x %d (height x width)", F, shape_text(X), h, w)
    end
    X = X:reshape(n, xh * xw)
  elseif X:dim() ~= 2 then
    fail("%s: X must be a 2-D tensor (one picture per row), got %s", F, shape_text(X))
  end
  local n, cols = X:shape()
  if cols ~= w * h then
    fail("%s: X is %s, expected %d columns (width %d x height %d)", F, shape_text(X), w * h, w, h)
  end
  if n == 0 then fail("%s: X has no rows", F) end
  local names = labels_option(F, opts)
  local k = names and #names or nil
  local truth = y ~= nil and label_list(F, "y", y, k) or nil
  if truth and #truth ~= n then
    fail("%s: y has %d labels, X has %d rows", F, #truth, n)
  end
  local pred = opts.predicted ~= nil and label_list(F, "predicted", opts.predicted, k) or nil
  if pred and #pred ~= n then
    fail("%s: predicted has %d labels, X has %d rows", F, #pred, n)
  end
  local count = math.min(count_option(F, opts, "count", 40), n)
  local columns = math.min(count_option(F, opts, "columns", 10), count)
  local rows = (count + columns - 1) // columns
  local scale = opts.scale or 3
  if scale <= 0 then fail("%s: option 'scale' must be positive, got %s", F, tostring(scale)) end

  local script, lo, hi = {}, nil, nil
  for i = 1, count do
    local px = X[i]:totable()
    script[#script + 1] = string.format("$img%d << EOD\n", i)
    for r = 0, h - 1 do
      local line = {}
      for c = 1, w do
        local v = px[r * w + c]
        line[c] = num(v)
        if lo == nil or v < lo then lo = v end
        if hi == nil or v > hi then hi = v end
      end
      script[#script + 1] = table.concat(line, " ") .. "\n"
    end
    script[#script + 1] = "EOD\n"
  end
  -- value range: given, else 0..255, or 0..1 / -1..1 for scaled data
  local range = opts.range
  if range then
    if type(range[1]) ~= "number" or type(range[2]) ~= "number" or range[1] >= range[2] then
      fail("%s: option 'range' must be { low, high } with low < high", F)
    end
  elseif lo >= -1 and hi <= 1 then
    range = lo < 0 and { -1, 1 } or { 0, 1 }
  else
    range = { 0, 255 }
  end

  -- titles: "true / predicted", wrong ones marked and red
  local mark = terminal() == "pngcairo" and "\u{2717} " or "X "
  local titles, colors, longest = {}, {}, 0
  for i = 1, count do
    if truth then
      local text, color = class_name(names, truth[i]), "black"
      if pred then
        text = text .. " / " .. class_name(names, pred[i])
        if pred[i] ~= truth[i] then text, color = mark .. text, "#d00000" end
      end
      titles[i], colors[i] = text, color
      longest = math.max(longest, utf8.len(text) or #text)
    end
  end

  -- layout in pixels: cells wide enough for their titles, pictures scaled without distortion
  local pic_w, pic_h = math.floor(w * scale + 0.5), math.floor(h * scale + 0.5)
  local title_h = truth and 16 or 0
  local cell_w = math.max(pic_w, math.ceil(longest * 5.5) + 8) + 6
  local cell_h = pic_h + title_h + 6
  local top_h = opts.title and 28 or 0
  local W, H = cell_w * columns + 10, cell_h * rows + 10 + top_h
  script.width, script.height = W, H
  script[#script + 1] = string.format("set palette gray\nset cbrange [%s:%s]\nunset colorbox\n" ..
    "unset key\nunset tics\nunset border\n" ..
    "set xrange [-0.5:%s]\nset yrange [%s:-0.5]\nset multiplot%s\n", num(range[1]),
    num(range[2]), num(w - 0.5), num(h - 0.5), opts.title and " title " .. gq(opts.title) or "")
  for i = 1, count do
    local r, c = (i - 1) // columns, (i - 1) % columns
    local x0 = 5 + c * cell_w + (cell_w - pic_w) / 2
    local y1 = H - top_h - 5 - r * cell_h - title_h - 3  -- picture top, pixels from the bottom
    script[#script + 1] = string.format("set lmargin at screen %s\nset rmargin at screen %s\n" ..
      "set tmargin at screen %s\nset bmargin at screen %s\nunset label\n",
      num(x0 / W), num((x0 + pic_w) / W), num(y1 / H), num((y1 - pic_h) / H))
    if titles[i] then
      script[#script + 1] = string.format("set label 1 %s at screen %s, screen %s center " ..
        "front font ',8' tc rgb %s\n", gq(titles[i]), num((5 + c * cell_w + cell_w / 2) / W),
        num((y1 + title_h / 2 + 1) / H), gq(colors[i]))
    end
    script[#script + 1] = string.format("plot $img%d matrix with image\n", i)
  end
  return render(F, path, script)
end

------------------------------------------------------------- confusion

-- plot.confusion(y, predicted, path, opts): confusion matrix heatmap (rows true, columns predicted).
function plot.confusion(y, predicted, path, opts)
  local F = "plot.confusion"
  opts = check_options(F, opts, { labels = "table", normalize = "boolean", title = "string",
                                  size = "table" })
  if type(path) ~= "string" then fail("%s: path must be a string, got %s", F, type(path)) end
  local names = labels_option(F, opts)
  local truth = label_list(F, "y", y, names and #names or nil)
  local pred = label_list(F, "predicted", predicted, names and #names or nil)
  if #truth ~= #pred then
    fail("%s: y has %d labels, predicted has %d", F, #truth, #pred)
  end
  if #truth == 0 then fail("%s: y has no labels", F) end
  local k = names and #names or 0
  if not names then
    for i = 1, #truth do k = math.max(k, truth[i], pred[i]) end
  end
  local m = {}
  for t = 1, k do
    m[t] = {}
    for p = 1, k do m[t][p] = 0 end
  end
  for i = 1, #truth do m[truth[i]][pred[i]] = m[truth[i]][pred[i]] + 1 end
  local fmt = "%d"
  if opts.normalize then
    fmt = "%.2f"
    for t = 1, k do
      local total = 0
      for p = 1, k do total = total + m[t][p] end
      for p = 1, k do m[t][p] = total > 0 and m[t][p] / total or 0 end
    end
  end
  local top = 0
  local script = { "$cm << EOD\n" }
  for t = 1, k do
    local line = {}
    for p = 1, k do
      line[p] = num(m[t][p])
      top = math.max(top, m[t][p])
    end
    script[#script + 1] = table.concat(line, " ") .. "\n"
  end
  script[#script + 1] = "EOD\n"
  if top == 0 then top = 1 end
  local tics = {}
  for c = 1, k do tics[c] = gq(class_name(names, c)) .. " " .. (c - 1) end
  tics = "(" .. table.concat(tics, ", ") .. ")"
  local side = math.max(480, 50 * k + 220)
  script.width, script.height = size_option(F, opts, side + 60, side)
  script[#script + 1] = string.format(
    "set palette defined (0 '#f7fbff', 1 '#6baed6', 2 '#08306b')\nset cbrange [0:%s]\n" ..
    "set xrange [-0.5:%s]\nset yrange [%s:-0.5]\nset size ratio -1\nunset key\n" ..
    "set xtics %s rotate by 45 right scale 0\nset ytics %s scale 0\n" ..
    "set xlabel 'predicted'\nset ylabel 'true'\nset title %s\n",
    num(top), num(k - 0.5), num(k - 0.5), tics, tics,
    gq(opts.title or (opts.normalize and "confusion matrix (rows normalized)" or
                      "confusion matrix")))
  local cell = string.format("sprintf(%s, $3)", gq(fmt))
  script[#script + 1] = string.format("plot $cm matrix with image, \\\n" ..
    "  $cm matrix using 1:2:($3 > %s ? %s : '') with labels tc rgb 'white', \\\n" ..
    "  $cm matrix using 1:2:($3 > %s ? '' : %s) with labels tc rgb 'black'\n",
    num(top / 2), cell, num(top / 2), cell)
  return render(F, path, script)
end

return plot
