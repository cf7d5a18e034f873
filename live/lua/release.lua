-- Let go of a lock only if it is still ours: another holder may have taken it after ours
-- expired, and a GET then DEL from outside could delete theirs in between.
-- KEYS[1] the lock's key
-- ARGV[1] the token we set it to
-- Returns 1 if it was ours and is gone, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
