-- One change of a lot drawing (live/draws.py), applied only if the draw is as the caller
-- read it, so that two hosts acting at once never both succeed.
-- KEYS[1] the draw's hash {d:id}:meta
-- KEYS[2] the draw's picks, a list of "<slot>:<ms>" in draw order {d:id}:picks
-- ARGV[1] the change: 'edit', 'commit', 'witness', 'pick' or 'reveal'
-- ARGV[2] the draw's version the caller read (every change raises it by one)
-- edit:   ARGV[3] the definition (JSON), ARGV[4] the number of slots
-- commit: ARGV[3..] field, value pairs to set (seed, commitment, log, committed_ms)
-- witness: ARGV[3..] field, value pairs to set: the beacon once the witnesses' checkpoint
--         of the commitment is in the log, or why not yet ('witnesses'); a beacon is set
--         once only
-- pick:   ARGV[3] the slot, ARGV[4] the time (ms)
-- reveal: ARGV[3] the time (ms)
-- Returns the new version, or 0 if the draw is not in the state the change needs, or has
-- changed since the caller read it (a pick of a slot drawn already is refused likewise).
local state = redis.call('HGET', KEYS[1], 'state')
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if not state or version ~= tonumber(ARGV[2]) then return 0 end
local change = ARGV[1]
if change == 'edit' then
  if state ~= 'draft' then return 0 end
  redis.call('HSET', KEYS[1], 'def', ARGV[3], 'slots', ARGV[4])
elseif change == 'commit' then
  if state ~= 'draft' then return 0 end
  redis.call('HSET', KEYS[1], 'state', 'committed', unpack(ARGV, 3))
elseif change == 'witness' then
  if state ~= 'committed' or (redis.call('HGET', KEYS[1], 'beacon') or '') ~= '' then
    return 0
  end
  redis.call('HSET', KEYS[1], unpack(ARGV, 3))
elseif change == 'pick' then
  if state ~= 'committed' or (redis.call('HGET', KEYS[1], 'beacon') or '') == '' then
    return 0
  end
  if redis.call('HSETNX', KEYS[1], 's' .. ARGV[3], '1') == 0 then return 0 end
  redis.call('RPUSH', KEYS[2], ARGV[3] .. ':' .. ARGV[4])
elseif change == 'reveal' then
  if state ~= 'committed' then return 0 end
  redis.call('HSET', KEYS[1], 'state', 'revealed', 'revealed_ms', ARGV[3])
else
  return redis.error_reply('unknown change ' .. change)
end
return redis.call('HINCRBY', KEYS[1], 'version', 1)
