import type { Database } from "../../db/database";
import type { UserDirectory } from "../user-ref";

/** Active users in `app_users`; an OKX UID may sit on the user (provisioning) or on its mapping (lookups). */
export class PostgresUserDirectory implements UserDirectory {
  constructor(private readonly db: Database) {}

  async activeUserId(userId: string): Promise<string | null> {
    const rows = await this.db.query("SELECT id FROM app_users WHERE id = $1 AND is_active", [userId], "user by id");
    return idOf(rows[0]);
  }

  async userIdByOkxUid(okxUid: string): Promise<string | null> {
    const rows = await this.db.query(
      `SELECT u.id FROM app_users u WHERE u.okx_uid = $1 AND u.is_active
       UNION
       SELECT m.user_id FROM user_identifier_mappings m JOIN app_users u ON u.id = m.user_id
        WHERE m.okx_uid = $1 AND m.is_active AND u.is_active
       LIMIT 1`,
      [okxUid],
      "user by okx uid",
    );
    return idOf(rows[0]);
  }
}

function idOf(row: Record<string, unknown> | undefined): string | null {
  const id = row?.["id"] ?? row?.["user_id"];
  return typeof id === "string" ? id : null;
}
