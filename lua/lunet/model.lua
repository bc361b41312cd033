--- lunet.model: the Lua half of lunet.Model.
-- The Model object and every training step are C (src/model.c); this file
-- adds the epoch loop with the book's printing, validation, history and
-- callbacks, evaluation in batches, the summary, and saving and loading
-- through safetensors files.
local core = require "lunet.core"

local M = {}

local model_mt = getmetatable(core.Model())
local methods = model_mt.__methods

-- class name of a lunet object: "Dense" for a lunet.Dense
local function kind(obj)
  local mt = getmetatable(obj)
  local name = type(mt) == "table" and mt.__name
  return type(name) == "string" and name:match("^lunet%.(.+)$") or nil
end
M.kind = kind

-- a value's type for messages: "lunet.Tensor", "nil", "table", ...
local function typename(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and type(mt.__name) == "string" and mt.__name or type(v)
end

-- raise unless self is a Model and at most `most` arguments follow it: the
-- '.' for ':' mistake (m.train(X, y)) says so, and no argument is ignored
local function checkcall(self, who, most, n)
  if getmetatable(self) ~= model_mt then
    error(string.format("%s: self must be a lunet.Model, got %s: call the method with ':' (obj:%s(...)), not '.'",
      who, typename(self), who:match(":(.*)$")), 3)
  end
  if n > most then
    error(string.format("%s: takes at most %d argument%s, got %d", who, most, most == 1 and "" or "s", n), 3)
  end
end

--- Python's repr of a float: the shortest of %.15g/%.16g/%.17g that reads
-- back equal, with ".0" added to integral values (as the book prints lr).
local function pyfloat(x)
  if x ~= x then return "nan" end
  if x == math.huge then return "inf" end
  if x == -math.huge then return "-inf" end
  local s
  for _, p in ipairs { 15, 16, 17 } do
    s = string.format("%." .. p .. "g", x)
    if tonumber(s) == x then break end
  end
  if not s:find("[.en]") then s = s .. ".0" end
  return s
end
M.pyfloat = pyfloat

local function isfinite(x) return x == x and x ~= math.huge and x ~= -math.huge end

local function checkint(v, name, who, min)
  if math.type(v) ~= "integer" then
    error(string.format("%s: option '%s' must be an integer, got %s", who, name,
      type(v) == "number" and tostring(v) or type(v)), 3)
  end
  if v < min then
    error(string.format("%s: option '%s' must be >= %d, got %d", who, name, min, v), 3)
  end
end

local train_options = { epochs = true, batch_size = true, print_every = true, validation_data = true,
  shuffle = true, verbose = true, callbacks = true, check_finite = true }

local function checkoptions(opts, allowed, who)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error(who .. ": options must be a table, got " .. type(opts), 3) end
  for k in pairs(opts) do
    if not allowed[k] then
      local names = {}
      for n in pairs(allowed) do names[#names + 1] = n end
      table.sort(names)
      error(string.format("%s: unknown option '%s' (expected one of: %s)", who, tostring(k),
        table.concat(names, ", ")), 3)
    end
  end
  return opts
end

local function checkdata(X, y, who, what)
  if not core.is_tensor(X) then error(string.format("%s: %s must be a tensor, got %s", who, what[1], type(X)), 3) end
  if not core.is_tensor(y) then error(string.format("%s: %s must be a tensor, got %s", who, what[2], type(y)), 3) end
  if #X ~= #y then
    error(string.format("%s: %s has %d samples but %s has %d", who, what[1], #X, what[2], #y), 3)
  end
end

-- a tensor's sizes joined with "x"
local function shapestr(t) return table.concat({ t:shape() }, "x") end

-- raise unless a and b have the same sizes after the first (validation
-- data must look like the training data, whatever their sample counts)
local function checksamelike(a, b, who, aname, bname)
  local sa, sb = { a:shape() }, { b:shape() }
  table.remove(sa, 1); table.remove(sb, 1)
  if table.concat(sa, "x") ~= table.concat(sb, "x") or #sa ~= #sb then
    error(string.format("%s: %s is %s but %s is %s (sizes after the first must match)", who, aname,
      shapestr(a), bname, shapestr(b)), 3)
  end
end

-- finish a pcall of a C function: on error re-raise its message at the
-- position of the user's call (level counts from the caller of rethrow),
-- without the position inside this file; `rename` swaps a C name prefix
-- (e.g. "lunet.safetensors.load") for the public function's name
local function rethrow(level, rename, ok, ...)
  if ok then return ... end
  local msg = tostring((...)):gsub("^[^\n]-lunet[/\\]model[%w_]*%.lua:%d+: ", "")
  if rename then msg = msg:gsub("^lunet%.safetensors%.%a+:", rename .. ":") end
  error(msg, level + 1)
end

local function steps_for(n, batch_size)
  if not batch_size then return 1, n end
  local steps = n // batch_size
  if steps * batch_size < n then steps = steps + 1 end
  return steps, batch_size
end

-- progress line for verbose = 1 on a terminal
local function progress(step, steps, t0, loss, acc)
  local width = 30
  local done = math.floor(width * step / steps)
  local elapsed = core.now() - t0
  local eta = step > 0 and elapsed / step * (steps - step) or 0
  local bar = string.rep("=", math.max(done - 1, 0)) .. (done > 0 and (step < steps and ">" or "=") or "")
  io.write(string.format("\r%d/%d [%-" .. width .. "s] %ds %s - loss: %.4f - acc: %.4f ",
    step, steps, bar, math.floor(elapsed + 0.5),
    step < steps and string.format("ETA %ds", math.floor(eta + 0.5)) or "", loss, acc))
  io.flush()
end

-- A job of model:trainer runs train (and evaluate) in a coroutine, handing
-- these hooks over through the upvalues below, which train and evaluate
-- read and clear on entry: after argument checking train yields "ready"
-- with its history; then after every unit of work (a training step, a
-- batch of validation) the hook yields the epoch and the last step done.
local pending_unit, pending_eval_unit

--- model:train(X, y, { epochs = 1, batch_size = nil, print_every = 1,
-- validation_data = { Xv, yv }, shuffle = false, verbose = nil, callbacks = {},
-- check_finite = true }) -> history
function methods.train(self, X, y, opts, ...)
  local unit = pending_unit
  pending_unit = nil
  local who = unit and "Model:trainer" or "Model:train"
  checkcall(self, who, 3, select("#", ...) + 3)
  opts = checkoptions(opts, train_options, who)
  checkdata(X, y, who, { "X", "y" })
  local epochs = opts.epochs or 1
  checkint(epochs, "epochs", who, 0)
  local batch_size = opts.batch_size
  if batch_size ~= nil then checkint(batch_size, "batch_size", who, 1) end
  local print_every = opts.print_every or 1
  checkint(print_every, "print_every", who, 1)
  local verbose = opts.verbose
  if verbose ~= nil and verbose ~= 0 and verbose ~= 1 and verbose ~= 2 then
    error(who .. ": option 'verbose' must be 0, 1 or 2 (or nil for the book's output), got " .. tostring(verbose), 2)
  end
  local shuffle = opts.shuffle
  if shuffle ~= nil and type(shuffle) ~= "boolean" then error(who .. ": option 'shuffle' must be a boolean", 2) end
  local check_finite = opts.check_finite ~= false
  local vd = opts.validation_data
  if vd ~= nil then
    if type(vd) ~= "table" then error(who .. ": validation_data must be a table { X_val, y_val }", 2) end
    checkdata(vd[1], vd[2], who, { "validation_data[1]", "validation_data[2]" })
    -- caught here, not by evaluate after a whole epoch of training
    checksamelike(vd[1], X, who, "validation_data[1]", "X")
    checksamelike(vd[2], y, who, "validation_data[2]", "y")
  end
  local cbs = opts.callbacks or {}
  local callbacks = require "lunet.callbacks"
  callbacks.check(cbs, who)
  if not self.finalized then error(who .. ": call model:finalize() first (after add and set)", 2) end
  if not (self.loss and self.optimizer and self.accuracy) then
    error(who .. ": set loss, optimizer and accuracy first "
      .. "(model:set{ loss = ..., optimizer = ..., accuracy = ... })", 2)
  end

  local n = #X
  local steps, bs = steps_for(n, batch_size)
  local loss, acc_obj, opt = self.loss, self.accuracy, self.optimizer
  local tty = verbose == 1 and core._isatty()
  local history = { loss = {}, accuracy = {}, data_loss = {}, regularization_loss = {},
                    learning_rate = {} }
  if vd then history.val_loss, history.val_accuracy = {}, {} end
  if unit then coroutine.yield("ready", history) end
  acc_obj:init(y)
  callbacks.call_begin(cbs, self)
  local logs
  for epoch = 1, epochs do
    local t0 = core.now()
    if verbose == nil then print("epoch: " .. epoch)
    elseif tty then print(string.format("Epoch %d/%d", epoch, epochs)) end
    loss:new_pass()
    acc_obj:new_pass()
    if shuffle then self:_shuffle(n) end
    local step = 0
    while step < steps do
      -- the steps up to the next one that prints run in one call (a job's: one)
      local last = steps - 1
      if unit then last = step
      elseif verbose == nil then last = math.min(last, step + (print_every - step % print_every) % print_every)
      elseif tty then last = math.min(last, step + (10 - step % 10) % 10) end
      local ok, done, data_loss, reg_loss, accuracy =
        pcall(self._steps, self, X, y, step, last - step + 1, bs, shuffle, check_finite)
      if not ok then self:_sync_inputs(X) end -- the first layer's inputs, as the step left them
      rethrow(2, nil, ok, done)
      step = step + done - 1 -- the last step done
      local total = data_loss + reg_loss
      if check_finite and not isfinite(total) then
        self:_sync_inputs(X)
        error(string.format("%s: the loss became %s at epoch %d, step %d (data_loss %s, reg_loss %s); lower the " ..
          "learning rate or check the data for NaN/inf, or pass check_finite = false", who, tostring(total),
          epoch, step, tostring(data_loss), tostring(reg_loss)), 2)
      end
      if verbose == nil then
        if step % print_every == 0 or step == steps - 1 then
          print(string.format("step: %d, acc: %.3f, loss: %.3f (data_loss: %.3f, reg_loss: %.3f), lr: %s",
            step, accuracy, total, data_loss, reg_loss, pyfloat(opt.current_learning_rate)))
        end
      elseif tty and (step % 10 == 0 or step == steps - 1) then
        progress(step + 1, steps, t0, total, accuracy)
      end
      if unit then unit(epoch, step) end
      step = step + 1
    end
    self:_sync_inputs(X)
    local e_data, e_reg = loss:calculate_accumulated { include_regularization = true }
    local e_loss = e_data + e_reg
    local e_acc = acc_obj:calculate_accumulated()
    local lr = opt.current_learning_rate
    if verbose == nil then
      print(string.format("training, acc: %.3f, loss: %.3f (data_loss: %.3f, reg_loss: %.3f), lr: %s",
        e_acc, e_loss, e_data, e_reg, pyfloat(lr)))
    end
    logs = { loss = e_loss, accuracy = e_acc, data_loss = e_data, regularization_loss = e_reg,
             learning_rate = lr }
    if vd then
      if unit then pending_eval_unit = function() unit(epoch, steps - 1) end end
      local vl, va = self:evaluate(vd[1], vd[2], { batch_size = batch_size, verbose = verbose == nil and 1 or 0 })
      logs.val_loss, logs.val_accuracy = vl, va
    end
    if verbose == 1 or verbose == 2 then
      -- on a terminal the progress line is replaced by the epoch's summary;
      -- elsewhere one plain line per epoch, never a control character
      local head = tty and string.format("\r\27[K%d/%d [%s]", steps, steps, string.rep("=", 30))
                        or string.format("Epoch %d/%d", epoch, epochs)
      local parts = { string.format("%s - %.1fs - loss: %.4f - acc: %.4f", head, core.now() - t0, e_loss, e_acc) }
      if vd then
        parts[#parts + 1] = string.format("val_loss: %.4f - val_acc: %.4f", logs.val_loss, logs.val_accuracy)
      end
      parts[#parts + 1] = "lr: " .. pyfloat(lr)
      print(table.concat(parts, " - "))
    end
    for k, v in pairs(logs) do
      history[k] = history[k] or {}
      history[k][epoch] = v
    end
    self:_park() -- the callbacks and the caller's code run on their own
    if not callbacks.call_epoch_end(cbs, self, epoch, logs) then break end
  end
  callbacks.call_end(cbs, self, logs)
  self:_park() -- no thread spins once train has returned
  return history
end

--- model:evaluate(X, y, { batch_size = nil, verbose = 1 }) -> loss, accuracy
function methods.evaluate(self, X, y, opts, ...)
  local unit = pending_eval_unit
  pending_eval_unit = nil
  local who = "Model:evaluate"
  checkcall(self, who, 3, select("#", ...) + 3)
  opts = checkoptions(opts, { batch_size = true, verbose = true }, who)
  checkdata(X, y, who, { "X", "y" })
  if opts.batch_size ~= nil then checkint(opts.batch_size, "batch_size", who, 1) end
  if not self.finalized then error(who .. ": call model:finalize() first", 2) end
  if not (self.loss and self.accuracy) then error(who .. ": set loss and accuracy first (model:set{ ... })", 2) end
  local n = #X
  local steps, bs = steps_for(n, opts.batch_size)
  local loss, acc = self.loss, self.accuracy
  acc:init(y)
  loss:new_pass()
  acc:new_pass()
  for step = 0, steps - 1 do
    local first = step * bs + 1
    rethrow(2, nil, pcall(self._eval_step, self, X, y, first, math.min(bs, n - first + 1)))
    if unit then unit() end
  end
  local vl = loss:calculate_accumulated()
  local va = acc:calculate_accumulated()
  if opts.verbose ~= 0 then print(string.format("validation, acc: %.3f, loss: %.3f", va, vl)) end
  return vl, va
end

--- model:trainer(X, y, options) -> job: train's work (options as train's), a
-- little at a time: job:step(n) does at most n batches of work (training
-- steps, or batches of the epoch's validation) and returns done, epoch, step
-- (epoch from 1, step from 0, as the book prints); job.history is what train
-- returns, filled as epochs end.  The same numbers, printing and callbacks as
-- train.  For a game or tool that trains between frames.
local job_mt = { __index = {} }
job_mt.__name = "lunet.TrainingJob"

function methods.trainer(self, X, y, opts, ...)
  local who = "Model:trainer"
  checkcall(self, who, 3, select("#", ...) + 3)
  local co = coroutine.create(function(...)
    pending_unit = function(epoch, step) coroutine.yield("unit", epoch, step) end
    return "done", methods.train(...)
  end)
  local ok, what, history = coroutine.resume(co, self, X, y, opts)
  pending_unit, pending_eval_unit = nil, nil
  if not ok then
    error(tostring(what):gsub("^[^\n]-lunet[/\\]model[%w_]*%.lua:%d+: ", ""), 2)
  end
  if what ~= "ready" then error(who .. ": the training did not start", 2) end
  return setmetatable({ history = history, model = self, co = co, at_epoch = 0, at_step = 0, done = false }, job_mt)
end

--- job:step(n = 1) -> done, epoch, step
function job_mt.__index.step(job, n, ...)
  if getmetatable(job) ~= job_mt then
    error("TrainingJob:step: self must be a training job (from model:trainer): call the method with ':'", 2)
  end
  if select("#", ...) > 0 then error("TrainingJob:step: takes at most 1 argument, got " .. select("#", ...) + 1, 2) end
  n = n == nil and 1 or n
  checkint(n, "n", "TrainingJob:step", 1)
  if job.failed then error("TrainingJob:step: the job stopped with an error: " .. job.failed, 2) end
  for _ = 1, n do
    if job.done then break end
    local ok, what, a, b = coroutine.resume(job.co)
    if not ok then
      job.failed = tostring(what):gsub("^[^\n]-lunet[/\\]model[%w_]*%.lua:%d+: ", "")
      job.model:_park()
      error(job.failed, 2)
    end
    if what == "done" then job.done = true
    else job.at_epoch, job.at_step = a, b end
  end
  job.model:_park() -- no thread spins between the caller's frames
  return job.done, job.at_epoch, job.at_step
end

-- ------------------------------------------------------------- summary

local is_lua_layer = core._is_lua_layer

-- a Lua layer's parameter list (empty when it has none)
local function lua_params(l)
  local p = l.params
  return type(p) == "table" and p or {}
end

-- "Dense(2 -> 3)", or "Lua layer Scale" (the name its class was registered under)
local function describe(layer)
  if is_lua_layer(layer) then
    local name = core._layer_name(layer)
    return name and "Lua layer " .. name or "Lua layer"
  end
  return tostring(layer)
end

--- model:summary_string(): Keras' table of layers, output shapes, parameters
function methods.summary_string(self, ...)
  checkcall(self, "Model:summary_string", 0, select("#", ...))
  local layers = self.layers
  local rows, total, trainable = {}, 0, 0
  local shapes = self:_shapes()
  for i, l in ipairs(layers) do
    local params, fixed = 0, 0
    if is_lua_layer(l) then
      for _, t in ipairs(lua_params(l)) do params = params + t:numel() end
    elseif l.weights then
      params = l.weights:numel() + l.biases:numel()
      if l.running_mean then fixed = l.running_mean:numel() + l.running_var:numel() end
    end
    trainable = trainable + params
    total = total + params + fixed
    local shape = shapes[i] and table.concat(shapes[i], ", ") or "?"
    rows[#rows + 1] = { string.format("%d %s", i, describe(l)), string.format("(None, %s)", shape),
                        tostring(params + fixed) }
  end
  local w1, w2, w3 = 28, 16, 10
  for _, r in ipairs(rows) do
    w1 = math.max(w1, #r[1] + 2); w2 = math.max(w2, #r[2] + 2); w3 = math.max(w3, #r[3])
  end
  local line = string.rep("_", w1 + w2 + w3)
  local out = { "Model: lunet.Model" .. (self.finalized and "" or " (not finalized)"), line,
    string.format("%-" .. w1 .. "s%-" .. w2 .. "s%" .. w3 .. "s", "Layer (type)", "Output Shape", "Param #"),
    string.rep("=", w1 + w2 + w3) }
  for _, r in ipairs(rows) do
    out[#out + 1] = string.format("%-" .. w1 .. "s%-" .. w2 .. "s%" .. w3 .. "s", r[1], r[2], r[3])
  end
  out[#out + 1] = string.rep("=", w1 + w2 + w3)
  out[#out + 1] = "Total params: " .. total
  out[#out + 1] = "Trainable params: " .. trainable
  out[#out + 1] = "Non-trainable params: " .. (total - trainable)
  for _, f in ipairs { "loss", "optimizer", "accuracy" } do
    if self[f] then out[#out + 1] = string.format("%s: %s", f:gsub("^%l", string.upper), tostring(self[f])) end
  end
  return table.concat(out, "\n")
end

--- model:summary(): print the summary table
function methods.summary(self, ...)
  checkcall(self, "Model:summary", 0, select("#", ...))
  print(self:summary_string())
end

model_mt.__tostring = function(self) return self:summary_string() end

-- saving and loading (lua/lunet/model_files.lua) and C source export
-- (lua/lunet/export_c.lua), with the helpers above
-- write text to path through path .. ".tmp" and a rename, so a failed write
-- leaves no half-written file; errors are "<who>: <path>: <reason>" at level
local function write_file(path, text, who, level)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "wb")
  if not f then error(string.format("%s: %s", who, tostring(err)), level + 1) end
  local ok, werr = f:write(text)
  local cok, cerr = f:close()
  if ok and cok then ok, werr = os.rename(tmp, path) else werr = werr or cerr end
  if not ok then
    os.remove(tmp)
    error(string.format("%s: %s: %s", who, path, tostring(werr)), level + 1)
  end
end

local helpers = {
  checkcall = checkcall, kind = kind, typename = typename, rethrow = rethrow, isfinite = isfinite,
  shapestr = shapestr, describe = describe, is_lua_layer = is_lua_layer, lua_params = lua_params,
  write_file = write_file,
}
require("lunet.model_files")(M, methods, helpers)
require("lunet.export_c")(M, methods, helpers)
require("lunet.export_onnx")(M, methods, helpers)

return M
