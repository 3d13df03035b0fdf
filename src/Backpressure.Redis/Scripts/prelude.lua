-- Shared by every script (prepended when the script is loaded). ARGV[1] is the caller's clock in
-- microseconds since the Unix epoch, or '' to use Redis's own (TIME), so that instances whose
-- clocks disagree still share one timeline. Every script answers {admitted, microseconds, remaining}:
-- microseconds is the wait before retrying when refused, or before the turn when admitted.
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1])
end
-- Doubles keep microsecond times since 1970 exactly; the default tostring keeps only 14 digits.
local function num(x) return string.format('%.17g', x) end
-- A key's time to live, in milliseconds, for state that equals a fresh one after `us` microseconds:
-- one second more, because expiry runs on Redis's clock while an application clock may lag it.
local function ms(us) return math.max(1, math.ceil(us / 1000)) + 1000 end
