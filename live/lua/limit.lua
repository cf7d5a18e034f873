-- One attempt (a join, a sign-in) against the failure counts of its subjects, atomically.
-- KEYS[i]  one hash per subject (a client address, a room): n = failures counted in
--          the current window, until = ms since the epoch the subject is locked until
-- ARGV[1]  "1" if the attempt failed, "0" if it succeeded
-- ARGV[2 + 4(i-1) .. 5 + 4(i-1)]  KEYS[i]'s policy: free failures per window, window ms,
--          first lock ms, longest lock ms
-- Returns {wait, lock}. wait > 0: a subject is locked for wait more ms; the attempt is
-- refused (its outcome must not be told) and counts nowhere. Otherwise lock: the longest
-- lock this failure set on a subject (0: none).
--
-- Checked and counted in one step: attempts running at once on many connections or
-- nodes cannot all pass the check before the first failure is counted.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for i = 1, #KEYS do
  local till = tonumber(redis.call('HGET', KEYS[i], 'until') or '0')
  if till - now > wait then wait = till - now end
end
if wait > 0 then return {wait, 0} end
if ARGV[1] ~= '1' then return {0, 0} end
local lock = 0
for i = 1, #KEYS do
  local at = 2 + 4 * (i - 1)
  local free, window = tonumber(ARGV[at]), tonumber(ARGV[at + 1])
  local first, longest = tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  local n = redis.call('HINCRBY', KEYS[i], 'n', 1)
  -- The window starts at its first failure and is not extended by the next ones: a
  -- busy network's count starts again on time.
  if n == 1 then redis.call('PEXPIRE', KEYS[i], window) end
  if n > free then
    -- Each failure past the free ones doubles the lock.
    local ms = math.floor(math.min(longest, first * 2 ^ math.min(n - free - 1, 40)))
    redis.call('HSET', KEYS[i], 'until', string.format('%d', now + ms))
    -- The count outlives the lock by a window, so the next failure doubles it again.
    if redis.call('PTTL', KEYS[i]) < ms + window then
      redis.call('PEXPIRE', KEYS[i], ms + window)
    end
    if ms > lock then lock = ms end
  end
end
return {0, lock}
