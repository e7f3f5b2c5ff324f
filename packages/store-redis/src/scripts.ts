// Lua scripts: each runs atomically inside Redis, so the read-modify-write paths need no locks.
// Records are stored as opaque JSON strings; Lua decodes one only to read its jkt, never to
// rewrite it (cjson would turn an empty array into an empty object).
// KEYS for every script: 1 devices hash (id -> JSON), 2 jkt index (jkt -> id),
// 3 last-seen zset (id -> ms), 4 created zset (id -> ms); all share the user's hash tag.

export const INSERT = `
local existing = redis.call('HGET', KEYS[2], ARGV[2])
if existing then
  local json = redis.call('HGET', KEYS[1], existing)
  if json then return {'existing', json} end
end
local evicted = {}
local max = tonumber(ARGV[6])
if max > 0 then
  local n = redis.call('HLEN', KEYS[1])
  if n >= max then
    if ARGV[7] == 'reject' then return {'limit'} end
    local seen = redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')
    local rows = {}
    for i = 1, #seen, 2 do
      rows[#rows + 1] = { id = seen[i], seen = tonumber(seen[i + 1]), created = tonumber(redis.call('ZSCORE', KEYS[4], seen[i])) }
    end
    table.sort(rows, function(a, b)
      if a.seen ~= b.seen then return a.seen < b.seen end
      if a.created ~= b.created then return a.created < b.created end
      return a.id < b.id
    end)
    for i = 1, n - max + 1 do
      local id = rows[i].id
      local json = redis.call('HGET', KEYS[1], id)
      evicted[#evicted + 1] = json
      redis.call('HDEL', KEYS[2], cjson.decode(json).jkt)
      redis.call('HDEL', KEYS[1], id)
      redis.call('ZREM', KEYS[3], id)
      redis.call('ZREM', KEYS[4], id)
    end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
local out = {'created', ARGV[3]}
for i = 1, #evicted do out[#out + 1] = evicted[i] end
return out
`;

/** Compare-and-set: replaces a record only if it is still the one the caller read. */
export const REPLACE = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 0 end
if current ~= ARGV[2] then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return 1
`;

export const DELETE = `
local json = redis.call('HGET', KEYS[1], ARGV[1])
if not json then return 0 end
local jkt = cjson.decode(json).jkt
if redis.call('HGET', KEYS[2], jkt) == ARGV[1] then redis.call('HDEL', KEYS[2], jkt) end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
`;

export const BY_JKT = `
local id = redis.call('HGET', KEYS[2], ARGV[1])
if not id then return false end
return redis.call('HGET', KEYS[1], id)
`;
