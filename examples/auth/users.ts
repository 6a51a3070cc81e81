// The signed-in user's own data.
import { Router } from "briskjs";
import { z } from "zod";
import { db } from "./database.ts";
import { currentUser } from "./security.ts";

/** A user as the API shows it: the stored record without its password hash. */
const User = z.object({ username: z.string(), full_name: z.string(), email: z.email() }).meta({ id: "User" });

const Item = z
  .object({ id: z.int(), title: z.string(), description: z.string().optional() })
  .meta({ id: "Item" });

export const users: Router = new Router({ prefix: "/users", tags: ["users"] });

// The record carries the password hash; the response schema drops every field it does not name.
users.get("/me", { deps: { user: currentUser }, response: User }, ({ user }) => user);

users.get("/me/items", { deps: { user: currentUser, db }, response: z.array(Item) }, ({ user, db }) =>
  db.itemsOf(user.username),
);
