-- Delete a draft question's live state, only while it is a draft holding no ballots.
-- KEYS[1] question hash {q:id}:meta
-- KEYS[2] tally hash    {q:id}:tally
-- KEYS[3..] every other key of the question (voters, ballots, tick, dead letters)
-- Returns 'draft' when deleted, 'holding ballots', or the status found ('' if none).
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'draft' then return status or '' end
if tonumber(redis.call('HGET', KEYS[2], 'total') or '0') > 0 then return 'holding ballots' end
redis.call('DEL', unpack(KEYS))
return status
