-- GCRA, the token bucket kept as one number per client: the theoretical arrival time (TAT) when
-- the bucket would be full again, in microseconds. ARGV: clock, interval (microseconds per token),
-- capacity (tokens), permits.
local interval, capacity, permits = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
-- A request for zero permits only asks whether one would pass: it needs a token and takes nothing.
local new_tat = tat + math.max(permits, 1) * interval
local allowed_at = new_tat - capacity * interval
if allowed_at > now then
  return {0, math.ceil(allowed_at - now), math.floor((now - (tat - capacity * interval)) / interval)}
end
if permits > 0 then
  -- Once the bucket is full again the key is worth nothing: it expires then.
  redis.call('SET', KEYS[1], num(new_tat), 'PX', ms(new_tat - now))
end
return {1, 0, math.floor((now - (tat + permits * interval - capacity * interval)) / interval)}
