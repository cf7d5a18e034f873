-- A host's action on a question, applied to its live state atomically.
-- KEYS[1] question hash {q:id}:meta
-- KEYS[2] voters set    {q:id}:voters
-- KEYS[3] tally hash    {q:id}:tally
-- KEYS[4] ballot stream {q:id}:ballots
-- KEYS[5] words zset    {q:id}:words  (open text)
-- KEYS[6] hidden set    {q:id}:hidden (open text)
-- ARGV[1] expected status (the one the domain decided from)
-- ARGV[2] new status
-- ARGV[3] new revealed flag ("0" or "1")
-- ARGV[4] "1" to clear the ballots (reset)
-- ARGV[5] the ledger marker to add to the stream: "open", "close" or "" (none)
-- ARGV[6] the time of the action (ms)
-- ARGV[7..8] for "open": the log id, the definition (JSON);
--           for "close": ARGV[7] the number of options
-- Returns 1, or 0 if the status changed meanwhile (the caller reports a conflict).
--
-- The marker goes into the ballot stream in the same step as the status: every ballot
-- accepted while open (cast.lua checks the status) precedes the closing in the stream,
-- and the closing records the tally of exactly those ballots.
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'revealed', ARGV[3])
if ARGV[4] == '1' then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
  redis.call('HDEL', KEYS[1], 'log', 'verification')
end
if ARGV[5] == 'open' then
  redis.call('HSET', KEYS[1], 'log', ARGV[7])
  redis.call('HDEL', KEYS[1], 'verification')
  redis.call('XADD', KEYS[4], '*', 'k', 'open', 't', ARGV[6], 'log', ARGV[7], 'd', ARGV[8])
elseif ARGV[5] == 'close' then
  local tally = redis.call('HGETALL', KEYS[3])
  -- An open-text question's count is its words (every answer, hidden ones too; each
  -- scored minus its count).
  local words = redis.call('ZRANGE', KEYS[5], 0, -1, 'WITHSCORES')
  redis.call('XADD', KEYS[4], '*', 'k', 'close', 't', ARGV[6], 'n', ARGV[7],
    'tally', cjson.encode(tally), 'words', cjson.encode(words))
end
return 1
