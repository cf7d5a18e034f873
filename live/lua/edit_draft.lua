-- A draft question's new definition, only while it is still a draft.
-- KEYS[1] question hash {q:id}:meta
-- ARGV[1] definition (public JSON)
-- ARGV[2] number of options
-- ARGV[3] most choices per ballot
-- ARGV[4] the question's kind (cast.lua counts a ranking by Borda count)
-- ARGV[5] the first-come cap (0: none)
-- ARGV[6] a survey's parts, "size:most:required" each, comma separated ("" for another kind)
-- Returns the status found ('' if none): the definition changed only if it is 'draft'.
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'draft' then return status or '' end
redis.call('HSET', KEYS[1], 'def', ARGV[1], 'n', ARGV[2], 'max', ARGV[3], 'kind', ARGV[4],
           'cap', ARGV[5], 'parts', ARGV[6])
return status
