-- One-time codes of one number for one purpose: issue one, or check one, atomically.
-- KEYS[1]  the code waiting: its keyed digest; it expires with the code
-- KEYS[2]  failed checks of the number for the purpose; expires a lock-out after the
--          first, and is not touched by a re-send
-- ARGV[1]  "issue" or "check"; ARGV[2] the code's digest; ARGV[3] failures allowed
-- ARGV[4]  issue: the code's lifetime, ms; check: the lock-out, ms
-- Returns {status, n}:
--   {"locked", ms}  too many failures: nothing is issued or checked for ms more
--   {"issued", 0}   the new code replaces any code waiting
--   {"ok", 0}       the code matched: it is used up, and the failures are forgotten
--   {"wrong", left} no match: left more failures before the lock (at 0 the code is void)
--   {"none", 0}     no code waits: never sent, used, expired or voided
local failures = tonumber(redis.call('GET', KEYS[2]) or '0')
local limit = tonumber(ARGV[3])
if failures >= limit then
  return {'locked', math.max(redis.call('PTTL', KEYS[2]), 1)}
end
if ARGV[1] == 'issue' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
  return {'issued', 0}
end
local waiting = redis.call('GET', KEYS[1])
if not waiting then return {'none', 0} end
if waiting == ARGV[2] then
  redis.call('DEL', KEYS[1], KEYS[2])
  return {'ok', 0}
end
failures = redis.call('INCR', KEYS[2])
if failures == 1 or failures >= limit then
  -- The lock-out runs from the first failure, and again in full from the last allowed.
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
if failures >= limit then redis.call('DEL', KEYS[1]) end
return {'wrong', limit - failures}
