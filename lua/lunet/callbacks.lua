--- lunet.callbacks: hooks into Model:train (early stopping, checkpoints, CSV logs).
--
-- THE CALLBACK CONTRACT (what Model:train does and what a callback may expect)
--
--   model:train(X, y, { callbacks = { ... } })
--
-- `callbacks` is a list whose entries are either
--   * a plain function `function(epoch, logs)`; returning `false` stops training
--     (any other return value, including nil, lets it go on), or
--   * a callback object: a table (methods may come through a metatable) with any of
--       cb:on_train_begin(model)
--       cb:on_epoch_end(model, epoch, logs)   -- returning false stops training
--       cb:on_train_end(model, logs)
--
-- `epoch` counts from 1.  `logs` is a table of numbers describing the epoch that
-- just ended: `loss`, `accuracy`, `learning_rate` and, when train() was given
-- validation_data, `val_loss` and `val_accuracy`.
--
-- The Model's loop only calls the three dispatchers below:
--
--   callbacks.call_begin(list, model)                       -- before epoch 1
--   for epoch = 1, epochs do
--     ... train one epoch, build logs ...
--     if not callbacks.call_epoch_end(list, model, epoch, logs) then break end
--   end
--   callbacks.call_end(list, model, last_logs)              -- however the loop ended
--
-- Every callback's on_epoch_end runs for an epoch even if an earlier one asked to
-- stop (so a CSVLogger placed after an EarlyStopping still logs the last epoch);
-- call_epoch_end returns false when any of them returned false.  `list` may be nil
-- (no callbacks).  The dispatchers validate the list and raise
--   "Model:train: callbacks[2] must be a function or a callback object, got number".
--
-- Callback objects here use from the model only:
--   model:get_parameters()  -> list of { weights, biases } tensors per trainable layer
--   model:set_parameters(p) -- p as returned by get_parameters
--   model:save(path)
local callbacks = {}

local WHERE = "Model:train"

------------------------------------------------------------------ helpers

-- Raise `fmt` formatted, at the caller's caller level (the user's code).
local function fail(level, fmt, ...)
  error(string.format(fmt, ...), level + 1)
end

-- Shortest "%.15g".."%.17g" text that reads back to the same number (as Python prints floats).
local function number_text(v)
  if math.type(v) == "integer" then return tostring(v) end
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  for _, fmt in ipairs{ "%.15g", "%.16g", "%.17g" } do
    local s = string.format(fmt, v)
    if tonumber(s) == v then return s end
  end
  return string.format("%.17g", v)
end
callbacks.number_text = number_text

-- Check an option table against `spec` (key -> { type, default }) and return a filled copy.
local function check_options(name, opts, spec)
  if opts == nil then opts = {} end
  if type(opts) ~= "table" then
    fail(4, "%s: options must be a table, got %s", name, type(opts))
  end
  for k in pairs(opts) do
    if spec[k] == nil then
      fail(4, "%s: unknown option '%s'", name, tostring(k))
    end
  end
  local out = {}
  for k, s in pairs(spec) do
    local v = opts[k]
    if v == nil then
      v = s[2]
    elseif type(v) ~= s[1] then
      fail(4, "%s: option '%s' must be a %s, got %s", name, k, s[1], type(v))
    end
    out[k] = v
  end
  return out
end

-- Resolve mode "auto"/"min"/"max" for a monitored key ("min" when the name contains "loss").
local function resolve_mode(name, mode, monitor)
  if mode == "auto" then
    return monitor:find("loss", 1, true) and "min" or "max"
  elseif mode == "min" or mode == "max" then
    return mode
  end
  fail(4, "%s: option 'mode' must be 'auto', 'min' or 'max', got '%s'", name, mode)
end

-- Sorted, comma-separated keys of a logs table (for error messages).
local function key_list(logs)
  local keys = {}
  for k in pairs(logs) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  return table.concat(keys, ", ")
end

-- logs[monitor] as a number, or a clear error naming the key and the keys there are.
local function monitored(name, logs, monitor)
  if type(logs) ~= "table" then
    fail(4, "%s: logs must be a table, got %s", name, type(logs))
  end
  local v = logs[monitor]
  if v == nil then
    local hint = monitor:sub(1, 4) == "val_" and " (pass validation_data to train)" or ""
    fail(4, "%s: monitored key '%s' is not in logs (available: %s)%s",
      name, monitor, key_list(logs), hint)
  end
  if type(v) ~= "number" then
    fail(4, "%s: logs.%s must be a number, got %s", name, monitor, type(v))
  end
  return v
end

-- Does `current` improve on `best` by more than `delta` in direction `mode`?
local function improves(mode, current, best, delta)
  if mode == "min" then return current < best - delta end
  return current > best + delta
end

-- Deep copy of get_parameters() output: every tensor in every layer entry is cloned.
local function clone_parameters(params)
  local copy = {}
  for i, layer in ipairs(params) do
    local entry = {}
    for k, t in pairs(layer) do
      entry[k] = (type(t) == "userdata" or type(t) == "table") and t.clone and t:clone() or t
    end
    copy[i] = entry
  end
  return copy
end

-- Make a class table callable as a constructor: Class{ ... }.
local function class(name, new)
  local cls = { __name = name }
  cls.__index = cls
  return setmetatable(cls, { __call = function(_, opts) return new(cls, opts) end,
                             __tostring = function() return "lunet.callbacks." .. name end })
end

----------------------------------------------------------- dispatchers

local HOOKS = { "on_train_begin", "on_epoch_end", "on_train_end" }

-- Validate a callbacks list; raise naming the first bad entry (messages start with `who`,
-- "Model:train" by default).
function callbacks.check(list, who)
  local WHERE = who or WHERE  -- luacheck: ignore 431
  if list == nil then return {} end
  if type(list) ~= "table" then
    fail(3, "%s: callbacks must be a list, got %s", WHERE, type(list))
  end
  local n = #list
  for k in pairs(list) do
    if math.type(k) ~= "integer" or k < 1 or k > n then
      fail(3, "%s: callbacks must be a list, found key %s", WHERE, tostring(k))
    end
  end
  for i = 1, n do
    local cb = list[i]
    local t = type(cb)
    if t == "table" then
      for _, h in ipairs(HOOKS) do
        local m = cb[h]
        if m ~= nil and type(m) ~= "function" then
          fail(3, "%s: callbacks[%d].%s must be a function, got %s", WHERE, i, h, type(m))
        end
      end
    elseif t ~= "function" then
      fail(3, "%s: callbacks[%d] must be a function or a callback object, got %s", WHERE, i, t)
    end
  end
  return list
end

-- Before the first epoch: cb:on_train_begin(model) for every object.
function callbacks.call_begin(list, model)
  list = callbacks.check(list)
  for i = 1, #list do
    local cb = list[i]
    if type(cb) == "table" and cb.on_train_begin then cb:on_train_begin(model) end
  end
end

-- After each epoch: run every callback; true to continue, false when any returned false.
function callbacks.call_epoch_end(list, model, epoch, logs)
  list = callbacks.check(list)
  local go_on = true
  for i = 1, #list do
    local cb, r = list[i], nil
    if type(cb) == "function" then
      r = cb(epoch, logs)
    elseif cb.on_epoch_end then
      r = cb:on_epoch_end(model, epoch, logs)
    end
    if r == false then go_on = false end
  end
  return go_on
end

-- After training (however it ended): cb:on_train_end(model, logs) for every object.
function callbacks.call_end(list, model, logs)
  list = callbacks.check(list)
  for i = 1, #list do
    local cb = list[i]
    if type(cb) == "table" and cb.on_train_end then cb:on_train_end(model, logs) end
  end
end

---------------------------------------------------------- EarlyStopping

local ES_OPTIONS = {
  monitor = { "string", "val_loss" }, patience = { "number", 0 }, min_delta = { "number", 0 },
  mode = { "string", "auto" }, restore_best_weights = { "boolean", false },
  verbose = { "boolean", false },
}

-- EarlyStopping{ monitor, patience, min_delta, mode, restore_best_weights, verbose }:
-- stop after `patience` epochs in which `monitor` did not improve by more than min_delta.
callbacks.EarlyStopping = class("EarlyStopping", function(cls, opts)
  local o = check_options("EarlyStopping", opts, ES_OPTIONS)
  if math.tointeger(o.patience) == nil or o.patience < 0 then
    fail(3, "EarlyStopping: option 'patience' must be a non-negative integer, got %s",
      number_text(o.patience))
  end
  if o.min_delta < 0 then
    fail(3, "EarlyStopping: option 'min_delta' must be >= 0, got %s", number_text(o.min_delta))
  end
  local self = setmetatable(o, cls)
  self.patience = math.tointeger(o.patience)
  self.mode = resolve_mode("EarlyStopping", o.mode, o.monitor)
  self:reset()
  return self
end)

local EarlyStopping = callbacks.EarlyStopping

-- Forget everything seen (called at the start of each training run).
function EarlyStopping:reset()
  self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
  self.best = self.mode == "min" and math.huge or -math.huge
  self.best_weights = nil
end

-- Start of training: reset the state so the object can be reused.
function EarlyStopping:on_train_begin()
  self:reset()
end

-- Track the monitored value; return false once patience is exhausted.
function EarlyStopping:on_epoch_end(model, epoch, logs)
  local current = monitored("EarlyStopping", logs, self.monitor)
  if self.restore_best_weights and self.best_weights == nil then
    self.best_weights = clone_parameters(model:get_parameters())
    self.best_epoch = epoch
  end
  self.wait = self.wait + 1
  if improves(self.mode, current, self.best, self.min_delta) then
    self.best, self.best_epoch, self.wait = current, epoch, 0
    if self.restore_best_weights then
      self.best_weights = clone_parameters(model:get_parameters())
    end
    return true
  end
  if self.wait >= self.patience and epoch > 1 then
    self.stopped_epoch = epoch
    if self.verbose then print(string.format("Epoch %d: early stopping", epoch)) end
    return false
  end
  return true
end

-- End of training: put the best weights back when asked to.
function EarlyStopping:on_train_end(model)
  if self.restore_best_weights and self.best_weights ~= nil then
    if self.verbose then
      print(string.format("Restoring model weights from the end of the best epoch: %d",
        self.best_epoch))
    end
    model:set_parameters(self.best_weights)
  end
end

-- "EarlyStopping(monitor=val_loss, mode=min, patience=2, min_delta=0)"
function EarlyStopping:__tostring()
  return string.format("EarlyStopping(monitor=%s, mode=%s, patience=%d, min_delta=%s)",
    self.monitor, self.mode, self.patience, number_text(self.min_delta))
end

-------------------------------------------------------- ModelCheckpoint

local MC_OPTIONS = {
  path = { "string", "model.safetensors" }, monitor = { "string", "val_loss" },
  save_best_only = { "boolean", false }, mode = { "string", "auto" },
  verbose = { "boolean", false },
}

-- ModelCheckpoint{ path, monitor, save_best_only, mode, verbose }: model:save(path) after
-- each epoch, or only when `monitor` improved.  `{epoch}` in path becomes the epoch number;
-- `{epoch:03d}` formats it, and `{name}`/`{name:.4f}` insert logs.name.
callbacks.ModelCheckpoint = class("ModelCheckpoint", function(cls, opts)
  local o = check_options("ModelCheckpoint", opts, MC_OPTIONS)
  local self = setmetatable(o, cls)
  self.mode = resolve_mode("ModelCheckpoint", o.mode, o.monitor)
  self.best = self.mode == "min" and math.huge or -math.huge
  self.best_epoch = 0
  self.last_path = nil
  return self
end)

local ModelCheckpoint = callbacks.ModelCheckpoint

-- Expand {epoch}, {epoch:fmt}, {key} and {key:fmt} placeholders in the path.
function ModelCheckpoint:format_path(epoch, logs)
  return (self.path:gsub("{([%w_]+):?([^}]*)}", function(key, fmt)
    local v
    if key == "epoch" then v = epoch else v = logs and logs[key] end
    if v == nil then
      fail(6, "ModelCheckpoint: path '%s' uses {%s}, which is not in logs (available: epoch, %s)",
        self.path, key, logs and key_list(logs) or "")
    end
    if fmt == "" then return key == "epoch" and tostring(epoch) or number_text(v) end
    local ok, s = pcall(string.format, "%" .. fmt, v)
    if not ok then fail(6, "ModelCheckpoint: bad format '{%s:%s}' in path", key, fmt) end
    return s
  end))
end

-- Start of training: forget the best value of an earlier run.
function ModelCheckpoint:on_train_begin()
  self.best = self.mode == "min" and math.huge or -math.huge
  self.best_epoch = 0
end

-- Save the model when due; never stops training.
function ModelCheckpoint:on_epoch_end(model, epoch, logs)
  if self.save_best_only then
    local current = monitored("ModelCheckpoint", logs, self.monitor)
    if not improves(self.mode, current, self.best, 0) then return true end
    self.best, self.best_epoch = current, epoch
  end
  local path = self:format_path(epoch, logs)
  model:save(path)
  self.last_path = path
  if self.verbose then print(string.format("Epoch %d: saving model to %s", epoch, path)) end
  return true
end

-- "ModelCheckpoint(path=..., monitor=..., save_best_only=...)"
function ModelCheckpoint:__tostring()
  return string.format("ModelCheckpoint(path=%s, monitor=%s, mode=%s, save_best_only=%s)",
    self.path, self.monitor, self.mode, tostring(self.save_best_only))
end

------------------------------------------------------------- CSVLogger

local CSV_OPTIONS = {
  path = { "string", "training.csv" }, separator = { "string", "," },
  append = { "boolean", false },
}

-- CSVLogger{ path, separator, append }: one row per epoch (header `epoch,<sorted keys>`),
-- flushed after every epoch; the file is closed when training ends.
callbacks.CSVLogger = class("CSVLogger", function(cls, opts)
  local o = check_options("CSVLogger", opts, CSV_OPTIONS)
  if o.separator == "" then fail(3, "CSVLogger: option 'separator' must not be empty") end
  local self = setmetatable(o, cls)
  self.file, self.keys = nil, nil
  return self
end)

local CSVLogger = callbacks.CSVLogger

-- Open the file (truncating unless append); remember whether it already has a header.
function CSVLogger:open()
  self:close()
  local has_rows = false
  if self.append then
    local f = io.open(self.path, "r")
    if f then
      has_rows = f:read(1) ~= nil
      f:close()
    end
  end
  local f, err = io.open(self.path, self.append and "a" or "w")
  if not f then fail(2, "CSVLogger: cannot open '%s': %s", self.path, err) end
  self.file, self.keys, self.header_written = f, nil, has_rows
end

-- Close the file if open (safe to call twice).
function CSVLogger:close()
  if self.file then
    pcall(self.file.close, self.file)
    self.file = nil
  end
end

-- Start of training: open the file.
function CSVLogger:on_train_begin()
  self:open()
end

-- Write one row (the header first); flush so the file is readable during training.
function CSVLogger:on_epoch_end(_, epoch, logs)
  if type(logs) ~= "table" then fail(3, "CSVLogger: logs must be a table, got %s", type(logs)) end
  if not self.file then self:open() end
  local sep = self.separator
  if not self.keys then
    local keys = {}
    for k in pairs(logs) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    self.keys = keys
    if not self.header_written then
      self.file:write("epoch", sep, table.concat(keys, sep), "\n")
      self.header_written = true
    end
  end
  local row = { tostring(epoch) }
  for i, k in ipairs(self.keys) do
    local v = logs[k]
    if type(v) == "number" then row[i + 1] = number_text(v)
    elseif v == nil then row[i + 1] = "NA"
    else row[i + 1] = tostring(v) end
  end
  local ok, err = self.file:write(table.concat(row, sep), "\n")
  if not ok then fail(3, "CSVLogger: cannot write '%s': %s", self.path, tostring(err)) end
  self.file:flush()
  return true
end

-- End of training: close the file.
function CSVLogger:on_train_end()
  self:close()
end

CSVLogger.__gc = CSVLogger.close
CSVLogger.__close = CSVLogger.close

-- "CSVLogger(path=training.csv)"
function CSVLogger:__tostring()
  return string.format("CSVLogger(path=%s, separator=%q, append=%s)",
    self.path, self.separator, tostring(self.append))
end

return callbacks
