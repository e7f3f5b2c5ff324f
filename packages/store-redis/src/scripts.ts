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
  -- Only active devices count toward the limit and may be evicted; blocked ones stay blocked.
  local all = redis.call('HGETALL', KEYS[1])
  local rows = {}
  for i = 1, #all, 2 do
    local device = cjson.decode(all[i + 1])
    if device.status == 'active' then
      rows[#rows + 1] = {
        id = all[i], json = all[i + 1], jkt = device.jkt,
        seen = tonumber(redis.call('ZSCORE', KEYS[3], all[i])),
        created = tonumber(redis.call('ZSCORE', KEYS[4], all[i])),
      }
    end
  end
  local n = #rows
  if n >= max then
    if ARGV[7] == 'reject' then return {'limit'} end
    table.sort(rows, function(a, b)
      if a.seen ~= b.seen then return a.seen < b.seen end
      if a.created ~= b.created then return a.created < b.created end
      return a.id < b.id
    end)
    for i = 1, n - max + 1 do
      local row = rows[i]
      evicted[#evicted + 1] = row.json
      redis.call('HDEL', KEYS[2], row.jkt)
      redis.call('HDEL', KEYS[1], row.id)
      redis.call('ZREM', KEYS[3], row.id)
      redis.call('ZREM', KEYS[4], row.id)
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

/**
 * Records a replay key until ARGV[1] (Unix ms) unless it is recorded already. Refuses, recording
 * nothing, when that instant has passed on Redis's own clock (the clock PXAT expires by): a key
 * written already expired would let the same proof through again.
 */
export const CONSUME = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if tonumber(ARGV[1]) <= now then return 0 end
if redis.call('SET', KEYS[1], '1', 'NX', 'PXAT', ARGV[1]) then return 1 end
return 0
`;

// ---- DBSC sessions ----
// One key per session (JSON, expiring at the session's expiresAt by PXAT), looked up by id alone.

/** Stores ARGV[1] until ARGV[2] (Unix ms) unless a live session holds the id. */
export const DBSC_INSERT = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PXAT', ARGV[2]) then return 1 end
return 0
`;

/** Compare-and-set: replaces the session only if it is still exactly the JSON the caller read. */
export const DBSC_REPLACE = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if current ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1
`;

/** Adds a session id to a device's index and keeps the index alive as long as its longest session. */
export const DBSC_INDEX = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ttl < 0 or now + ttl < tonumber(ARGV[3]) then redis.call('PEXPIREAT', KEYS[1], ARGV[3]) end
return 1
`;
// ---- end DBSC sessions ----
