// drizzle-kit's configuration: `npx drizzle-kit generate --config examples/heroes/drizzle.config.ts` writes the SQL
// migration for a change of schema.ts into migrations/, which the app applies at startup (database.ts).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./examples/heroes/schema.ts",
  out: "./examples/heroes/migrations",
});
