// Schema migrations: the SQL files shipped in sql/, applied in order under an advisory lock so
// several servers starting at once do not race.
import { readFileSync } from "node:fs";
import { DeviceBindingError } from "@devicebound/server";
import type { Pool, PoolClient } from "pg";

const FILES = ["001_init.sql", "002_all_devices.sql", "003_dbsc_sessions.sql"];
export const SCHEMA_VERSION = FILES.length;

export function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name))
    throw new TypeError(`schema "${name}" is not a plain SQL identifier`);
  return `"${name}"`;
}

function migrationSql(index: number, schema: string): string {
  const file = new URL(`../sql/${FILES[index]}`, import.meta.url);
  return readFileSync(file, "utf8").replaceAll(":schema", quoteIdent(schema));
}

/** Creates or upgrades the devicebound tables in `schema` (default "public"). Safe to run concurrently. */
export async function migrate(
  pool: Pool | PoolClient,
  options: { schema?: string } = {},
): Promise<void> {
  const schema = options.schema ?? "public";
  const client = "release" in pool ? pool : await (pool as Pool).connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext('devicebound:migrate'))");
    const exists = await client.query(
      "SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'devicebound_schema'",
      [schema],
    );
    let current = 0;
    if (exists.rowCount) {
      const row = await client.query(
        `SELECT max(version) AS v FROM ${quoteIdent(schema)}.devicebound_schema`,
      );
      current = Number(row.rows[0]?.v ?? 0);
    }
    if (current > SCHEMA_VERSION) {
      throw new DeviceBindingError(
        "ERR_STORE_CORRUPT",
        `The database schema (version ${current}) is newer than this adapter (${SCHEMA_VERSION})`,
      );
    }
    for (let v = current; v < SCHEMA_VERSION; v++) await client.query(migrationSql(v, schema));
    await client.query(`UPDATE ${quoteIdent(schema)}.devicebound_schema SET version = $1`, [
      SCHEMA_VERSION,
    ]);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    if (client !== pool) (client as PoolClient).release();
  }
}
