-- Segment counters: the hash holds one count per segment still inside the window (at most
-- segments + 1 fields), so memory per client is bounded. ARGV: clock, segment (microseconds),
-- segments per window, limit, permits.
local segment, segments, limit, permits = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local current = math.floor(now / segment)
local oldest = current - segments + 1
local fields = redis.call('HGETALL', KEYS[1])
local counts, total = {}, 0
for i = 1, #fields, 2 do
  local s, c = tonumber(fields[i]), tonumber(fields[i + 1])
  if s < oldest then
    redis.call('HDEL', KEYS[1], fields[i])
  else
    counts[s] = c
    total = total + c
  end
end
-- A request for zero permits only asks whether one would pass: it needs room for one and takes nothing.
if total + math.max(permits, 1) > limit then
  -- Wait until enough of the oldest segments have slid out for the request to fit.
  local needed, freed = total + math.max(permits, 1) - limit, 0
  for s = oldest, current do
    freed = freed + (counts[s] or 0)
    if freed >= needed then
      return {0, math.ceil((s + segments) * segment - now), limit - total}
    end
  end
  return {0, math.ceil((current + segments) * segment - now), limit - total}
end
if permits > 0 then
  redis.call('HINCRBY', KEYS[1], current, permits)
  redis.call('PEXPIRE', KEYS[1], ms((current + segments) * segment - now))
end
return {1, 0, limit - total - permits}
