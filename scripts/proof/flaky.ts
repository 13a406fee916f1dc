import type pg from "pg";

/**
 * A real database error (SQLSTATE 57P01, "terminating connection") on the first inserts of chosen
 * emails, a set number of times: what the consumer sees when Postgres drops it. The counter is a
 * sequence, so it survives the rollback of the failing transaction. Proof databases only.
 */
export async function installFlakyInserts(db: pg.Client): Promise<void> {
  await db.query(`
    CREATE TABLE IF NOT EXISTS proof_flaky (email text PRIMARY KEY, seq text NOT NULL, failures int NOT NULL);
    CREATE OR REPLACE FUNCTION proof_flaky_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE f proof_flaky%ROWTYPE;
    BEGIN
      SELECT * INTO f FROM proof_flaky WHERE email = NEW.email;
      IF FOUND AND nextval(f.seq) <= f.failures THEN
        RAISE EXCEPTION 'proof: simulated database outage' USING ERRCODE = '57P01';
      END IF;
      RETURN NEW;
    END $$;
    DROP TRIGGER IF EXISTS proof_flaky ON app_users;
    CREATE TRIGGER proof_flaky BEFORE INSERT ON app_users FOR EACH ROW EXECUTE FUNCTION proof_flaky_insert();`);
}

export async function failInsertsOf(db: pg.Client, email: string, failures: number, index: number): Promise<void> {
  const seq = `proof_flaky_${index}`;
  await db.query(`CREATE SEQUENCE IF NOT EXISTS ${seq}`);
  await db.query("INSERT INTO proof_flaky (email, seq, failures) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", [email, seq, failures]);
}
