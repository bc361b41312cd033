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
  local msg = tostring((...)):gsub("^[^\n]-lunet[/\\]model%.lua:%d+: ", "")
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

--- model:train(X, y, { epochs = 1, batch_size = nil, print_every = 1,
-- validation_data = { Xv, yv }, shuffle = false, verbose = nil, callbacks = {},
-- check_finite = true }) -> history
function methods.train(self, X, y, opts, ...)
  local who = "Model:train"
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
      -- the steps up to the next one that prints run in one call
      local last = steps - 1
      if verbose == nil then last = math.min(last, step + (print_every - step % print_every) % print_every)
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
  end
  local vl = loss:calculate_accumulated()
  local va = acc:calculate_accumulated()
  if opts.verbose ~= 0 then print(string.format("validation, acc: %.3f, loss: %.3f", va, vl)) end
  return vl, va
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
  local width = "?"
  for i, l in ipairs(layers) do
    local k = kind(l) or "?"
    local params = 0
    if k == "Dense" then
      width = l.n_neurons
      params = l.n_inputs * l.n_neurons + l.n_neurons
      trainable = trainable + params
    elseif is_lua_layer(l) then
      width = "?"
      for _, t in ipairs(lua_params(l)) do params = params + t:numel() end
      trainable = trainable + params
    end
    total = total + params
    rows[#rows + 1] = { string.format("%d %s", i, describe(l)), string.format("(None, %s)", tostring(width)),
                        tostring(params) }
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

-- ------------------------------------------------------------- files

local safetensors = setmetatable({}, { __index = function(_, k) return core.safetensors[k] end })

-- positions (in model.layers) of the trainable layers: Dense, and Lua layers
-- listing params
local function trainable_positions(self)
  local pos, layers = {}, self.layers
  for i, l in ipairs(layers) do
    if kind(l) == "Dense" or (is_lua_layer(l) and #lua_params(l) > 0) then pos[#pos + 1] = { i, l } end
  end
  return pos
end

-- the file names and tensors of layer i's parameters: layers.<i>.weights and
-- .biases for a Dense, layers.<i>.params.<j> for a Lua layer
local function named_parameters(i, l)
  if is_lua_layer(l) then
    local list = {}
    for j, t in ipairs(lua_params(l)) do list[j] = { string.format("layers.%d.params.%d", i, j), t } end
    return list
  end
  return { { string.format("layers.%d.weights", i), l.weights }, { string.format("layers.%d.biases", i), l.biases } }
end

local function parameter_tensors(self, tensors)
  for _, p in ipairs(trainable_positions(self)) do
    for _, nt in ipairs(named_parameters(p[1], p[2])) do tensors[nt[1]] = nt[2] end
  end
  return tensors
end

--- model:save_parameters(path): weights and biases as safetensors
function methods.save_parameters(self, path, ...)
  checkcall(self, "Model:save_parameters", 1, select("#", ...) + 1)
  if type(path) ~= "string" then error("Model:save_parameters: path must be a string", 2) end
  if not self.finalized then error("Model:save_parameters: call model:finalize() first", 2) end
  rethrow(2, "Model:save_parameters", pcall(safetensors.save, path, parameter_tensors(self, {}),
    { format = "lunet.parameters", ["lunet.version"] = core.version }))
  return self
end

-- copy the parameters found in `tensors` into the model, all checked first
local function load_parameter_tensors(self, tensors, path, who)
  local todo = {}
  for _, p in ipairs(trainable_positions(self)) do
    local i, l = p[1], p[2]
    for _, nt in ipairs(named_parameters(i, l)) do
      local name, want = nt[1], nt[2]
      local t = tensors[name]
      if t == nil then error(string.format("%s: %s: tensor '%s' is missing (layer %d, %s)", who, path, name, i,
        describe(l)), 3) end
      if table.concat({ t:shape() }, "x") ~= table.concat({ want:shape() }, "x") then
        error(string.format("%s: %s: tensor '%s' is %s, layer %d (%s) needs %s", who, path, name,
          table.concat({ t:shape() }, "x"), i, describe(l), table.concat({ want:shape() }, "x")), 3)
      end
      todo[#todo + 1] = { want, t }
    end
  end
  for _, pair in ipairs(todo) do pair[1]:copy_(pair[2]) end
end

--- model:load_parameters(path): weights and biases from a safetensors file
function methods.load_parameters(self, path, ...)
  local who = "Model:load_parameters"
  checkcall(self, who, 1, select("#", ...) + 1)
  if type(path) ~= "string" then error(who .. ": path must be a string", 2) end
  if not self.finalized then error(who .. ": call model:finalize() first", 2) end
  local tensors = rethrow(2, who, pcall(safetensors.load, path))
  load_parameter_tensors(self, tensors, path, who)
  return self
end

local optimizer_fields = {
  SGD = { "learning_rate", "decay", "momentum" },
  Adagrad = { "learning_rate", "decay", "epsilon" },
  RMSprop = { "learning_rate", "decay", "epsilon", "rho" },
  Adam = { "learning_rate", "decay", "epsilon", "beta_1", "beta_2" },
}
local state_names = { "weight_momentums", "weight_cache", "bias_momentums", "bias_cache" }
local lua_state_names = { "momentums", "cache" } -- a Lua layer's, lists like its params

-- the architecture entry of layer i; a Lua layer writes its registered
-- class name and the fields its class lists in class.saved
local function layer_spec(l, i, who)
  if is_lua_layer(l) then
    local name = core._layer_name(l)
    if not name then
      error(string.format("%s: layer %d is a Lua layer whose class is not registered: call "
        .. "lunet.register_layer(name, class) first (Model.load builds it with class.load(fields))", who, i), 3)
    end
    local class = core._layer_class(name)
    local fields = {}
    for _, f in ipairs(class.saved or {}) do fields[f] = l[f] end
    return { type = "Lua", name = name, fields = fields }
  end
  local k = kind(l)
  if k == "Dense" then
    return { type = k, n_inputs = l.n_inputs, n_neurons = l.n_neurons,
             weight_regularizer_l1 = l.weight_regularizer_l1, weight_regularizer_l2 = l.weight_regularizer_l2,
             bias_regularizer_l1 = l.bias_regularizer_l1, bias_regularizer_l2 = l.bias_regularizer_l2 }
  elseif k == "Dropout" then
    return { type = k, rate = l.rate }
  end
  return { type = k }
end

-- the message for the first number of the architecture v that is not
-- finite (JSON holds no NaN or infinity, so the file could not be loaded),
-- or nil; where: the field's path
local function notfinite(v, where, who, path)
  if type(v) == "number" and not isfinite(v) then
    local hint = where == "accuracy.precision" and " (RegressionAccuracy:init was given targets that are not " ..
      "finite; set model.accuracy.precision to a finite number or init it on finite targets)" or ""
    return string.format("%s: %s: %s is %s, which a model file cannot hold%s", who, path, where,
      v ~= v and "nan" or tostring(v), hint)
  elseif type(v) == "table" then
    for k, x in pairs(v) do
      local msg = notfinite(x, math.type(k) == "integer" and string.format("%s[%d]", where, k)
                               or (where == "" and k or where .. "." .. k), who, path)
      if msg then return msg end
    end
  end
end

--- model:save(path): architecture, parameters, loss/accuracy/optimizer
-- settings and the optimizer's state, so that training can resume
function methods.save(self, path, ...)
  local who = "Model:save"
  checkcall(self, who, 1, select("#", ...) + 1)
  if type(path) ~= "string" then error(who .. ": path must be a string", 2) end
  if not self.finalized then error(who .. ": call model:finalize() first", 2) end
  local tensors = parameter_tensors(self, {})
  local spec = { layers = {} }
  for i, l in ipairs(self.layers) do spec.layers[i] = layer_spec(l, i, who) end
  if self.loss then spec.loss = { type = kind(self.loss) } end
  local acc = self.accuracy
  if acc then
    spec.accuracy = { type = kind(acc) }
    if kind(acc) == "CategoricalAccuracy" then spec.accuracy.binary = acc.binary
    elseif acc.precision then spec.accuracy.precision = acc.precision end
  end
  local opt = self.optimizer
  if opt then
    local k = kind(opt)
    spec.optimizer = { type = k, iterations = opt.iterations, current_learning_rate = opt.current_learning_rate }
    for _, f in ipairs(optimizer_fields[k] or {}) do spec.optimizer[f] = opt[f] end
    for _, p in ipairs(trainable_positions(self)) do
      local st = opt:state(p[2])
      if st and is_lua_layer(p[2]) then
        for _, s in ipairs(lua_state_names) do
          for j, t in ipairs(st[s] or {}) do tensors[string.format("optimizer.layers.%d.%s.%d", p[1], s, j)] = t end
        end
      elseif st then
        for _, s in ipairs(state_names) do
          if st[s] then tensors[string.format("optimizer.layers.%d.%s", p[1], s)] = st[s] end
        end
      end
    end
  end
  local bad = notfinite(spec, "", who, path)
  if bad then error(bad, 2) end
  rethrow(2, who, pcall(safetensors.save, path, tensors, { format = "lunet.model", ["lunet.version"] = core.version,
                                                           ["lunet.model"] = core._json_encode(spec) }))
  return self
end

local layer_types = { Dense = true, Dropout = true, Input = true, ReLU = true, Sigmoid = true, Softmax = true,
                      Linear = true, Lua = true }
local loss_types = { CategoricalCrossentropy = true, BinaryCrossentropy = true, MeanSquaredError = true,
                     MeanAbsoluteError = true }

-- check the saved architecture field by field, and each Dense against the
-- file's tensors, before anything is built (a 2 KB file declaring
-- Dense(20000 -> 20000) must not allocate 1.5 GB first); bad(msg) raises
local function checkspec(spec, tensors, bad)
  local function opt(v, want, what)
    if v ~= nil and type(v) ~= want then bad(string.format("%s must be a %s, got %s", what, want, type(v))) end
  end
  if type(spec) ~= "table" then bad("the model metadata is a JSON " .. type(spec) .. ", expected an object") end
  if type(spec.layers) ~= "table" or #spec.layers == 0 then bad("no layers in the metadata") end
  for i, ls in ipairs(spec.layers) do
    if type(ls) ~= "table" then bad(string.format("layer %d is a JSON %s, expected an object", i, type(ls))) end
    if not layer_types[ls.type] then bad(string.format("layer %d has unknown type %s", i, tostring(ls.type))) end
    if ls.type == "Dense" then
      for _, f in ipairs { "n_inputs", "n_neurons" } do
        local v = ls[f]
        if math.type(v) ~= "integer" or v < 1 then
          bad(string.format("layer %d (Dense): %s must be a positive integer, got %s", i, f, tostring(v)))
        end
      end
      for _, f in ipairs { "weight_regularizer_l1", "weight_regularizer_l2", "bias_regularizer_l1",
                           "bias_regularizer_l2" } do
        opt(ls[f], "number", string.format("layer %d (Dense): %s", i, f))
      end
      local desc = string.format("layer %d (Dense(%d -> %d))", i, ls.n_inputs, ls.n_neurons)
      for _, w in ipairs { { "weights", ls.n_inputs, ls.n_neurons }, { "biases", 1, ls.n_neurons } } do
        local name = string.format("layers.%d.%s", i, w[1])
        local t = tensors[name]
        if t == nil then bad(string.format("tensor '%s' is missing (%s)", name, desc)) end
        local r, c, more = t:shape()
        if more or r ~= w[2] or c ~= w[3] then
          bad(string.format("tensor '%s' is %s, %s needs %dx%d", name, shapestr(t), desc, w[2], w[3]))
        end
      end
    elseif ls.type == "Dropout" then
      if type(ls.rate) ~= "number" then bad(string.format("layer %d (Dropout): rate must be a number", i)) end
    elseif ls.type == "Lua" then
      if type(ls.name) ~= "string" then bad(string.format("layer %d (Lua): name must be a string", i)) end
      if not core._layer_class(ls.name) then
        bad(string.format("layer %d is a Lua layer of class '%s', which is not registered (call "
          .. "lunet.register_layer('%s', class) before Model.load)", i, ls.name, ls.name))
      end
      if ls.fields ~= nil and type(ls.fields) ~= "table" then
        bad(string.format("layer %d (Lua layer %s): fields must be an object", i, ls.name))
      end
    end
  end
  if spec.loss ~= nil then
    if type(spec.loss) ~= "table" or not loss_types[spec.loss.type] then
      bad("unknown loss " .. tostring(type(spec.loss) == "table" and spec.loss.type or spec.loss))
    end
  end
  local a = spec.accuracy
  if a ~= nil then
    if type(a) ~= "table" or (a.type ~= "CategoricalAccuracy" and a.type ~= "RegressionAccuracy") then
      bad("unknown accuracy " .. tostring(type(a) == "table" and a.type or a))
    end
    opt(a.binary, "boolean", "accuracy.binary")
    opt(a.precision, "number", "accuracy.precision")
  end
  local o = spec.optimizer
  if o ~= nil then
    if type(o) ~= "table" or not optimizer_fields[o.type] then
      bad("unknown optimizer " .. tostring(type(o) == "table" and o.type or o))
    end
    for _, f in ipairs(optimizer_fields[o.type]) do opt(o[f], "number", "optimizer." .. f) end
    opt(o.current_learning_rate, "number", "optimizer.current_learning_rate")
    if o.iterations ~= nil and math.type(o.iterations) ~= "integer" then
      bad("optimizer.iterations must be an integer, got " .. tostring(o.iterations))
    end
  end
end

-- the model of a checked spec (raises plain messages; M.load prefixes them)
local function build(spec)
  local model = core.Model()
  for i, ls in ipairs(spec.layers) do
    local ctor = core[ls.type]
    local ok, layer = pcall(function()
      if ls.type == "Dense" then
        return ctor(ls.n_inputs, ls.n_neurons, { weight_regularizer_l1 = ls.weight_regularizer_l1,
          weight_regularizer_l2 = ls.weight_regularizer_l2, bias_regularizer_l1 = ls.bias_regularizer_l1,
          bias_regularizer_l2 = ls.bias_regularizer_l2 })
      elseif ls.type == "Dropout" then return ctor(ls.rate)
      elseif ls.type == "Lua" then
        local l = core._layer_class(ls.name).load(ls.fields or {})
        if not is_lua_layer(l) then
          error(string.format("%s.load returned %s, not a layer with forward and backward", ls.name, typename(l)), 0)
        end
        return l
      end
      return ctor()
    end)
    if not ok then
      error(string.format("layer %d (%s): %s", i, ls.type == "Lua" and "Lua layer " .. ls.name or ls.type,
        tostring(layer)), 0)
    end
    model:add(layer)
  end
  local set = {}
  if spec.loss then set.loss = core[spec.loss.type]() end
  local a = spec.accuracy
  if a then
    if a.type == "CategoricalAccuracy" then set.accuracy = core.CategoricalAccuracy { binary = a.binary or false }
    else
      set.accuracy = core.RegressionAccuracy()
      if a.precision then set.accuracy.precision = a.precision end
    end
  end
  local o = spec.optimizer
  if o then
    local args = {}
    for _, f in ipairs(optimizer_fields[o.type]) do args[f] = o[f] end
    local opt = core[o.type](args)
    opt.iterations = o.iterations or 0
    if o.current_learning_rate then opt.current_learning_rate = o.current_learning_rate end
    set.optimizer = opt
  end
  model:set(set)
  model:finalize()
  return model
end

-- M.load's work after the file was read; errors are plain messages
local function load_model(tensors, meta, path, who)
  local function bad(msg) error(msg, 0) end
  if meta["lunet.model"] == nil then
    bad("no lunet model metadata (a file from save_parameters? use model:load_parameters)")
  end
  local ok, spec = pcall(core._json_decode, meta["lunet.model"])
  if not ok then bad("bad model metadata: " .. tostring(spec)) end
  checkspec(spec, tensors, bad)
  local model = build(spec)
  load_parameter_tensors(model, tensors, path, who)
  local opt = model.optimizer
  if opt then
    for _, p in ipairs(trainable_positions(model)) do
      local st, any = {}, false
      if is_lua_layer(p[2]) then
        for _, s in ipairs(lua_state_names) do
          for j = 1, #lua_params(p[2]) do
            local t = tensors[string.format("optimizer.layers.%d.%s.%d", p[1], s, j)]
            if t then st[s] = st[s] or {}; st[s][j] = t; any = true end
          end
        end
      else
        for _, s in ipairs(state_names) do
          local t = tensors[string.format("optimizer.layers.%d.%s", p[1], s)]
          if t then st[s] = t; any = true end
        end
      end
      if any then
        local ok2, err = pcall(opt.set_state, opt, p[2], st)
        if not ok2 then bad(string.format("optimizer state of layer %d: %s", p[1], err)) end
      end
    end
  end
  return model
end

--- lunet.Model.load(path): a model saved with model:save, ready to predict
-- or to resume training.  Every error reads "lunet.Model.load: <path>: ..."
function M.load(path, ...)
  local who = "lunet.Model.load"
  if select("#", ...) > 0 then error(who .. ": takes one argument (path), got " .. select("#", ...) + 1, 2) end
  if type(path) ~= "string" then error(who .. ": path must be a string", 2) end
  local tensors, meta = rethrow(2, who, pcall(safetensors.load, path))
  local ok, res = pcall(load_model, tensors, meta, path, who)
  if ok then return res end
  local msg = tostring(res):gsub("^[^\n]-lunet[/\\]model%.lua:%d+: ", "")
  local prefix = who .. ": " .. path .. ": "
  if msg:sub(1, #prefix) ~= prefix then msg = prefix .. msg end
  error(msg, 2)
end

return M
