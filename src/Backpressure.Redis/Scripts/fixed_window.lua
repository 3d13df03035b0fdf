-- Windows back to back from the epoch; the key holds the current window's number and its count.
-- ARGV: clock, window (microseconds), limit, permits.
local window, limit, permits = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local index = math.floor(now / window)
local state = redis.call('HMGET', KEYS[1], 'w', 'n')
local count = 0
if tonumber(state[1]) == index then count = tonumber(state[2]) end
local ends = (index + 1) * window
-- A request for zero permits only asks whether one would pass: it needs room for one and takes nothing.
if count + math.max(permits, 1) > limit then
  return {0, math.ceil(ends - now), limit - count}
end
if permits > 0 then
  redis.call('HSET', KEYS[1], 'w', index, 'n', count + permits)
  redis.call('PEXPIRE', KEYS[1], ms(ends - now))
end
return {1, 0, limit - count - permits}
