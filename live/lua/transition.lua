-- A host's action on a question, applied to its live state atomically.
-- KEYS[1] question hash {q:id}:meta
-- KEYS[2] voters set    {q:id}:voters
-- KEYS[3] tally hash    {q:id}:tally
-- KEYS[4] ballot stream {q:id}:ballots
-- ARGV[1] expected status (the one the domain decided from)
-- ARGV[2] new status
-- ARGV[3] new revealed flag ("0" or "1")
-- ARGV[4] "1" to clear the ballots (reset)
-- Returns 1, or 0 if the status changed meanwhile (the caller reports a conflict).
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'revealed', ARGV[3])
if ARGV[4] == '1' then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
end
return 1
