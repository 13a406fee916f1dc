import { createTestDatabase } from "../test/support/cloud";
