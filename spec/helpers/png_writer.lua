--- A tiny PNG encoder for the specs, independent of libpng: zlib "stored"
-- (uncompressed) deflate blocks, CRC-32 and Adler-32 computed in Lua.
-- Emits any color type and bit depth, so the loader can be checked
-- against known pixel values.
--
--   png_writer.encode{ width = 2, height = 1, color = "rgb", depth = 8,
--                      rows = { { 255, 0, 0,  0, 255, 0 } } }
-- color: "gray" | "gray_alpha" | "rgb" | "rgba" | "palette"; rows hold
-- width * channels samples each (palette indices for "palette");
-- palette = { {r, g, b}, ... }; trns = { a1, a2, ... } (palette) or
-- { v } (gray) or { r, g, b } (rgb); bad_crc = true spoils IHDR's CRC;
-- idat_bytes = n cuts the pixel stream to n bytes; ihdr = {w, h} lies
-- about the size; interlace = true writes Adam7.
local M = {}

local CRC = {}
for n = 0, 255 do
  local c = n
  for _ = 1, 8 do
    if c & 1 == 1 then c = 0xEDB88320 ~ (c >> 1) else c = c >> 1 end
  end
  CRC[n] = c
end

--- CRC-32 of a string (as in PNG and gzip)
function M.crc32(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do c = CRC[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8) end
  return c ~ 0xFFFFFFFF
end

--- Adler-32 of a string (zlib's trailer)
function M.adler32(s)
  local a, b = 1, 0
  for i = 1, #s do
    a = (a + s:byte(i)) % 65521
    b = (b + a) % 65521
  end
  return (b << 16) | a
end

--- a zlib stream of stored deflate blocks
function M.zlib_stored(data)
  local out = { "\x78\x01" }
  local pos, n = 1, #data
  repeat
    local len = math.min(65535, n - pos + 1)
    local final = (pos + len > n) and 1 or 0
    out[#out + 1] = string.pack("<BI2I2", final, len, len ~ 0xFFFF)
    out[#out + 1] = data:sub(pos, pos + len - 1)
    pos = pos + len
  until pos > n
  out[#out + 1] = string.pack(">I4", M.adler32(data))
  return table.concat(out)
end

local function chunk(kind, body, bad_crc)
  local crc = M.crc32(kind .. body)
  if bad_crc then crc = crc ~ 1 end
  return string.pack(">I4", #body) .. kind .. body .. string.pack(">I4", crc)
end

local CHANNELS = { gray = 1, gray_alpha = 2, rgb = 3, rgba = 4, palette = 1 }
local CTYPE = { gray = 0, gray_alpha = 4, rgb = 2, rgba = 6, palette = 3 }

-- one row of samples packed at depth bits (filter byte 0 first)
local function packrow(samples, depth)
  local out = { "\0" }
  if depth == 8 then
    for _, v in ipairs(samples) do out[#out + 1] = string.char(v) end
  elseif depth == 16 then
    for _, v in ipairs(samples) do out[#out + 1] = string.pack(">I2", v) end
  else
    local acc, bits = 0, 0
    for _, v in ipairs(samples) do
      acc = (acc << depth) | v
      bits = bits + depth
      if bits == 8 then out[#out + 1] = string.char(acc); acc, bits = 0, 0 end
    end
    if bits > 0 then out[#out + 1] = string.char(acc << (8 - bits)) end
  end
  return table.concat(out)
end

-- Adam7 passes: x start, y start, x step, y step
local ADAM7 = { { 0, 0, 8, 8 }, { 4, 0, 8, 8 }, { 0, 4, 4, 8 }, { 2, 0, 4, 4 },
                { 0, 2, 2, 4 }, { 1, 0, 2, 2 }, { 0, 1, 1, 2 } }

--- the PNG file's bytes
function M.encode(o)
  local color, depth = o.color or "gray", o.depth or 8
  local w, h = o.width, o.height
  local iw, ih = w, h
  if o.ihdr then iw, ih = o.ihdr[1], o.ihdr[2] end
  local parts = { "\137PNG\r\n\26\n" }
  parts[#parts + 1] = chunk("IHDR", string.pack(">I4I4BBBBB", iw, ih, depth, CTYPE[color], 0, 0,
    o.interlace and 1 or 0), o.bad_crc)
  if color == "palette" then
    local pal = {}
    for _, c in ipairs(o.palette) do pal[#pal + 1] = string.char(c[1], c[2], c[3]) end
    parts[#parts + 1] = chunk("PLTE", table.concat(pal))
  end
  if o.trns then
    local body = {}
    for _, v in ipairs(o.trns) do
      body[#body + 1] = color == "palette" and string.char(v) or string.pack(">I2", v)
    end
    parts[#parts + 1] = chunk("tRNS", table.concat(body))
  end
  local raw, ch = {}, CHANNELS[color]
  for y = 1, h do
    assert(#o.rows[y] == w * ch, "row " .. y .. " has " .. #o.rows[y] .. " samples")
  end
  if o.interlace then -- Adam7: seven sub-images, each row filtered (type 0)
    for _, p in ipairs(ADAM7) do
      for y = p[2], h - 1, p[4] do
        local row = {}
        for x = p[1], w - 1, p[3] do
          for k = 1, ch do row[#row + 1] = o.rows[y + 1][x * ch + k] end
        end
        if #row > 0 then raw[#raw + 1] = packrow(row, depth) end
      end
    end
  else
    for y = 1, h do raw[#raw + 1] = packrow(o.rows[y], depth) end
  end
  local z = M.zlib_stored(table.concat(raw))
  if o.idat_bytes then z = z:sub(1, o.idat_bytes) end
  parts[#parts + 1] = chunk("IDAT", z)
  if not o.no_iend then parts[#parts + 1] = chunk("IEND", "") end
  return table.concat(parts)
end

--- write the PNG to path; returns path
function M.write(path, o)
  local f = assert(io.open(path, "wb"))
  f:write(type(o) == "string" and o or M.encode(o))
  f:close()
  return path
end

return M
